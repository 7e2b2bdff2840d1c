import Logging
import Synchronization

/// Swift-log in the processes of ClusterFutures: the program's handler, given to
/// ``ClusterRuntime/bootstrap(functions:errors:logHandler:)``, and the forwarding handlers of
/// workers. `LoggingSystem.bootstrap` may run once per process (a second call traps), and
/// swift-log does not say whether it ran, so every call ClusterFutures makes goes through
/// ``bootstrapOnce(_:)``, and ClusterFutures calls it only where the program cannot have.
package enum WorkerLogging {
    private struct State {
        var bootstrapped = false
        var programHandler: (@Sendable (String) -> any LogHandler)?
    }

    /// The state behind a lock, in a class: a `Mutex` stored directly in a `static let` has been
    /// seen to read back wrong values in optimized builds (see `MPIWorld`).
    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private static let box = Box()

    /// The handler the program gave ``ClusterRuntime/bootstrap(functions:errors:logHandler:)``, if
    /// it gave one: the program then leaves `LoggingSystem` to ClusterFutures, so a worker rank of
    /// an MPI pool may bootstrap it with forwarding handlers.
    package static var programHandler: (@Sendable (String) -> any LogHandler)? {
        box.state.withLock { $0.programHandler }
    }

    /// Keeps the program's handler (the first one given) and bootstraps `LoggingSystem` with it,
    /// unless ClusterFutures already bootstrapped it in this process.
    static func adoptProgramHandler(_ factory: @escaping @Sendable (String) -> any LogHandler, bootstrapNow: Bool) {
        box.state.withLock { state in
            if state.programHandler == nil { state.programHandler = factory }
        }
        if bootstrapNow { bootstrapOnce(factory) }
    }

    /// Bootstraps swift-log's `LoggingSystem` with `factory`, unless ClusterFutures already did in
    /// this process. Returns whether it did.
    @discardableResult
    package static func bootstrapOnce(_ factory: @escaping @Sendable (String) -> any LogHandler) -> Bool {
        let first = box.state.withLock { state in
            defer { state.bootstrapped = true }
            return !state.bootstrapped
        }
        if first { LoggingSystem.bootstrap(factory) }
        return first
    }

    /// Makes every `Logger` made from now on in this worker forward its records through `sink`.
    /// Only where nothing else may bootstrap `LoggingSystem`: in a process-pool worker (which never
    /// runs the program's `main`), or in an MPI worker rank whose program left the logging system
    /// to ClusterFutures. Returns whether it did (false: ClusterFutures had bootstrapped it already).
    @discardableResult
    package static func install(_ sink: WorkerLogSink) -> Bool {
        bootstrapOnce { label in ForwardingLogHandler(label: label, sink: sink) }
    }
}
