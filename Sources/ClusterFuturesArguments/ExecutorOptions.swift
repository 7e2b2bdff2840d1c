import ArgumentParser
import ClusterFuturesMPI
import Logging

/// The command-line options that choose and size the executor: `--executor auto|mpi|process|inline`
/// and `--workers N`. Add them to any command with `@OptionGroup`:
///
/// ```swift
/// @OptionGroup var executorOptions: ExecutorOptions   // --executor auto|mpi|process|inline, --workers N
///
/// func run() async throws {
///     try await withExecutor(try executorOptions.makeExecutor()) { executor in
///         var sum = 0
///         for try await square in try executor.map(Square(), 1...1_000, chunkSize: 50) { sum += square }
///         print("sum of squares:", sum)
///     }
/// }
/// ```
///
/// `--executor auto` (the default) leaves the choice to `Executors.automatic(_:logger:)`: the
/// environment variable `CLUSTERFUTURES_EXECUTOR` if it is set, else the MPI pool under `mpiexec`,
/// a process pool on a machine with more than one usable CPU, or the inline executor. Any other
/// value forces that kind, over the environment variable. `--workers N` sizes the process pool; it
/// is refused beside `--executor mpi` (the launcher decides: `mpiexec -n N` gives N - 1 worker
/// ranks) and `--executor inline`, and ignored with a notice when `auto` chooses one of those.
public struct ExecutorOptions: ParsableArguments, Sendable {
    /// The values of `--executor`.
    public enum Selection: String, CaseIterable, ExpressibleByArgument, Sendable {
        /// Choose at run time.
        case auto
        /// `MPIPoolExecutor`: the program must run under an MPI launcher with more than one process.
        case mpi
        /// `LocalProcessPoolExecutor`.
        case process
        /// `InlineDummyExecutor`.
        case inline

        /// The kind this selection forces; nil for ``auto``.
        public var kind: Executors.Kind? {
            switch self {
            case .auto: nil
            case .mpi: .mpi
            case .process: .process
            case .inline: .inline
            }
        }
    }

    /// Which executor runs the tasks; ``Selection/auto`` by default.
    @Option(help: ArgumentHelp(
        "Which executor runs the tasks. auto: the MPI pool under mpiexec, else a process pool (inline on one CPU), "
            + "unless \(Executors.environmentVariable) says otherwise; the others force that executor.",
        valueName: "kind"))
    public var executor: Selection = .auto

    /// How many worker processes a process pool has; nil means the usable CPUs minus one.
    @Option(help: ArgumentHelp(
        "Worker processes of the process pool (default: the usable CPUs minus one). Under mpiexec the number of "
            + "ranks decides instead.",
        valueName: "n"))
    public var workers: Int?

    /// Options at their defaults: choose at run time, default sizes.
    public init() {}

    /// Refuses a worker count below 1, and `--workers` beside an executor it cannot apply to.
    public func validate() throws {
        if let workers {
            guard workers >= 1 else {
                throw ValidationError("--workers must be at least 1, not \(workers)")
            }
            switch executor {
            case .mpi:
                throw ValidationError(
                    "--workers is for the process pool; with --executor mpi the launcher decides (mpiexec -n N gives N - 1 worker ranks)")
            case .inline:
                throw ValidationError("--workers is for the process pool; --executor inline runs every task in the caller")
            case .auto, .process:
                break
            }
        }
    }

    /// `configuration` with what these options set: the kind unless ``executor`` is
    /// ``Selection/auto``, and the worker count if ``workers`` is given. The rest of
    /// `configuration` (pool settings, an initializer) is kept.
    public func applied(to configuration: Executors.Configuration) -> Executors.Configuration {
        var configuration = configuration
        if let kind = executor.kind { configuration.kind = kind }
        if let workers { configuration.workers = workers }
        return configuration
    }

    /// The configuration these options describe, every other setting at its default.
    public var configuration: Executors.Configuration { applied(to: Executors.Configuration()) }

    /// Makes the executor these options describe, with `Executors.automatic(_:logger:)`: the
    /// options override the kind and worker count of `configuration`, which supplies everything
    /// else.
    ///
    /// - Throws: what `Executors.automatic(_:logger:)` throws, such as `--executor mpi` outside
    ///   `mpiexec`.
    public func makeExecutor(
        _ configuration: Executors.Configuration = Executors.Configuration(),
        logger: Logger = Logger(label: "ClusterFutures.Executors")
    ) throws -> any Executor {
        try Executors.automatic(applied(to: configuration), logger: logger)
    }

    /// ``makeExecutor(_:logger:)``, returning with the executor the choice that made it (its kind
    /// and why), as `Executors.automaticWithChoice(_:logger:)` does.
    ///
    /// ```swift
    /// let (executor, choice) = try executorOptions.makeExecutorWithChoice()
    /// print("using the \(choice.kind) executor: \(choice.reason)")
    /// ```
    ///
    /// - Throws: what `Executors.automatic(_:logger:)` throws.
    public func makeExecutorWithChoice(
        _ configuration: Executors.Configuration = Executors.Configuration(),
        logger: Logger = Logger(label: "ClusterFutures.Executors")
    ) throws -> (executor: any Executor, choice: Executors.Choice) {
        try Executors.automaticWithChoice(applied(to: configuration), logger: logger)
    }
}
