/// How many tasks one worker may have in flight: one at first, more while its tasks finish quickly
/// (so their messages batch and the worker never waits for the next one), and back to one as soon
/// as one takes long.
///
/// Shared by the executors that pipeline tasks to workers; `@_spi(ExecutorImplementation)`.
/// ``DispatchPolicy`` decides, with it, which worker gets the next task.
@_spi(ExecutorImplementation)
public struct PipelineWindow: Sendable {
    /// The window a worker starts with, and falls back to: nothing is sent ahead of a task until
    /// the worker's tasks have proved quick.
    public static let initial = 1
    /// A task that takes longer than this shrinks the window, and a worker whose current task has
    /// run longer than this is sent nothing more.
    public static let quickTask: Duration = .microseconds(200)

    /// The largest window.
    public let limit: Int
    /// How many tasks may be in flight now.
    public private(set) var size: Int
    /// When the worker last answered.
    @usableFromInline
    var lastResultAt: ContinuousClock.Instant?

    /// A window that never exceeds `limit` (at least 1).
    public init(limit: Int) {
        self.limit = max(1, limit)
        self.size = min(Self.initial, self.limit)
    }

    /// When the oldest task in flight, sent at `sentAt`, started: a task queued behind another
    /// starts when the previous one is answered, not when it was sent.
    @inlinable
    public func startOfOldest(sentAt: ContinuousClock.Instant) -> ContinuousClock.Instant {
        max(sentAt, lastResultAt ?? sentAt)
    }

    /// Back to the initial window: the worker's tasks stopped being quick.
    public mutating func fallBack() {
        size = min(Self.initial, limit)
    }

    /// Adjusts the window for a task sent at `sentAt` that has just been answered.
    public mutating func recordResult(sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) {
        let started = startOfOldest(sentAt: sentAt)
        lastResultAt = now
        size = now - started < Self.quickTask ? min(size + 1, limit) : min(Self.initial, limit)
    }
}
