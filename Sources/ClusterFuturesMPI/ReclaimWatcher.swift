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

    /// How often the watcher looks: every 10 ms, reading a number only; once it has seen one task
    /// running on two looks, every millisecond, then at intervals that double up to 16 ms (tasks
    /// sent ahead of a long one are given back 10 to 30 ms into it, for a few dozen probes a
    /// second).
    static let interval: Duration = .milliseconds(1)
    static let longestInterval: Duration = .milliseconds(16)
    static let idleInterval: Duration = .milliseconds(10)

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
        var interval = Self.interval
        while !stopping.load(ordering: .relaxed) {
            let task = running.load(ordering: .relaxed)
            let long = task != 0 && task == seen
            if long {
                do {
                    while let (bytes, _) = try communicator.receiveBytesIfAvailable(from: .rank(0), tag: .value(PoolTag.reclaim)) {
                        try answer(bytes)
                    }
                } catch {
                    cf_write_stderr("ClusterFutures MPI worker rank \(communicator.rank): taking back tasks failed: \(error)\n")
                    return
                }
            }
            seen = task
            if long {
                sleep(interval)
                interval = min(interval * 2, Self.longestInterval)
            } else {
                interval = Self.interval
                sleep(Self.idleInterval)
            }
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
