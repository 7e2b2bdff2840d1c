/// How many tasks one worker may have in flight: the task it runs and the next one, more while its
/// tasks finish quickly (so their messages batch and the worker never waits for the next one), and
/// back as soon as one takes long. Without a way to take back what was sent ahead (``TaskClaim``),
/// a worker starts at one.
///
/// Shared by the executors that pipeline tasks to workers; `@_spi(ExecutorImplementation)`.
/// ``DispatchPolicy`` decides, with it, which worker gets the next task.
@_spi(ExecutorImplementation)
public struct PipelineWindow: Sendable {
    /// The window a worker starts with, and falls back to, when what was sent ahead to it can be
    /// taken back: the next task waits at the worker, not at the pool, so a worker never idles
    /// between tasks while the pool reacts to its answer.
    public static let initial = 2
    /// A task that takes longer than this shrinks the window, and a worker whose current task has
    /// run longer than this is sent nothing more.
    public static let quickTask: Duration = .microseconds(200)

    /// The largest window.
    public let limit: Int
    /// The window it starts with and falls back to.
    public let initialSize: Int
    /// How many tasks may be in flight now.
    public private(set) var size: Int
    /// When the worker last answered.
    @usableFromInline
    var lastResultAt: ContinuousClock.Instant?
    /// How long the worker's last task took; nil before its first answer.
    public private(set) var lastDuration: Duration?

    /// A window that never exceeds `limit` (at least 1). Without `reclaimable`, it starts at one:
    /// nothing is sent ahead until the worker's tasks have proved quick.
    public init(limit: Int, reclaimable: Bool = true) {
        self.limit = max(1, limit)
        self.initialSize = min(reclaimable ? Self.initial : 1, self.limit)
        self.size = initialSize
    }

    /// When the oldest task in flight, sent at `sentAt`, started: a task queued behind another
    /// starts when the previous one is answered, not when it was sent.
    @inlinable
    public func startOfOldest(sentAt: ContinuousClock.Instant) -> ContinuousClock.Instant {
        max(sentAt, lastResultAt ?? sentAt)
    }

    /// Back to the initial window: tasks sent ahead were taken back from the worker, busy with a
    /// long one.
    public mutating func fallBack() {
        size = initialSize
    }

    /// Adjusts the window for a task sent at `sentAt` that has just been answered; returns how long
    /// the task took.
    @discardableResult
    public mutating func recordResult(sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) -> Duration {
        let took = now - startOfOldest(sentAt: sentAt)
        lastResultAt = now
        lastDuration = took
        size = took < Self.quickTask ? min(size + 1, limit) : initialSize
        return took
    }
}
