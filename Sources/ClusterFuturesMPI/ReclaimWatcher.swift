import CClusterFuturesSystem
@_spi(ExecutorImplementation) import ClusterFutures
import ClusterFuturesWire
import Foundation
import MPI
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A worker rank's second thread: while the rank runs a task, it answers rank 0's requests to take
/// back the tasks sent ahead of it (``ReclaimRequest``), so that they go to a free worker instead of
/// waiting behind a long task. Between tasks the rank's own loop answers them.
///
/// Both sides decide through the rank's ``TaskClaim``: the task loop claims each task before it
/// starts it, and a request takes back only tasks not yet claimed.
final class ReclaimWatcher: Sendable {
    private let communicator: Communicator
    let claim: TaskClaim
    /// The number of the task the loop runs, 0 between tasks: the watcher looks for requests only
    /// when it finds the same task running twice in a row, so a stream of short tasks costs it no
    /// MPI call.
    private let running = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    /// How often the watcher looks: every 2 ms while a task runs, reading a number only; once it has
    /// seen one task running on two looks (so it has run at least this long, as long as rank 0
    /// waits before asking), it probes for requests on each look, at intervals that grow with the
    /// task's time to a fiftieth of it, at most 16 ms. A request is answered within a few
    /// milliseconds of a task's start, or 2% of its time. (Looks every 10 ms and probes that doubled
    /// to 16 ms answered 20-25 ms into a long task, while the idle worker waited.) Between tasks it
    /// looks every 10 ms: the task loop answers requests then.
    static let interval: Duration = .milliseconds(2)
    static let longestInterval: Duration = .milliseconds(16)
    static let idleInterval: Duration = .milliseconds(10)
    /// How often it tells rank 0 the rank is alive (``PoolTag/alive``) while one task runs.
    static let aliveInterval: Duration = .seconds(1)

    init(communicator: Communicator) {
        self.communicator = communicator
        self.claim = TaskClaim.allocate()
        let thread = Thread { [self] in watch() }
        thread.name = "ClusterFutures.ReclaimWatcher"
        thread.start()
    }

    /// The task loop starts task `sequence`, or has finished it.
    func taskStarted(_ sequence: UInt64) { running.store(sequence, ordering: .relaxed) }
    func taskEnded() { running.store(0, ordering: .relaxed) }

    /// Stops the thread and returns once it has made its last MPI call.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        stopped.wait()
    }

    private func watch() {
        defer { stopped.signal() }
        var seen: UInt64 = 0
        /// When the task seen on the last look was first seen running on two looks.
        var longSince: ContinuousClock.Instant?
        /// When it last told rank 0 the rank is alive.
        var saidAlive = ContinuousClock.now
        while !stopping.load(ordering: .relaxed) {
            let task = running.load(ordering: .relaxed)
            if task != 0 && task == seen {
                do {
                    while let (bytes, _) = try communicator.receiveBytesIfAvailable(from: .rank(0), tag: .value(PoolTag.reclaim)) {
                        try answer(bytes)
                    }
                } catch {
                    cf_write_stderr("ClusterFutures MPI worker rank \(communicator.rank): taking back tasks failed: \(error)\n")
                    return
                }
                let since = longSince ?? .now
                longSince = since
                if ContinuousClock.now - max(since, saidAlive) >= Self.aliveInterval {
                    saidAlive = .now
                    do {
                        try communicator.send(bytes: [], to: 0, tag: PoolTag.alive)
                    } catch {
                        cf_write_stderr("ClusterFutures MPI worker rank \(communicator.rank): telling rank 0 it is alive failed: \(error)\n")
                        return
                    }
                }
                sleep(max(Self.interval, min(Self.longestInterval, (ContinuousClock.now - since) / 50)))
            } else {
                longSince = nil
                sleep(task == 0 ? Self.idleInterval : Self.interval)
            }
            seen = task
        }
    }

    /// Answers one ``ReclaimRequest``, from this thread or the task loop.
    func answer(_ bytes: [UInt8]) throws {
        guard let request = try? WireDecoder().decode(ReclaimRequest.self, from: bytes) else {
            throw ClusterFuturesError(.protocolViolation, "rank 0 sent a malformed reclaim request")
        }
        let reclaimed = claim.revoke(running: request.running, through: request.through)
        try communicator.send(ReclaimReply(running: request.running, through: request.through, reclaimed: reclaimed), to: 0, tag: PoolTag.reclaimed)
    }

    private func sleep(_ duration: Duration) {
        var request = timespec(tv_sec: Int(duration.components.seconds), tv_nsec: Int(duration.components.attoseconds / 1_000_000_000))
        var remaining = timespec()
        _ = nanosleep(&request, &remaining)
    }
}
