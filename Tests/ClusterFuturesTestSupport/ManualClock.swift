import Synchronization

/// The time as a test sets it, for schedulers made with an injected clock: it stands still until
/// the test moves it.
public final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    public init() {}

    /// The time now.
    public var now: ContinuousClock.Instant { instant.withLock { $0 } }

    /// Moves the clock on.
    public func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
}
