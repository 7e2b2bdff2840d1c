import Synchronization

/// Runs every task in the caller's own process: the fallback when there are no workers, and the
/// executor to debug with.
///
/// It keeps the whole contract of the other executors, so code that works here works on a pool:
/// functions must be registered, inputs and outputs make the same encode-decode trip they would
/// make between processes, and errors come back the same way.
///
/// In ``Mode/lazy`` mode (the default) a task runs at most once, in whichever thread first needs
/// its result (`result(timeout:)`, ``Future/value``, `error(timeout:)`, `Futures.wait`,
/// ``Futures/asCompleted(_:timeout:progress:)``, a `map` iteration, or `shutdown(wait: true)`, each
/// blocking or awaited); a speculative call whose result is never asked for never runs. In
/// ``Mode/eager`` mode `submit` runs the task before it returns.
public final class InlineDummyExecutor: Executor {
    /// When a task runs.
    public enum Mode: Sendable, Hashable {
        /// When its result is first needed.
        case lazy
        /// During `submit`.
        case eager
    }

    /// When tasks run.
    public let mode: Mode

    /// Always 1: the caller.
    public var workerCount: Int { 1 }

    private let registry: FunctionRegistry
    private let origin = TaskOrigin.currentProcess(executor: "inline")

    private struct State {
        var isShutDown = false
        /// Lazy futures not yet run, held weakly: a future nobody holds can never be asked for.
        var pending: [WeakFuture] = []
        /// Forgotten and finished futures are pruned from `pending` when it reaches this size.
        var pruneAt = 64
    }

    private let state = Mutex(State())

    /// Creates an inline executor.
    ///
    /// - Parameters:
    ///   - mode: when tasks run; ``Mode/lazy`` by default.
    ///   - registry: where functions are looked up; ``FunctionRegistry/shared`` by default.
    public init(mode: Mode = .lazy, registry: FunctionRegistry = .shared) {
        self.mode = mode
        self.registry = registry
    }

    public var isShutDown: Bool { state.withLock { $0.isShutDown } }

    public func submit<F: RemoteFunction>(_ function: F, _ input: F.Input) throws -> Future<F.Output> {
        try checkOpen()
        // A lazy future holds its job until demanded: the job must not keep the future alive too.
        let made = try Job.single(function, input, registry: registry, holdingFutureWeakly: mode == .lazy)
        schedule(made.job, made.future)
        return made.future
    }

    public func submit<F: RemoteFunction>(_ function: F, batch: [F.Input]) throws -> Future<BatchResults<F.Output>> {
        try checkOpen()
        let made = try Job.batch(function, batch, registry: registry, holdingFutureWeakly: mode == .lazy)
        schedule(made.job, made.future)
        return made.future
    }

    public func shutdown(wait: Bool, cancelFutures: Bool) {
        let pending = state.withLock { state in
            state.isShutDown = true
            return state.pending.compactMap(\.future)
        }
        if cancelFutures {
            for future in pending { future.cancel() }
        }
        if wait {
            for future in pending { future.runIfOnDemand() }
        }
        state.withLock { state in state.pending.removeAll { $0.future?.isDone ?? true } }
    }

    private func checkOpen() throws(ClusterFuturesError) {
        if isShutDown {
            throw ClusterFuturesError(.executorShutDown, "the inline executor was shut down; submit is not allowed after shutdown")
        }
    }

    private func schedule(_ job: Job?, _ future: AnyFuture) {
        guard let job else { return }
        switch mode {
        case .eager:
            Self.run(job, registry: registry, origin: origin)
        case .lazy:
            let registry = self.registry
            let origin = self.origin
            future.installOnDemand { Self.run(job, registry: registry, origin: origin) }
            state.withLock { state in
                state.pending.append(WeakFuture(future))
                if state.pending.count >= state.pruneAt {
                    state.pending.removeAll { $0.future?.isDone ?? true }
                    state.pruneAt = max(64, state.pending.count * 2)
                }
            }
        }
    }

    private static func run(_ job: Job, registry: FunctionRegistry, origin: TaskOrigin) {
        guard job.markRunning() else { return }
        job.complete(reply: registry.serve(functionName: job.functionName, request: job.request[...]), origin: origin)
    }
}

/// A future held without keeping it alive.
struct WeakFuture: Sendable {
    weak let future: AnyFuture?

    init(_ future: AnyFuture) { self.future = future }
}
