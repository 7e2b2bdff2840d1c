@_spi(ExecutorImplementation) import ClusterFutures
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Ways to get an executor without naming one.
public enum Executors {
    /// The kinds of executor ``automatic(logger:)`` chooses between.
    public enum Kind: String, Sendable, CaseIterable, CustomStringConvertible {
        /// ``MPIPoolExecutor``.
        case mpi
        /// `LocalProcessPoolExecutor`.
        case process
        /// `InlineDummyExecutor`.
        case inline

        public var description: String { rawValue }
    }

    /// The environment variable that forces ``automatic(logger:)``'s choice: `mpi`, `process`,
    /// `inline`, or `auto` (the same as unset).
    public static let environmentVariable = "CLUSTERFUTURES_EXECUTOR"

    /// A choice and the reason for it.
    public struct Choice: Sendable, Hashable, CustomStringConvertible {
        /// The executor to make.
        public var kind: Kind
        /// Why, for the log.
        public var reason: String
        /// Whether ``Executors/environmentVariable`` asked for this kind.
        public var isForced = false

        public var description: String { "\(kind): \(reason)" }
    }

    /// Chooses the executor for this process: ``MPIPoolExecutor`` when an MPI launcher started it
    /// with more than one process, else `LocalProcessPoolExecutor` when more than one CPU is
    /// usable, else `InlineDummyExecutor`. The environment variable ``environmentVariable`` forces
    /// a kind. The choice and its reason are logged once, at `info`.
    ///
    /// The same program, unchanged, uses every worker rank under `mpiexec -n N`, every core on its
    /// own, and still runs on one core.
    ///
    /// - Throws: `ClusterFuturesError` with code `invalidArgument` when the environment
    ///   variable has an unknown value, or asks for `mpi` in a process no MPI launcher started
    ///   with more than one rank; whatever making the chosen executor throws.
    public static func automatic(logger: Logger = Logger(label: "ClusterFutures.Executors")) throws -> any Executor {
        var choice = try choose(environment: { getenv($0).map { String(cString: $0) } }, usableCPUs: UsableCPUs.count)
        var executor: any Executor
        switch choice.kind {
        case .mpi:
            let pool = try MPIPoolExecutor()
            if pool.worldSize == 1 {
                // The launcher's variables promised more processes than MPI found.
                pool.shutdown()
                if choice.isForced {
                    throw ClusterFuturesError(.invalidArgument,
                        "\(environmentVariable)=mpi, but the MPI world has 1 process: launch with `mpiexec -n N program`, N > 1")
                }
                let usable = UsableCPUs.count
                if usable > 1 {
                    executor = try LocalProcessPoolExecutor()
                    choice = Choice(kind: .process, reason: "\(choice.reason), but the MPI world has 1 process; \(usable) usable CPUs")
                } else {
                    executor = InlineDummyExecutor()
                    choice = Choice(kind: .inline, reason: "\(choice.reason), but the MPI world has 1 process; 1 usable CPU")
                }
            } else {
                executor = pool
                choice.reason += "; \(counted(pool.workerCount, "worker rank"))"
            }
        case .process:
            executor = try LocalProcessPoolExecutor()
            choice.reason += "; \(counted(executor.workerCount, "worker process", plural: "worker processes"))"
        case .inline:
            executor = InlineDummyExecutor()
        }
        if !loggedChoice.exchange(true, ordering: .relaxed) {
            logger.info("using the \(choice.kind) executor: \(choice.reason)")
        }
        return executor
    }

    private static let loggedChoice = Atomic<Bool>(false)

    /// The choice ``automatic(logger:)`` makes for an environment (a lookup of variables by name)
    /// and a number of usable CPUs, without making anything.
    public static func choose(environment: (String) -> String?, usableCPUs: Int) throws(ClusterFuturesError) -> Choice {
        let launch = MPILaunch.detect(environment)
        let forced = environment(environmentVariable).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch forced {
        case nil, "", "auto":
            if let launch, launch.mayHaveWorkers {
                return Choice(kind: .mpi, reason: "launched by \(launch)")
            }
            if usableCPUs > 1 {
                return Choice(kind: .process, reason: "no MPI launcher with more than one process, \(usableCPUs) usable CPUs")
            }
            return Choice(kind: .inline, reason: "no MPI launcher with more than one process, 1 usable CPU")
        case "mpi":
            guard let launch, launch.mayHaveWorkers else {
                let found = launch.map { "only \($0)" } ?? "no MPI launcher's variables"
                throw ClusterFuturesError(.invalidArgument,
                    "\(environmentVariable)=mpi, but this process was not started by an MPI launcher with more than one "
                    + "process (\(found)): launch with `mpiexec -n N program`, N > 1")
            }
            return Choice(kind: .mpi, reason: "\(environmentVariable)=mpi, launched by \(launch)", isForced: true)
        case "process":
            return Choice(kind: .process, reason: "\(environmentVariable)=process", isForced: true)
        case "inline":
            return Choice(kind: .inline, reason: "\(environmentVariable)=inline", isForced: true)
        case let other?:
            throw ClusterFuturesError(.invalidArgument,
                "\(environmentVariable)=\(other) is not a kind of executor; use one of auto, "
                + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }
}

/// `1 worker rank`, `3 worker ranks`.
private func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
