import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs tasks in worker processes on this machine: fresh copies of the running program, one task at a
/// time each, isolated from each other and from the caller.
///
/// ```swift
/// let pool = try LocalProcessPoolExecutor()            // usable cores - 1 workers
/// let squares = try pool.map(Square(), 0..<1_000_000, chunkSize: 256).collect()
/// pool.shutdown()
/// print(squares.reduce(0, +))
/// ```
///
/// A worker is the program's own executable started again (`/proc/self/exe`, or
/// ``Configuration/workerExecutable``). It turns into a worker before `main` runs, so it never runs
/// the program's own code, and it proves at start-up that it is the same build as the pool.
///
/// A worker that dies during a task (a `fatalError`, a signal, an `exit`) fails only that task's
/// future, with ``ClusterFuturesError/Code-swift.struct/workerLost`` naming the function, the signal
/// or exit status and the pid, and ending with the last lines the worker wrote to standard error
/// (a `fatalError`'s message); the pool starts a replacement, tasks queued behind it run elsewhere,
/// and the executor stays usable. Workers' standard error reaches the program's unchanged, through
/// the pool. Processes a task starts inherit none of the pool's descriptors, and the pool sees a
/// worker's end when its process ends, whatever its children do. Workers exit within a second of
/// the pool's process ending, however it ends, even by `SIGKILL`.
///
/// A task never waits behind another while a worker is idle: see <doc:HowThePoolsSchedule>. When
/// the program exits (`main` returns, or `exit` is called) with work submitted and not done, that
/// work runs to completion first, also after `shutdown(wait: false)`; `shutdown(wait:cancelFutures:)`
/// with `cancelFutures: true` drops it instead. On Ctrl-C or `SIGTERM` left to their default action,
/// the pool logs how many tasks were done, running and never started, and stops its workers.
///
/// What workers log reaches the pool's ``Configuration/logger``, at its level, tagged with the
/// worker's index, pid and host.
public final class LocalProcessPoolExecutor: Executor {
    /// How a pool is set up.
    public struct Configuration: Sendable {
        /// How many worker processes; nil means the usable CPUs (affinity and cgroup quota) minus one,
        /// at least one.
        public var workers: Int?
        /// The executable to start as a worker; nil means this program (`/proc/self/exe`). It must be
        /// the same build as this program, or it is refused.
        public var workerExecutable: String?
        /// A function run once in every worker before its first task, after the worker's logging
        /// is set up (the worker-setup hook, see ``WorkerInitializer``); its failure breaks the pool.
        public var initializer: WorkerInitializer?
        /// Replace a worker after it has run this many tasks (a planned exit: nothing is lost).
        public var maxTasksPerWorker: Int?
        /// Stop workers that have been idle this long, and start them again when work comes.
        public var idleTimeout: Duration?
        /// The most tasks a worker is sent ahead of its results. The pool starts each worker at 2 (the
        /// task it runs and the next; 1 where there is no shared memory) and sends more only while its
        /// tasks finish quickly (under 200 µs), which keeps a worker busy and batches small messages;
        /// one slow task brings it back. Nothing is sent ahead while another worker is idle or
        /// starting, and tasks sent ahead of one that runs past 200 µs are taken back as soon as another
        /// worker is idle (see <doc:HowThePoolsSchedule>). At least 1; 32 by default.
        public var tasksInFlightPerWorker: Int = 32
        /// The largest message a worker may send back; a larger one retires that worker.
        public var maxMessageBytes: Int = 1 << 32
        /// How long the pool's I/O thread, and each worker, keep looking for the next message after
        /// activity before they sleep: a sleeping thread is slow to wake. Zero never spins.
        public var spin: Duration = .microseconds(100)
        /// Where the pool reports worker crashes and replacements, and where the workers' log
        /// records go. A worker never runs the program's `main`, so not its
        /// `LoggingSystem.bootstrap` either: every `Logger` made in a worker sends its records here,
        /// at this logger's level (records below it are not even sent, unless the worker's logger
        /// sets a level of its own), and they are logged with `worker` (its index), `pid` and
        /// `host` added to their metadata, and `label` when the worker's logger had another; their
        /// level, message, source, file, function and line are the worker's. A record logged
        /// during a task arrives while the task runs, before its result, from any thread of it.
        ///
        /// By default a logger made from `LoggingSystem` as the program bootstrapped it when the
        /// configuration was made: its handler and level are the program's.
        public var logger = Logger(label: "ClusterFutures.LocalProcessPoolExecutor")

