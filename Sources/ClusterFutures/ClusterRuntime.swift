import CClusterFuturesSystem
import Logging

/// The start-up of a program that uses ClusterFutures.
///
/// Call ``bootstrap(functions:errors:logHandler:)`` at the top of `main`, before anything else,
/// with every function the program submits. In the program's own process it registers them and
/// returns. Under `mpiexec`, on ranks above 0, it turns the process into an MPI worker, which
/// serves tasks and exits there, never running the program's code past this call. A process-pool
/// worker never gets this far: it is a copy of the program that turns into a worker before `main`
/// runs, and finds the functions by their type names. Or adopt ``ClusterProgram``, which makes
/// that call for you.
public enum ClusterRuntime {
    /// Registers the functions (and the error types to bring back as themselves), sets up logging,
    /// and turns this process into a worker if an executor started it as one.
    ///
    /// A function's own error type, declared with typed throws (`throws(BadRecord)`), comes back as
    /// itself without being listed. List in `errors` the `Codable` error types that are thrown
    /// deeper down, from code the functions call, and reach the caller through untyped `throws`.
    ///
    /// Workers send their log records to the pool's logger (`Configuration.logger` of each pool),
    /// which logs them with the worker's index or rank, pid and host as metadata, and they log at
    /// its level. Process-pool workers always do. MPI worker ranks run the program's `main` up to
    /// this call, so they can only if the program leaves `LoggingSystem` to ClusterFutures: pass
    /// your handler as `logHandler` instead of calling `LoggingSystem.bootstrap` yourself.
    ///
    /// ```swift
    /// try ClusterRuntime.bootstrap(functions: [Simulate.self]) { label in
    ///     var handler = StreamLogHandler.standardError(label: label)
    ///     handler.logLevel = .warning       // also the level of every worker's records
    ///     return handler
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - functions: Every function the program submits.
    ///   - errors: Error types thrown deeper down that come back to the caller as themselves (a
    ///     function's own, declared with typed throws, need not be listed).
    ///   - logHandler: The program's log handler: in the program's own process (rank 0 under
    ///     `mpiexec`) `LoggingSystem` is bootstrapped with it here; on MPI worker ranks with
    ///     handlers that send every record to rank 0 instead. Nil (the default) leaves
    ///     `LoggingSystem` alone; then MPI worker ranks log as the program set them up, on their
    ///     own output, and send nothing to rank 0. (`LoggingSystem.bootstrap` may run once in a
    ///     process: a program that calls it itself before this call must not pass a handler.)
    ///     Only the first handler given in a process is used.
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/duplicateFunctionName`` when two different
    ///   types claim one name.
    public static func bootstrap(
        functions: [any RemoteFunction.Type],
        errors: [any RemoteError.Type] = [],
        logHandler: (@Sendable (_ label: String) -> any LogHandler)? = nil
    ) throws {
        let registry = FunctionRegistry.shared
        for function in functions { try registry.register(function) }
        for error in errors { registry.register(error: error) }
        let launch = MPILaunch.current
        // A rank above 0 may become a worker in the MPI bootstrap below, which bootstraps the
        // logging system its own way; every other process takes the program's handler at once.
        let mayBecomeWorkerRank = launch.map { $0.mayHaveWorkers && $0.rank != 0 } ?? false
        if let logHandler { WorkerLogging.adoptProgramHandler(logHandler, bootstrapNow: !mayBecomeWorkerRank) }
        // Under mpiexec, with ClusterFuturesMPI linked, ranks above 0 become workers here.
        let linksMPI = cf_run_mpi_bootstrap() != 0
        // Still here: not a worker rank after all.
        if let logHandler, mayBecomeWorkerRank { WorkerLogging.bootstrapOnce(logHandler) }
        if !linksMPI, let launch, launch.mayHaveWorkers {
            Logger(label: "ClusterFutures").warning(
                "launched by \(launch), but this program does not link ClusterFuturesMPI: every rank runs the whole program")
        }
    }
}

/// An error type that can travel between processes and come back to the caller as itself.
public typealias RemoteError = Error & Codable

/// A program whose start-up ClusterFutures owns: adopt it on your `@main` type instead of calling
/// ``ClusterRuntime/bootstrap(functions:errors:logHandler:)`` yourself.
///
/// ```swift
/// @main
/// struct Demo: ClusterProgram {
///     static let functions: [any RemoteFunction.Type] = [Square.self]
///
///     static func run() async throws {
///         try await withExecutor(try LocalProcessPoolExecutor()) { executor in
///             print(try await executor.map(Square(), 1...1_000, chunkSize: 50).collect().reduce(0, +))
///         }
///     }
/// }
/// ```
///
/// A program that parses its command line with swift-argument-parser adopts `ClusterCommand`, from
/// the `ClusterFuturesArguments` product, instead: it is an `AsyncParsableCommand` with this
/// protocol's `functions` and `errors`. A type cannot adopt both `ClusterProgram` and
/// `AsyncParsableCommand`: each brings a `main`, and `@main` cannot choose between them.
public protocol ClusterProgram {
    /// Every function the program submits.
    static var functions: [any RemoteFunction.Type] { get }
    /// Error types thrown deeper down that come back to the caller as themselves; empty by default.
    /// A function's own error type, declared with typed throws, needs no listing.
    static var errors: [any RemoteError.Type] { get }
    /// The program's log handler, for `LoggingSystem` (see
    /// ``ClusterRuntime/bootstrap(functions:errors:logHandler:)``); nil by default, which leaves
    /// `LoggingSystem` alone.
    static var logHandler: (@Sendable (_ label: String) -> any LogHandler)? { get }
    /// The program's own code. Never runs in a worker process.
    static func run() async throws
}

extension ClusterProgram {
    /// No error types are brought back as themselves unless you list them.
    public static var errors: [any RemoteError.Type] { [] }

    /// No log handler: `LoggingSystem` is left as the program sets it up.
    public static var logHandler: (@Sendable (_ label: String) -> any LogHandler)? { nil }

    /// Bootstraps the runtime, then calls ``run()``.
    public static func main() async throws {
        try ClusterRuntime.bootstrap(functions: functions, errors: errors, logHandler: logHandler)
        try await run()
    }
}
