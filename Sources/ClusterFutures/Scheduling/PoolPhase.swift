/// Where a pool is in its life, for every pool: the one place that says whether it takes work, what
/// a refused submit is told, and that a pool breaks once, for the first reason.
///
/// A value kept under its pool's lock. Shared by the executors that run work elsewhere;
/// `@_spi(ExecutorImplementation)`.
///
/// - ``Stage/running``: submits are taken.
/// - ``Stage/draining``: shut down (or, in the MPI pool, finishing before MPI is finalized): what
///   was submitted still runs, nothing new is taken.
/// - ``Stage/terminating(signal:by:)``: stopping now; nothing more runs.
/// - ``broken``: set by the first failure that leaves the pool unable to run tasks (a worker of
///   another build, an initializer that failed, a transport that failed); every later submit gets
///   that error, whatever the stage.
@_spi(ExecutorImplementation)
public struct PoolPhase: Sendable, Equatable {
    /// How far the pool has gone towards stopping.
    public enum Stage: Sendable, Equatable {
        /// Taking work.
        case running
        /// No new work; what was submitted still runs.
        case draining
        /// Stopping now, with `signal` to the workers, at the request of `by` (for messages).
        case terminating(signal: Int32, by: String)
    }

    /// The stage; it only moves forward.
    public private(set) var stage: Stage = .running
    /// Why the pool can run nothing more, if it broke: the first reason, kept.
    public private(set) var broken: ClusterFuturesError?

    /// A pool that runs and takes work.
    public init() {}

    /// Whether submits are taken: running and not broken.
    public var takesWork: Bool { stage == .running && broken == nil }

    /// Whether the pool is stopping now, and at whose request.
    public var terminatedBy: (signal: Int32, caller: String)? {
        if case .terminating(let signal, let caller) = stage { (signal, caller) } else { nil }
    }

    /// Stops taking work; what was submitted still runs. No effect once draining or terminating.
    public mutating func drain() {
        if stage == .running { stage = .draining }
    }

    /// Stops now, with `signal`, at the request of `caller`. The first request is kept.
    public mutating func terminate(signal: Int32, by caller: String) {
        if terminatedBy == nil { stage = .terminating(signal: signal, by: caller) }
    }

    /// The pool can run nothing more, because of `error`. Returns whether this was the first
    /// reason (the one kept, and the one to log).
    @discardableResult
    public mutating func breakDown(_ error: ClusterFuturesError) -> Bool {
        guard broken == nil else { return false }
        broken = error
        return true
    }

    /// Why a submit is refused now: the pool's error if it broke, else `stopped` once it no longer
    /// takes work; nil while it runs.
    public func refusal(stopped: @autoclosure () -> ClusterFuturesError) -> ClusterFuturesError? {
        if let broken { return broken }
        return stage == .running ? nil : stopped()
    }
}
