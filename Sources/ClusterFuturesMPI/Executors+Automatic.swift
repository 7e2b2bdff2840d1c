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
    /// The kinds of executor ``automatic(_:logger:)`` chooses between.
    public enum Kind: String, Sendable, CaseIterable, CustomStringConvertible {
        /// ``MPIPoolExecutor``.
        case mpi
        /// `LocalProcessPoolExecutor`.
        case process
        /// `InlineDummyExecutor`.
        case inline

        /// The kind's name, as `CLUSTERFUTURES_EXECUTOR` and `--executor` spell it: `mpi`, `process`
        /// or `inline`.
        public var description: String { rawValue }
    }

    /// The environment variable that forces ``automatic(_:logger:)``'s choice when the
    /// configuration does not: `mpi`, `process`, `inline`, or `auto` (the same as unset).
    public static let environmentVariable = "CLUSTERFUTURES_EXECUTOR"

    /// A choice and the reason for it.
    public struct Choice: Sendable, Hashable, CustomStringConvertible {
        /// The executor to make.
        public var kind: Kind
        /// Why, for the log.
        public var reason: String
        /// Whether the configuration's ``Configuration/kind`` or ``Executors/environmentVariable``
        /// asked for this kind.
        public var isForced = false

        /// `KIND: REASON`, such as `process: no MPI launcher with more than one process, 2 usable CPUs`.
        public var description: String { "\(kind): \(reason)" }
    }

    /// Chooses the executor for this process and makes it as `configuration` says:
    /// ``MPIPoolExecutor`` when an MPI launcher started it with more than one process, else
    /// `LocalProcessPoolExecutor` when more than one CPU is usable (or
    /// ``Configuration/workers`` is set), else `InlineDummyExecutor`. The choice and its reason are
    /// logged once, at `info`.
    ///
    /// ``Configuration/kind`` forces a kind; when it is nil, the environment variable
    /// ``environmentVariable`` may force one. The settings of the chosen kind come from
    /// `configuration`; a setting that does not apply to it (``Configuration/workers`` under MPI,
    /// where `mpiexec -n` decides, or with the inline executor) is logged at `notice` and ignored.
    ///
    /// The same program, unchanged, uses every worker rank under `mpiexec -n N`, every core on its
    /// own, and still runs on one core.
    ///
    /// ```swift
    /// let executor = try Executors.automatic()                                  // all defaults
    /// let pool = try Executors.automatic(.init(workers: 3))                     // 3 processes, unless under mpiexec
    /// let inline = try Executors.automatic(.init(kind: .inline))                // whatever the environment says
    /// ```
    ///
    /// - Throws: `ClusterFuturesError` with code `invalidArgument` when the environment
    ///   variable has an unknown value, when ``Configuration/workers`` is below 1, or when `mpi` is
    ///   asked for in a process no MPI launcher started with more than one rank; whatever making
    ///   the chosen executor throws.
    public static func automatic(
        _ configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "ClusterFutures.Executors")
    ) throws -> any Executor {
        try automaticWithChoice(configuration, logger: logger).executor
    }

    /// ``automatic(_:logger:)``, returning with the executor the choice that made it: its kind and
    /// the reason, as logged, for a program that shows it (a banner, a `--verbose` line).
    ///
    /// The choice is the one the executor was made by, after its facts were checked: under a
    /// launcher whose MPI world turned out to have one process, the kind is the fallback's, and the
    /// reason says so; the reason of a pool ends with its worker count.
    ///
    /// ```swift
    /// let (executor, choice) = try Executors.automaticWithChoice()
    /// print("using the \(choice.kind) executor: \(choice.reason)")
    /// // using the process executor: no MPI launcher with more than one process, 2 usable CPUs; 1 worker process
    /// ```
    ///
    /// - Throws: what ``automatic(_:logger:)`` throws.
    public static func automaticWithChoice(
        _ configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "ClusterFutures.Executors")
    ) throws -> (executor: any Executor, choice: Choice) {
        var choice = try choose(configuration, environment: { getenv($0).map { String(cString: $0) } },
                                usableCPUs: UsableCPUs.count)
        var executor: any Executor
        switch choice.kind {
        case .mpi:
            let pool = try MPIPoolExecutor(configuration.mpiPool)
            if pool.worldSize == 1 {
                // The launcher's variables promised more processes than MPI found.
                pool.shutdown()
                if choice.isForced {
                    throw ClusterFuturesError(.invalidArgument,
                        "\(choice.reason), but the MPI world has 1 process: launch with `mpiexec -n N program`, N > 1")
                }
                let usable = UsableCPUs.count
                if usable > 1 || configuration.workers != nil {
                    executor = try LocalProcessPoolExecutor(configuration.processPool)
                    choice = Choice(kind: .process, reason: "\(choice.reason), but the MPI world has 1 process; "
                                    + (configuration.workers != nil ? "workers configured" : "\(usable) usable CPUs"))
                } else {
                    executor = InlineDummyExecutor(mode: configuration.inlineMode)
                    choice = Choice(kind: .inline, reason: "\(choice.reason), but the MPI world has 1 process; 1 usable CPU")
                }
            } else {
                executor = pool
                choice.reason += "; \(counted(pool.workerCount, "worker rank"))"
            }
        case .process:
            executor = try LocalProcessPoolExecutor(configuration.processPool)
        case .inline:
            executor = InlineDummyExecutor(mode: configuration.inlineMode)
        }
        if choice.kind == .process {
            choice.reason += "; \(counted(executor.workerCount, "worker process", plural: "worker processes"))"
        }
        if !loggedChoice.exchange(true, ordering: .relaxed) {
            logger.info("using the \(choice.kind) executor: \(choice.reason)")
        }
        for setting in ignoredSettings(configuration, by: choice.kind, workerCount: executor.workerCount) {
            logger.notice("\(setting)")
        }
        return (executor, choice)
    }

    private static let loggedChoice = Atomic<Bool>(false)

    /// What `configuration` sets that an executor of `kind` does not use, one sentence each.
    static func ignoredSettings(_ configuration: Configuration, by kind: Kind, workerCount: Int) -> [String] {
        var ignored: [String] = []
        switch kind {
        case .mpi:
            if let workers = configuration.workers {
                ignored.append("workers: \(workers) does not apply to the MPI pool, which has "
                    + "\(counted(workerCount, "worker rank")): the launcher decides (`mpiexec -n N` gives N - 1)")
            }
        case .inline:
            if let workers = configuration.workers {
                ignored.append("workers: \(workers) does not apply to the inline executor, which runs every task in the caller")
            }
            if configuration.initializer != nil {
                ignored.append("the worker initializer does not run with the inline executor, which has no workers")
            }
        case .process:
            break
        }
        return ignored
    }

    /// The choice ``automatic(_:logger:)`` makes for a configuration, an environment (a lookup of
    /// variables by name) and a number of usable CPUs, without making anything.
    ///
    /// - Throws: `ClusterFuturesError` with code `invalidArgument` as ``automatic(_:logger:)``
    ///   does.
    public static func choose(
        _ configuration: Configuration = Configuration(),
        environment: (String) -> String?,
        usableCPUs: Int
    ) throws(ClusterFuturesError) -> Choice {
        if let workers = configuration.workers, workers < 1 {
            throw ClusterFuturesError(.invalidArgument, "workers must be at least 1, not \(workers)")
        }
        let launch = MPILaunch.detect(environment)
        let variable = environment(environmentVariable)
        let requested = variable.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if let kind = configuration.kind {
            var overridden = ""
            if let variable, let requested, requested != "", requested != "auto", requested != kind.rawValue {
                overridden = " (overrides \(environmentVariable)=\(variable))"
            }
            return try forced(kind, by: "\(kind) was asked for\(overridden)", launch: launch)
        }
        switch requested {
        case nil, "", "auto":
            if let launch, launch.mayHaveWorkers {
                return Choice(kind: .mpi, reason: "launched by \(launch)")
            }
            if let workers = configuration.workers {
                return Choice(kind: .process, reason: "no MPI launcher with more than one process, workers: \(workers) configured")
            }
            if usableCPUs > 1 {
                return Choice(kind: .process, reason: "no MPI launcher with more than one process, \(usableCPUs) usable CPUs")
            }
            return Choice(kind: .inline, reason: "no MPI launcher with more than one process, 1 usable CPU")
        case let requested?:
            guard let kind = Kind(rawValue: requested) else {
                throw ClusterFuturesError(.invalidArgument,
                    "\(environmentVariable)=\(requested) is not a kind of executor; use one of auto, "
                    + Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return try forced(kind, by: "\(environmentVariable)=\(kind)", launch: launch)
        }
    }

    /// The choice of `kind`, which `reason` asked for; `mpi` only in a launch with workers.
    private static func forced(_ kind: Kind, by reason: String, launch: MPILaunch?) throws(ClusterFuturesError) -> Choice {
        guard kind == .mpi else { return Choice(kind: kind, reason: reason, isForced: true) }
        guard let launch, launch.mayHaveWorkers else {
            let found = launch.map { "only \($0)" } ?? "no MPI launcher's variables"
            throw ClusterFuturesError(.invalidArgument,
                "\(reason), but this process was not started by an MPI launcher with more than one "
                + "process (\(found)): launch with `mpiexec -n N program`, N > 1")
        }
        return Choice(kind: .mpi, reason: "\(reason), launched by \(launch)", isForced: true)
    }
}

/// `1 worker rank`, `3 worker ranks`.
private func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