        /// The default configuration.
        public init() {}
    }

    private let engine: ProcessPoolEngine
    private let registry: FunctionRegistry

    /// The number of worker processes.
    public let workerCount: Int

    /// Starts a pool of `workers` processes (nil: usable CPUs minus one).
    public convenience init(workers: Int? = nil) throws {
        var configuration = Configuration()
        configuration.workers = workers
        try self.init(configuration)
    }

    /// Starts a pool as `configuration` says.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/invalidArgument`` for a worker count,
    ///   `maxTasksPerWorker` or `tasksInFlightPerWorker` below 1; ``ClusterFuturesError/Code-swift.struct/brokenExecutor``
    ///   when a worker cannot be started.
    public init(_ configuration: Configuration, registry: FunctionRegistry = .shared) throws {
        let workers = configuration.workers ?? max(1, UsableCPUs.count - 1)
        guard workers >= 1 else {
            throw ClusterFuturesError(.invalidArgument, "a process pool needs at least 1 worker, not \(workers)")
        }
        if let budget = configuration.maxTasksPerWorker, budget < 1 {
            throw ClusterFuturesError(.invalidArgument, "maxTasksPerWorker must be at least 1, not \(budget)")
        }
        guard configuration.tasksInFlightPerWorker >= 1 else {
            throw ClusterFuturesError(.invalidArgument,
                "tasksInFlightPerWorker must be at least 1, not \(configuration.tasksInFlightPerWorker)")
        }
        let settings = ProcessPoolEngine.Settings(
            workers: workers,
            executable: configuration.workerExecutable ?? "/proc/self/exe",
            maxTasksPerWorker: configuration.maxTasksPerWorker,
            idleTimeout: configuration.idleTimeout,
            initializer: configuration.initializer,
            tasksInFlightPerWorker: configuration.tasksInFlightPerWorker,
            maxMessageBytes: configuration.maxMessageBytes,
            spin: configuration.spin,
            logger: configuration.logger)
        engine = try ProcessPoolEngine(settings: settings)
        workerCount = workers
        self.registry = registry
        engine.start()
    }

    deinit {
        engine.shutdown(wait: false, cancelFutures: false)
    }

    public var isShutDown: Bool { engine.isShutDown }

    public func submit<F: RemoteFunction>(_ function: F, _ input: F.Input) throws -> Future<F.Output> {
        try checkOpen()
        let made = try Job.single(function, input, registry: registry)
        if let job = made.job { try engine.enqueue(job) }
        return made.future
    }

    public func submit<F: RemoteFunction>(_ function: F, batch: [F.Input]) throws -> Future<BatchResults<F.Output>> {
        try checkOpen()
        let made = try Job.batch(function, batch, registry: registry)
        if let job = made.job { try engine.enqueue(job) }
        return made.future
    }

    public func shutdown(wait: Bool, cancelFutures: Bool) {
        engine.shutdown(wait: wait, cancelFutures: cancelFutures)
    }

    /// Stops every worker with `SIGTERM` now and shuts the pool down: queued futures are cancelled,
    /// running ones fail with ``ClusterFuturesError/Code-swift.struct/workerLost``. Returns when the
    /// workers are gone.
    public func terminateWorkers() {
        engine.terminate(signal: SIGTERM, by: "terminateWorkers()")
    }

    /// As ``terminateWorkers()``, with `SIGKILL`.
    public func killWorkers() {
        engine.terminate(signal: SIGKILL, by: "killWorkers()")
    }

    /// Throws before any encoding work if the pool cannot take the task.
    private func checkOpen() throws(ClusterFuturesError) {
        if let refusal = engine.shared.withLock({ $0.phase.refusal(stopped: ProcessPoolEngine.shutDownError) }) { throw refusal }
    }
}
