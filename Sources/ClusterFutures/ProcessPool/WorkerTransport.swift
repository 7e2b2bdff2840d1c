#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How the process pool's I/O loop (`PoolIOLoop`) reaches its workers. The loop decides what goes
/// where and when; a transport only starts workers and moves frames.
///
/// `PipeTransport` is the real one: worker processes, pipes, shared memory and pidfds. Test support
/// has one in memory (`InMemoryTransport`, in `ClusterFuturesTestSupport`), so that scheduling,
/// shutdown and failure paths run deterministically, one step at a time, without processes. It has
/// `package` access, as do the frames it moves, for that target.
///
/// What a transport can do is part of the loop's contract: it can block until something happens
/// (a pipe's `poll`), and a worker it loses can be replaced by starting another.
package protocol WorkerTransport: AnyObject, SendableMetatype {
    associatedtype Link: WorkerLink

    /// Starts worker `index` of the pool.
    func startWorker(index: Int) throws(ClusterFuturesError) -> Link

    /// Waits until the pool is woken (by a submit or a shutdown), until a link has frames for it or
    /// has ended, or until `timeout` milliseconds have passed (0: only looks; -1: no limit).
    func wait(on links: [Link], timeout: Int32) -> TransportActivity

    /// Every worker is gone: lets go of what the transport still holds.
    func finish()
}

/// What ``WorkerTransport/wait(on:timeout:)`` saw.
package struct TransportActivity {
    /// The pool was woken.
    package var woken = false
    /// What each link with something to say delivered, in the order of the links.
    package var links: [LinkActivity] = []

    /// Nothing happened.
    package init(woken: Bool = false, links: [LinkActivity] = []) {
        self.woken = woken
        self.links = links
    }
}

/// What one worker delivered.
package struct LinkActivity {
    /// Its index in the links the transport waited on.
    package var index: Int
    /// Whole frames, in order.
    package var frames: [Frame] = []
    /// Why its frames could not be read, if they could not (after `frames`, which came whole).
    package var badMessage: FrameError?
    /// Its end was seen: end of file on its messages, or its process ended.
    package var ended = false
    /// It ended in the middle of a frame.
    package var endedMidFrame = false

    /// What worker `index` delivered.
    package init(index: Int, frames: [Frame] = [], badMessage: FrameError? = nil, ended: Bool = false, endedMidFrame: Bool = false) {
        self.index = index
        self.frames = frames
        self.badMessage = badMessage
        self.ended = ended
        self.endedMidFrame = endedMidFrame
    }
}

/// One worker as a transport reaches it.
package protocol WorkerLink: AnyObject {
    /// The worker's process id, for errors and ``TaskOrigin``.
    var pid: pid_t { get }
    /// The claim word shared with the worker, through which tasks sent ahead are taken back; nil
    /// when there is none, and then nothing is sent ahead of a task until tasks have proved quick.
    var claim: TaskClaim? { get }
    /// Frames queued and not yet taken by the worker.
    var hasPendingWrites: Bool { get }
    /// Queues a frame for the worker.
    func enqueue(_ kind: FrameKind, id: UInt64, segments: [[UInt8]])
    /// Hands the worker what it takes now; a worker that is gone has its input closed (its end
    /// is reported by ``WorkerTransport/wait(on:timeout:)``).
    func flush()
    /// Tells the worker to exit: it reads end of file.
    func closeInput()
    /// Sends the worker's process `signal`.
    func signal(_ signal: Int32)
    /// Lets go of the worker and returns its exit status: at once for one that is exiting, after
    /// `SIGKILL` for one that does not exit within a second.
    func reap() -> ExitStatus
    /// The last lines the worker wrote to standard error, as the end of an error message ("" when
    /// it wrote none). Called once its process is gone.
    func lastWords() -> String
}
