import CClusterFuturesSystem
import Logging

/// The start-up of a program that uses ClusterFutures.
///
/// Call ``bootstrap(functions:errors:)`` at the top of `main`, before anything else, with every
/// function the program submits. In the program's own process it registers them and returns. In a
/// worker process (a copy of the program started by an executor) it serves tasks and exits there:
/// a worker never runs the program's code past this call. Or adopt ``ClusterProgram``, which makes
/// that call for you.
public enum ClusterRuntime {
    /// Registers the functions (and the error types to bring back as themselves), and turns this
    /// process into a worker if an executor started it as one.
    ///
    /// A function's own error type, declared with typed throws (`throws(BadRecord)`), comes back as
    /// itself without being listed. List in `errors` the `Codable` error types that are thrown
    /// deeper down, from code the functions call, and reach the caller through untyped `throws`.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/duplicateFunctionName`` when two different
    ///   types claim one name.
    public static func bootstrap(
        functions: [any RemoteFunction.Type],
        errors: [any RemoteError.Type] = []
    ) throws {
        let registry = FunctionRegistry.shared
        for function in functions { try registry.register(function) }
        for error in errors { registry.register(error: error) }
        // Under mpiexec, with ClusterFuturesMPI linked, ranks above 0 become workers here.
        if cf_run_mpi_bootstrap() == 0, let launch = MPILaunch.current, launch.mayHaveWorkers {
            Logger(label: "ClusterFutures").warning(
                "launched by \(launch), but this program does not link ClusterFuturesMPI: every rank runs the whole program")
        }
    }
}

/// An error type that can travel between processes and come back to the caller as itself.
public typealias RemoteError = Error & Codable

/// A program whose start-up ClusterFutures owns: adopt it on your `@main` type instead of calling
/// ``ClusterRuntime/bootstrap(functions:errors:)`` yourself.
///
/// ```swift
/// @main
/// struct Demo: ClusterProgram {
///     static let functions: [any RemoteFunction.Type] = [Square.self]
///     static func run() async throws { ... }
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
    /// The program's own code. Never runs in a worker process.
    static func run() async throws
}

extension ClusterProgram {
    /// No error types are brought back as themselves unless you list them.
    public static var errors: [any RemoteError.Type] { [] }

    /// Bootstraps the runtime, then calls ``run()``.
    public static func main() async throws {
        try ClusterRuntime.bootstrap(functions: functions, errors: errors)
        try await run()
    }
}
