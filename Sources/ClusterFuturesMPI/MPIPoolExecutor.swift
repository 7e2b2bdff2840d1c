@_spi(ExecutorImplementation) import ClusterFutures
import Logging
import MPI

/// Runs tasks on the ranks of an MPI job: launched as `mpiexec -n N program`, rank 0 runs the
/// program and every executor it makes hands tasks to ranks 1...N-1.
///
/// ```swift
/// // mpiexec -n 4 .build/release/my-program
/// try ClusterRuntime.bootstrap(functions: [Simulate.self])   // ranks 1...3 serve from here
/// let pool = try MPIPoolExecutor()                            // on rank 0: 3 workers
/// let results = try pool.map(Simulate(), seeds, chunkSize: 16).collect()
/// pool.shutdown()
/// print(results.count)
/// ```
///
/// Ranks above 0 become workers inside `ClusterRuntime.bootstrap(functions:errors:logHandler:)`
/// (or the first `MPIPoolExecutor` they make, in a program that does not bootstrap) and never run
/// the program's code past it. Functions travel by name with their inputs in the compact wire format; a task's
/// thrown error fails only its future. Every executor on rank 0 shares the workers: idle workers
/// take queued tasks first in, first out, and executors take turns, so none starves another.
///
/// A world of one process (the program started without `mpiexec`) has no workers: tasks run on
/// rank 0's own dispatcher thread, one at a time. ``Executors/automatic(_:logger:)`` picks this
/// executor only when an MPI launcher started more than one process.
///
/// When the program exits (`main` returns or `exit` is called), rank 0 first runs every task already
/// submitted to completion, as Python does at interpreter exit, also for an executor that was never
/// shut down or was shut down with `wait: false`; then it stops every worker and finalizes MPI, so
/// the job ends with rank 0's exit status. To drop pending work instead, shut the executor down
/// with `cancelFutures: true`. An uncaught error on
/// rank 0 ends rank 0 abnormally, and the launcher then ends the whole job with a non-zero status.
/// A worker rank that crashes also ends the job (MPI has no way to replace a rank); before it dies
/// it writes which rank, pid and host it was, and which function it was running, to standard error.
public final class MPIPoolExecutor: Executor {
    /// How the pool's processes are started.
    public enum Launch: Sendable, Hashable {
        /// The program was started as `mpiexec -n N program`: ranks 1...N-1 are the workers.
        case world
        /// Start `workers` new processes with `MPI_Comm_spawn`. Not available with MPICH's ch4:ucx
        /// device (it has no dynamic processes): asking for it throws and says to use ``world``.
        case spawn(workers: Int)
    }

    /// How an executor is set up.
    public struct Configuration: Sendable {
        /// How the worker processes are started; ``Launch/world`` by default.
        public var launch: Launch = .world
        /// A function run once on every worker rank before the first task of this executor there
        /// (the worker-setup hook, see `WorkerInitializer`); its failure breaks this executor (not
        /// the others).
        public var initializer: WorkerInitializer?
        /// Where this executor reports its own problems (an initializer that failed), and where the
        /// log records of its tasks go: a worker rank running its tasks logs at this logger's level
        /// and sends each record here, with the rank (`rank`, and `worker`, its index from 0), `pid`
        /// and `host` added to the record's metadata. Ranks forward only when the program gave its
        /// log handler to `ClusterRuntime/bootstrap(functions:errors:logHandler:)`.
        public var logger = Logger(label: "ClusterFutures.MPIPoolExecutor")

        /// The default configuration.
        public init() {}
    }

    /// Where the MPI pool reports the problems of the pool as a whole (MPI that cannot be set up,
    /// a broken pool), which no one executor owns.
    static let logger = Logger(label: "ClusterFutures.MPIPoolExecutor")

    private let dispatcher: MPIDispatcher
    private let client: MPIDispatcher.Client
    private let registry: FunctionRegistry

    /// The number of worker ranks (the world size minus one), or 1 in a world of one process.
    public let workerCount: Int

    /// The number of processes in the MPI job, rank 0 included.
    public let worldSize: Int

    /// Joins the MPI job's pool with the default configuration.
    public convenience init() throws {
        try self.init(Configuration())
    }

