import DequeModule
import Dispatch
import Foundation
import Logging
import Synchronization
import SystemPackage

/// The machinery of a ``LocalProcessPoolExecutor``: a queue of jobs shared with submitting threads,
/// and one I/O thread that owns every worker process, dispatches jobs, reads results, and replaces
/// workers that die.
///
/// One thread does all the I/O with non-blocking descriptors and `poll`, so a large message going
/// to one worker never holds up results from the others.
// @unchecked Sendable: `shared` is a Mutex; `loop` and everything it holds are used only on the I/O
// thread after `start()`; the rest is immutable.
final class ProcessPoolEngine: @unchecked Sendable {
    struct Settings: Sendable {
        var workers: Int
        var executable: String
        var maxTasksPerWorker: Int?
        var idleTimeout: Duration?
        var initializer: WorkerInitializer?
        var tasksInFlightPerWorker: Int
        var maxMessageBytes: Int
        var spin: Duration
        var logger: Logger
    }

    struct Shared {
        /// The jobs queued: one lane, as the pool has one executor.
        var queue: SubmissionQueue<SubmissionLane>
        let lane: SubmissionLane
        /// Set by shutdown with `cancelFutures` and by terminate: jobs the I/O thread took from the
        /// queue but did not send are cancelled, not put back.
        var cancelUnsent = false
        /// Running, draining (shut down: queued work still runs, then the workers stop) or
        /// terminating (workers are being signalled; nothing more runs); and broken.
        var phase = PoolPhase()
        var ioSleeping = false
        var finished = false
        var ioThread: pthread_t?

        init() {
            lane = SubmissionLane()
            queue = SubmissionQueue(lane)
        }
    }

    let settings: Settings
    let shared = Mutex(Shared())
    /// What became of the pool's tasks, kept by the I/O thread, for the line a stop signal logs.
    let tally = WorkTally()
    let wake: WakeSignal
    private let finishedGroup = DispatchGroup()
    /// The I/O loop's run and one turn of it, as closures made where the transport's type is known:
    /// calling the loop through a protocol would run its unspecialized generic code (a pipe round
    /// trip took 28 µs that way, against 17).
    private var loop: (run: @Sendable () -> Void, step: @Sendable (Int32?) -> Bool)?

    /// A pool of worker processes, reached through pipes.
    convenience init(settings: Settings) throws {
        try self.init(settings: settings) { engine in PipeTransport(settings: settings, wake: engine.wake) }
    }

    /// A pool whose workers `transport` reaches: pipes to processes, or memory in tests, which
    /// may also give the time (`now`).
    init<Transport: WorkerTransport>(
        settings: Settings, transport: (ProcessPoolEngine) -> Transport,
        now: @escaping () -> ContinuousClock.Instant = { .now }
    ) throws {
        self.settings = settings
        do {
            wake = try WakeSignal()
        } catch {
            throw ClusterFuturesError(.brokenExecutor, "the process pool could not start: \(error.message)")
        }
        let loop = PoolIOLoop(engine: self, transport: transport(self), now: now)
        try loop.spawnInitialWorkers()
        self.loop = ({ loop.run() }, { loop.step(waiting: $0) })
    }

    /// One turn of the I/O loop on the calling thread, waiting at most `milliseconds`, for tests
    /// that run a pool without its I/O thread (``start()`` not called). Returns false once the
    /// pool has finished.
    func step(waiting milliseconds: Int32 = 0) -> Bool {
        guard let loop else { return false }
        if loop.step(milliseconds) { return true }
        self.loop = nil
        return false
    }

    /// Starts the I/O thread.
    func start() {
        guard let loop else { return }
        finishedGroup.enter()
        Self.running.add(self)
        Self.reportsStopSignals
        let thread = Thread { [self] in
            shared.withLock { $0.ioThread = pthread_self() }
            loop.run()
            self.loop = nil
            Self.running.remove(self)
            finishedGroup.leave()
        }
        thread.name = "ClusterFutures.LocalProcessPoolExecutor"
        StopSignals.start(thread)
    }

    /// Queues a job for the next free worker.
    func enqueue(_ job: Job) throws(ClusterFuturesError) {
        let mustWake: Bool = try shared.withLock { (state) throws(ClusterFuturesError) in
            if let refusal = state.phase.refusal(stopped: Self.shutDownError) { throw refusal }
            state.queue.append(job, for: state.lane)
            defer { state.ioSleeping = false }
            return state.ioSleeping
        }
        if mustWake { wake.signal() }
    }

    /// What a submit after shutdown is told.
    static var shutDownError: ClusterFuturesError {
        ClusterFuturesError(.executorShutDown, "the process pool was shut down; submit is not allowed after shutdown")
    }

    var isShutDown: Bool { shared.withLock { !$0.phase.takesWork } }

    /// Stops accepting work; see ``Executor/shutdown(wait:cancelFutures:)``.
    func shutdown(wait: Bool, cancelFutures: Bool) {
        let cancelled: [Job] = shared.withLock { state in
            state.phase.drain()
            guard cancelFutures else { return [] }
            state.cancelUnsent = true
            return state.queue.removeAll(of: state.lane)
        }
        for job in cancelled { job.cancel() }
        wake.signal()
        if wait { waitUntilFinished() }
    }

    /// Stops every worker with `signal` now: queued work is cancelled, running work fails.
    func terminate(signal: Int32, by caller: String) {
        let cancelled: [Job] = shared.withLock { state in
            state.phase.terminate(signal: signal, by: caller)
            state.cancelUnsent = true
            return state.queue.removeAll(of: state.lane)
        }
        for job in cancelled { job.cancel() }
        wake.signal()
        waitUntilFinished()
    }

