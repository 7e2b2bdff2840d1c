import Synchronization

/// What became of a pool's tasks, counted as the pool goes and readable from any thread: for the
/// one line a pool logs when a stop signal ends the program (``StopSignals``).
///
/// Shared by the executors that run work elsewhere; `@_spi(ExecutorImplementation)`.
@_spi(ExecutorImplementation)
public final class WorkTally: Sendable {
    /// Tasks whose futures were completed (a value, an error, or a failure of the pool's).
    public let done = Atomic<Int>(0)
    /// Tasks handed to workers and not answered.
    public let running = Atomic<Int>(0)
    /// Tasks taken back from a busy worker and not sent again: they never started.
    public let takenBack = Atomic<Int>(0)

    /// An empty tally.
    public init() {}

    /// The line a pool logs as `signal` (its name) ends the program: `"SIGINT: <stopping>; 3 tasks
    /// done, 1 running, 5 never started"`, where `queued` jobs were never handed to a worker.
    public func stopLine(signal: String, stopping: String, queued: Int) -> String {
        let done = done.load(ordering: .relaxed)
        let running = running.load(ordering: .relaxed)
        let never = queued + takenBack.load(ordering: .relaxed)
        return "\(signal): \(stopping); \(Self.counted(done, "task")) done, \(running) running, \(never) never started"
    }

    /// `count` and `noun`, plural unless one.
    public static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
}
