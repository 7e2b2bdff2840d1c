import CClusterFuturesSystem

/// The word a worker and its pool share so that the pool can take back tasks it sent ahead to a
/// worker that turned out to be busy with a long task, and hand them to a free one.
///
/// Tasks carry increasing sequence numbers. Before it starts a task, the worker claims it
/// (``claim(_:)``); the pool takes back every task after the running one (``revoke(running:through:)``)
/// with one compare-and-swap, which succeeds only if the worker has claimed nothing since. A task
/// is therefore run by the worker or taken back, never both and never neither. The worker skips a
/// task taken back without answering it.
///
/// In the process pool the word lives in memory shared with the worker; in the MPI pool, in the
/// worker rank's own memory, where a watcher thread revokes on rank 0's behalf.
// @unchecked Sendable: the word is only ever accessed with atomic operations, from any thread or
// process that maps it.
@_spi(ExecutorImplementation)
public struct TaskClaim: @unchecked Sendable {
    private let word: UnsafeMutablePointer<UInt64>

    /// The claim word at `word`, which must stay mapped while the claim is used; zero before the
    /// first task (sequence numbers start at 1).
    public init(word: UnsafeMutableRawPointer) {
        self.word = word.assumingMemoryBound(to: UInt64.self)
    }

    /// A claim word of this process's own, for the life of the process.
    public static func allocate() -> TaskClaim {
        let word = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        word.storeBytes(of: 0, as: UInt64.self)
        return TaskClaim(word: word)
    }

    /// The worker, before it starts task `sequence`: true when it may run it, false when the pool
    /// took it back.
    public func claim(_ sequence: UInt64) -> Bool { cf_task_claim(word, sequence) != 0 }

    /// The pool: takes back the tasks after `running` up to `through`. True when none of them had
    /// started (the worker will skip them); false when the worker had moved past `running`, or has
    /// not claimed it yet.
    public func revoke(running: UInt64, through: UInt64) -> Bool { cf_task_revoke(word, running, through) != 0 }
}