    /// The pools whose I/O thread runs. When the program exits they finish their work first.
    private static let running = RunningPools()

    /// Every pool still running, as the program exits: each runs what was submitted to it to
    /// completion (a pool shut down with `cancelFutures` has nothing left), then stops its
    /// workers, as Python's executors do at interpreter exit. Pending work is never dropped
    /// silently.
    fileprivate static func finishAtExit() {
        for engine in running.all {
            let pending = engine.shared.withLock { $0.queue.count }
            if pending > 0 {
                engine.settings.logger.info("running \(pending) queued tasks of the process pool before the program exits")
            }
            engine.shutdown(wait: true, cancelFutures: false)
        }
    }

    /// Registers ``stopEveryPool(signal:)`` with ``StopSignals``, once, when the first pool starts.
    private static let reportsStopSignals: Void = StopSignals.onStop { stopEveryPool(signal: $0) }

    /// A stop signal (SIGINT or SIGTERM, left to its default action, named `name`) is ending the
    /// program: every running pool says in one line what became of its tasks, and stops its workers.
    static func stopEveryPool(signal name: String) {
        for engine in running.all {
            let queued = engine.shared.withLock { $0.queue.count }
            let workers = WorkTally.counted(engine.settings.workers, "worker")
            engine.settings.logger.notice("\(engine.tally.stopLine(signal: name, stopping: "stopping the process pool's \(workers)", queued: queued))")
            engine.terminate(signal: SIGKILL, by: name)
        }
    }

    /// Blocks until the I/O thread has stopped every worker and ended; returns at once when called
    /// on the I/O thread itself (from a done-callback), which would otherwise wait for itself.
    private func waitUntilFinished() {
        let onIOThread = shared.withLock { state in state.ioThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
        if !onIOThread { finishedGroup.wait() }
    }
}

/// The process pools whose I/O thread runs, for the exit handler; registered on first use.
private final class RunningPools: Sendable {
    private let engines = Mutex<[ObjectIdentifier: ProcessPoolEngine]>([:])
    /// The exit handler, registered once, on first use (a `static let` is initialized once).
    private static let exitHandler: Void = { atexit { ProcessPoolEngine.finishAtExit() } }()

    func add(_ engine: ProcessPoolEngine) {
        Self.exitHandler
        engines.withLock { $0[ObjectIdentifier(engine)] = engine }
    }

    func remove(_ engine: ProcessPoolEngine) {
        engines.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(engine)) }
    }

    var all: [ProcessPoolEngine] { engines.withLock { Array($0.values) } }
}

/// A registered function that runs once in every worker before its first task: the worker-setup
/// hook of both pools (`LocalProcessPoolExecutor` and `MPIPoolExecutor`, as their
/// `Configuration.initializer`).
///
/// It runs in the worker after its logging is set up, so what it logs reaches the pool's logger
/// like a task's records. Use it for what every worker needs before it runs tasks: reading a
/// configuration file, opening a connection, setting up the logger the tasks use.
///
/// ```swift
/// enum WorkerState {
///     nonisolated(unsafe) static var settings = Settings()
///     nonisolated(unsafe) static var logger = Logger(label: "simulation")
/// }
///
/// struct SetUpWorker: RemoteFunction {
///     func callAsFunction(_ path: String) throws -> Bool {
///         WorkerState.settings = try Settings(contentsOf: path)
///         WorkerState.logger[metadataKey: "run"] = "\(WorkerState.settings.run)"
///         WorkerState.logger.info("worker ready")      // reaches the pool's logger
///         return true
///     }
/// }
/// ```
///
/// ```swift
/// var configuration = LocalProcessPoolExecutor.Configuration()
/// configuration.initializer = try WorkerInitializer(SetUpWorker(), "/etc/simulation.json")
/// let pool = try LocalProcessPoolExecutor(configuration)
/// ```
///
/// (Register `SetUpWorker` with the program's other functions. The pool's process never runs it;
/// in a process-pool worker it runs as each worker starts, and again in each replacement; on an
/// MPI worker rank before the first task of that executor there.)
public struct WorkerInitializer: Sendable {
    let identity: FunctionRegistry.Identity
    let message: TaskMessage

    /// Runs `function(input)` in every worker as it starts. If it throws (or the worker dies in it),
    /// the executor is broken: queued and later submits fail with an error that says why.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/unregisteredFunction`` if `F` is not
    ///   registered, or ``ClusterFuturesError/Code-swift.struct/encodingFailed`` if the input cannot
    ///   be encoded.
    public init<F: RemoteFunction>(_ function: F, _ input: F.Input, registry: FunctionRegistry = .shared) throws(ClusterFuturesError) {
        let request = try CallRequest(function: function, inputs: [input])
        if let failure = request.encodingFailures[0] { throw failure }
        identity = try registry.requireRegistered(F.self)
        message = TaskMessage(prefix: identity.taskPrefix, request: request.bytes)
    }

    /// The task prefix naming the function (see ``Job/taskPrefix``).
    @_spi(ExecutorImplementation)
    public var taskPrefix: [UInt8] { Array(message.prefix) }

    /// The function type (see ``Job/functionType``).
    @_spi(ExecutorImplementation)
    public var functionType: ObjectIdentifier { identity.type }

    /// The encoded request.
    @_spi(ExecutorImplementation)
    public var request: [UInt8] { Array(message.request) }

    /// The registered name of the function, for messages.
    @_spi(ExecutorImplementation)
    public var name: String { identity.name }

    /// Why the initializer failed, from its encoded reply; nil when it succeeded.
    @_spi(ExecutorImplementation)
    public static func failure(inReply reply: [UInt8]) -> String? {
        CallReply.firstFailure(in: reply)
    }
}
