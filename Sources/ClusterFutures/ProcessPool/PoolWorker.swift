import DequeModule
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One worker process as the pool's I/O thread sees it. Used only on that thread.
final class PoolWorker: DispatchCandidate {
    enum Phase: Equatable {
        /// Spawned; its hello has not arrived.
        case starting
        /// Welcomed; running its initializer.
        case initializing
        /// Taking tasks.
        case ready
        /// Announced that its task budget is spent; it exits after its last result.
        case retiring
        /// Told to exit (shutdown or idle).
        case stopping
    }

    let index: Int
    let pid: pid_t
    /// The pool writes tasks here.
    private(set) var toWorker: FileDescriptor?
    /// The pool reads results here.
    let fromWorker: FileDescriptor
    /// Readable once the process has ended, whatever holds its pipes (a pidfd); nil where the system
    /// has none, and then the result pipe's end of file is the sign.
    private(set) var processDescriptor: FileDescriptor?
    /// The worker's standard error; nil when it shares the pool's.
    let stderr: WorkerStderr?
    let reader: FrameReader
    let writer: FrameWriter
    let origin: TaskOrigin
    /// The claim word shared with the worker, through which tasks sent ahead are taken back; nil
    /// without shared memory, and then nothing is taken back.
    let claim: TaskClaim?
    /// Not before then: the last attempt to take tasks back found the worker between tasks.
    var nextReclaimAttempt: ContinuousClock.Instant?

    var phase: Phase = .starting
    /// Tasks sent and not yet answered, oldest first; the first is the one running.
    var inFlight = Deque<(id: UInt64, job: Job, sentAt: ContinuousClock.Instant)>()
    /// How many tasks may be in flight to this worker now.
    var window: PipelineWindow

    /// Tasks sent to this worker in its life.
    var tasksSent = 0
    /// When it last finished a task or started, for the idle timeout.
    var idleSince = ContinuousClock.now
    /// Why the pool retired it, when the pool did: overrides the exit status in the error.
    var retireReason: ClusterFuturesError?
    /// The id of the last task it answered.
    var lastAnsweredID: UInt64?
    /// Set when it was retired while still on a task it had already answered (it answered twice):
    /// none of the tasks in flight had started, so none of them fails with it.
    var retiredBetweenTasks = false
    /// The most tasks it may be sent in its life (`maxTasksPerChild`), if limited.
    let taskBudget: Int?

    var acceptsTasks: Bool { phase == .ready && taskBudget.map { tasksSent < $0 } ?? true }
    var tasksInFlight: Int { inFlight.count }
    var oldestSentAt: ContinuousClock.Instant? { inFlight.first?.sentAt }

    init(index: Int, pid: pid_t, toWorker: FileDescriptor, fromWorker: FileDescriptor,
         processDescriptor: FileDescriptor?, stderr: WorkerStderr?, maxPayload: Int,
         taskArena: SharedArena?, resultArena: SharedArena?, windowLimit: Int, taskBudget: Int?) {
        self.index = index
        self.pid = pid
        self.toWorker = toWorker
        self.fromWorker = fromWorker
        self.processDescriptor = processDescriptor
        self.stderr = stderr
        self.reader = FrameReader(maxPayload: maxPayload, arena: resultArena)
        self.writer = FrameWriter(arena: taskArena)
        self.claim = taskArena?.taskClaim
        self.origin = TaskOrigin(executor: "process", host: ProcessIdentity.hostName, pid: pid, worker: index)
        self.window = PipelineWindow(limit: windowLimit, reclaimable: claim != nil)
        self.taskBudget = taskBudget
    }

    var name: String { "worker \(index) (pid \(pid))" }

    /// Closes the pool's end of the task pipe: the worker reads end of file and exits.
    func closeInput() {
        try? toWorker?.close()
        toWorker = nil
    }

    /// Closes the pipes and the process descriptor; standard error is closed by its own reader,
    /// which may outlive the worker.
    func closeAll() {
        closeInput()
        try? fromWorker.close()
        try? processDescriptor?.close()
        processDescriptor = nil
    }

    /// How many entries ``appendPollDescriptors(to:)`` appends.
    static let pollDescriptorCount = 4

    /// Appends what the I/O thread polls for this worker: results, room for tasks (when some
    /// wait), the process's end, standard error. An absent descriptor is -1, which `poll` skips.
    func appendPollDescriptors(to descriptors: inout [pollfd]) {
        let wantsWrite = !writer.isEmpty && toWorker != nil
        descriptors.append(pollfd(fd: fromWorker.rawValue, events: Int16(POLLIN), revents: 0))
        descriptors.append(pollfd(fd: toWorker?.rawValue ?? -1, events: wantsWrite ? Int16(POLLOUT) : 0, revents: 0))
        descriptors.append(pollfd(fd: processDescriptor?.rawValue ?? -1, events: Int16(POLLIN), revents: 0))
        descriptors.append(pollfd(fd: stderr?.descriptor?.rawValue ?? -1, events: Int16(POLLIN), revents: 0))
    }
}
