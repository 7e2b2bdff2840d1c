/// How many tasks one worker may have in flight: it starts small, grows while tasks finish quickly
/// (so their messages batch and the worker never waits for the next one), and falls back as soon as
/// one takes long (so long tasks never queue behind each other on one worker while another is free).
///
/// Shared by the executors that pipeline tasks to workers; `@_spi(ExecutorImplementation)`.
@_spi(ExecutorImplementation)
public struct PipelineWindow: Sendable {
    /// The window a worker starts with, and falls back to.
    public static let initial = 2
    /// A task that takes longer than this shrinks the window.
    public static let quickTask: Duration = .microseconds(200)

    /// The largest window.
    public let limit: Int
    /// How many tasks may be in flight now.
    public private(set) var size: Int
    /// When the worker last answered.
    private var lastResultAt: ContinuousClock.Instant?

    /// A window that never exceeds `limit` (at least 1).
    public init(limit: Int) {
        self.limit = max(1, limit)
        self.size = min(Self.initial, self.limit)
    }

    /// Adjusts the window for a task sent at `sentAt` that has just been answered. A task queued
    /// behind another is timed from the previous answer, not from when it was sent.
    public mutating func recordResult(sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) {
        let started = max(sentAt, lastResultAt ?? sentAt)
        lastResultAt = now
        size = now - started < Self.quickTask ? min(size + 1, limit) : min(Self.initial, limit)
    }
}
