import ArgumentParser
import ClusterFuturesMPI
import Logging

/// A command-line program, written with swift-argument-parser, whose start-up ClusterFutures owns:
/// adopt it on your `@main` command instead of `AsyncParsableCommand`, and list the functions.
///
/// ```swift
/// @main
/// struct Tool: ClusterCommand {
///     static let functions: [any RemoteFunction.Type] = [Square.self]
///
///     @OptionGroup var executorOptions: ExecutorOptions   // --executor auto|mpi|process|inline, --workers N
///
///     func run() async throws {
///         try await withExecutor(try executorOptions.makeExecutor()) { executor in
///             var sum = 0
///             for try await square in try executor.map(Square(), 1...1_000, chunkSize: 50) { sum += square }
///             print("sum of squares:", sum)
///         }
///     }
/// }
/// ```
///
/// Its `main` calls `ClusterRuntime.bootstrap(functions:errors:logHandler:)` before it looks at the command
/// line, so a worker never parses arguments nor prints anything: under `mpiexec -n N`, ranks
/// 1...N-1 become workers there; a process pool's workers turn into workers before `main` runs.
/// Then it parses the arguments and runs the command (or a subcommand), as
/// `AsyncParsableCommand.main()` does. A bootstrap that fails (two functions with one name) is
/// reported like any error of the command: a message on standard error and exit status 1.
///
/// A synchronous command or subcommand (a `ParsableCommand`, such as one that waits with
/// `future.result()`) runs on the main actor, not on one of Swift's cooperative threads, where
/// `AsyncParsableCommand.main()` would run it: blocking there holds back no `async` work.
///
/// Adopt this instead of `ClusterProgram`: a type that adopts both `ClusterProgram` and
/// `AsyncParsableCommand` has two `main`s, and `@main` cannot choose between them.
public protocol ClusterCommand: AsyncParsableCommand {
    /// Every function the program submits.
    static var functions: [any RemoteFunction.Type] { get }
    /// Error types thrown deeper down that come back to the caller as themselves; empty by
    /// default. A function's own error type, declared with typed throws, needs no listing.
    static var errors: [any RemoteError.Type] { get }
    /// The program's log handler, for `LoggingSystem`; with one, MPI worker ranks send their
    /// records to rank 0 (see `ClusterRuntime.bootstrap(functions:errors:logHandler:)`). Nil by
    /// default, which leaves `LoggingSystem` alone.
    static var logHandler: (@Sendable (_ label: String) -> any LogHandler)? { get }
}

extension ClusterCommand {
    /// No error types are brought back as themselves unless you list them.
    public static var errors: [any RemoteError.Type] { [] }

    /// No log handler: `LoggingSystem` is left as the program sets it up.
    public static var logHandler: (@Sendable (_ label: String) -> any LogHandler)? { nil }

    /// Bootstraps the runtime, then parses the program's command-line arguments and runs the
    /// command they name, exiting with a message and a non-zero status on an error.
    @MainActor
    public static func main() async {
        await main(nil)
    }

    /// Bootstraps the runtime, then parses `arguments` (nil: the program's command-line arguments)
    /// and runs the command they name, exiting with a message and a non-zero status on an error.
    @MainActor
    public static func main(_ arguments: [String]?) async {
        do {
            try ClusterRuntime.bootstrap(functions: functions, errors: errors, logHandler: logHandler)
        } catch {
            exit(withError: BootstrapFailure(error: error))
        }
        do {
            var command = try await asyncParseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The error of a bootstrap that failed, as the command line reports it.
struct BootstrapFailure: Error, CustomStringConvertible {
    var error: any Error
    var description: String { "ClusterFutures could not start: \(error)" }
}