    /// Joins the MPI job's pool as `configuration` says, initializing MPI if the program has not.
    ///
    /// - Throws: `ClusterFuturesError` with code `invalidArgument` for ``Launch/spawn(workers:)``,
    ///   or `brokenExecutor` when MPI cannot be set up, or the
    ///   program initialized it with less than `MPI_THREAD_MULTIPLE`.
    public init(_ configuration: Configuration, registry: FunctionRegistry = .shared) throws {
        if case .spawn(let workers) = configuration.launch {
            throw ClusterFuturesError(.invalidArgument,
                "MPIPoolExecutor cannot spawn \(workers) workers: MPI_Comm_spawn is not available with this MPI "
                + "(MPICH's ch4:ucx device has no dynamic processes). Launch the program with `mpiexec -n N program` "
                + "instead: rank 0 runs it and ranks 1...N-1 serve its tasks")
        }
        let master = try MPIWorld.setUp()
        dispatcher = try MPIWorld.dispatcher(for: master)
        client = try dispatcher.addClient(initializer: configuration.initializer, logger: configuration.logger)
        workerCount = dispatcher.workerCount
        worldSize = master.size
        self.registry = registry
    }

    deinit {
        dispatcher.shutdown(client, wait: false, cancelFutures: false)
    }

    /// Whether this executor refuses new work: after ``shutdown(wait:cancelFutures:)``, or once the
    /// pool broke or MPI was finalized. The program's other executors are told the same of their own.
    public var isShutDown: Bool { dispatcher.refusal(for: client) != nil }

    /// Schedules `function(input)` on a worker rank and returns its future at once, without waiting
    /// for a rank to be free.
    ///
    /// The task waits in this executor's queue, which takes turns with the program's other
    /// executors; an idle rank takes the oldest. Arrays of plain numbers of 64 KiB or more in the
    /// input travel beside the request, straight from this array to the worker's. In a world of one
    /// process the task runs on rank 0's dispatcher thread.
    ///
    /// - Throws: `ClusterFuturesError/Code-swift.struct/executorShutDown` after
    ///   ``shutdown(wait:cancelFutures:)`` or once MPI was finalized;
    ///   `ClusterFuturesError/Code-swift.struct/brokenExecutor` when the pool broke (the message
    ///   says why); `ClusterFuturesError/Code-swift.struct/unregisteredFunction` when `F` was not
    ///   registered. An input that cannot be encoded fails the future, not this call.
    public func submit<F: RemoteFunction>(_ function: F, _ input: F.Input) throws -> Future<F.Output> {
        if let refusal = dispatcher.refusal(for: client) { throw refusal }
        // Across ranks, large arrays go beside the request, from the caller's array to the worker's.
        let made = try Job.single(function, input, registry: registry,
                                  outOfBandMinimum: worldSize > 1 ? BufferList.minimumBytes : nil)
        if let job = made.job { try enqueue(job, made.future) }
        return made.future
    }

    /// Schedules `function` on every input of `batch` as one message to one worker rank, and returns
    /// one future for all their results, each input's value or error in `BatchResults`.
    ///
    /// `map` uses this for its chunks. The batch is encoded as one message; an
    /// `AsyncRemoteFunction` runs up to its `AsyncRemoteFunction/concurrentCallsPerWorker` calls
    /// of the batch at once.
    ///
    /// - Throws: what ``submit(_:_:)`` throws.
    public func submit<F: RemoteFunction>(_ function: F, batch: [F.Input]) throws -> Future<BatchResults<F.Output>> {
        if let refusal = dispatcher.refusal(for: client) { throw refusal }
        let made = try Job.batch(function, batch, registry: registry)
        if let job = made.job { try enqueue(job, made.future) }
        return made.future
    }

    /// Queues a job, and lets a thread that waits for its future help the dispatcher (except in a
    /// world of one, where only the dispatcher thread runs tasks).
    private func enqueue<Value>(_ job: Job, _ future: Future<Value>) throws(ClusterFuturesError) {
        if worldSize > 1 { future.setWaitHelper(dispatcher) }
        try dispatcher.enqueue(job, for: client)
    }

    /// Stops this executor taking work. The worker ranks keep serving the program's other executors
    /// and stop when the program exits; `wait` returns when this executor's futures are done.
    ///
    /// - Parameters:
    ///   - wait: Block until every task already submitted to this executor has finished.
    ///   - cancelFutures: Cancel the tasks not yet sent to a worker rank first; tasks already sent
    ///     run to completion.
    public func shutdown(wait: Bool, cancelFutures: Bool) {
        dispatcher.shutdown(client, wait: wait, cancelFutures: cancelFutures)
    }
}
