import ClusterFutures

extension Executors {
    /// What ``Executors/automatic(_:logger:)`` may choose, and how it sets up the executor it
    /// chooses.
    ///
    /// Every executor's own settings are here, so a program can configure them all and still leave
    /// the choice to run time:
    ///
    /// ```swift
    /// var configuration = Executors.Configuration(workers: 3)   // if a process pool is chosen
    /// configuration.process.maxTasksPerWorker = 1_000
    /// configuration.initializer = try WorkerInitializer(LoadModel(), "weights.bin")
    /// let executor = try Executors.automatic(configuration)
    /// ```
    ///
    /// The kind is decided in this order: ``kind`` when it is set (in code, or from a command-line
    /// flag), else ``Executors/environmentVariable`` when it names a kind, else the automatic
    /// choice. Settings for the kinds not chosen are ignored.
    public struct Configuration: Sendable {
        /// The kind of executor to make; nil (the default) leaves the choice to
        /// ``Executors/environmentVariable``, then to the automatic rule. A kind set here beats the
        /// environment variable.
        public var kind: Kind?

        /// How many worker processes a process pool has; nil means the usable CPUs minus one.
        ///
        /// The same value as `process.workers`. When the choice is automatic, setting it picks the
        /// process pool over the inline executor on a machine with one usable CPU. It does not
        /// apply to the MPI pool, whose workers are the ranks of the job (`mpiexec -n N` gives
        /// N - 1), nor to the inline executor: ``Executors/automatic(_:logger:)`` then logs a
        /// notice that it was ignored. Below 1, the choice throws.
        public var workers: Int? {
            get { process.workers }
            set { process.workers = newValue }
        }

        /// A function run once in every worker, by whichever pool is chosen, before its first task;
        /// its failure breaks that executor. A pool's own initializer, `process.initializer` or
        /// `mpi.initializer`, takes precedence. The inline executor has no workers and does not run
        /// it (a notice says so).
        public var initializer: WorkerInitializer?

        /// How a `LocalProcessPoolExecutor` is set up, if one is chosen.
        public var process = LocalProcessPoolExecutor.Configuration()

        /// How an ``MPIPoolExecutor`` is set up, if one is chosen.
        public var mpi = MPIPoolExecutor.Configuration()

        /// When an `InlineDummyExecutor`'s tasks run, if one is chosen; `.lazy` by default.
        public var inlineMode = InlineDummyExecutor.Mode.lazy

        /// A configuration that forces `kind` (nil: choose at run time) and gives a process pool
        /// `workers` processes (nil: the usable CPUs minus one); every other setting at its default.
        public init(kind: Kind? = nil, workers: Int? = nil) {
            self.kind = kind
            self.workers = workers
        }

        /// The process pool's configuration, with ``initializer`` unless it has its own.
        var processPool: LocalProcessPoolExecutor.Configuration {
            var process = process
            if process.initializer == nil { process.initializer = initializer }
            return process
        }

        /// The MPI pool's configuration, with ``initializer`` unless it has its own.
        var mpiPool: MPIPoolExecutor.Configuration {
            var mpi = mpi
            if mpi.initializer == nil { mpi.initializer = initializer }
            return mpi
        }
    }
}
