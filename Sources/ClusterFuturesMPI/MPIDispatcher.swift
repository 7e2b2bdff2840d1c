@_spi(ExecutorImplementation) import ClusterFutures
import DequeModule
import CClusterFuturesSystem
import ClusterFuturesWire
import Dispatch
import Foundation
import Logging
import MPI
import Synchronization

/// Rank 0's side of the MPI pool: one thread that owns every worker rank, hands queued jobs to idle
/// workers (first in, first out, taking turns between executors), and completes futures from the
/// results. Every ``MPIPoolExecutor`` in the program is a ``Client`` of the one dispatcher.
///
/// It never blocks in MPI: results are found with `MPI_Improbe`, large tasks leave with `MPI_Isend`,
/// and between polls it spins briefly, then sleeps on an eventfd that a submit wakes at once.
///
/// A thread waiting for a future of the pool helps: while it spins it runs rounds of the same
/// loop (``help()``), so a quick task's request and reply need no hand-off between threads.
// @unchecked Sendable: `shared` is a Mutex; the mutable progress state (the worker slots,
// `functionNumbers`, `pendingSends`, `received`, `locallyInitialized`) is
// touched only inside `progress`'s lock, by the dispatcher thread or a helping waiter; `backoff`
// only on the dispatcher thread; the rest is immutable.
final class MPIDispatcher: FutureWaitHelper, @unchecked Sendable {
    /// One executor's share of the pool: its lane of the shared ``SubmissionQueue``, its initializer,
    /// its outstanding work.
    // @unchecked Sendable: `broken` is touched only inside the dispatcher's `shared` lock (see
    // below), and the lane only through the queue, under the same lock; the rest is immutable.
    // @exclusivity(unchecked) as for the progress state below: the lock already rules out
    // overlapping accesses.
    final class Client: SubmissionClient, @unchecked Sendable {
        let id: Int
        /// Entered for every job submitted, left when its future is done.
        let outstanding = DispatchGroup()
        let initializer: WorkerInitializer?
        /// The executor's logger: its problems, and the records its tasks log on the worker ranks.
        let logger: Logger
        /// Jobs submitted and not yet sent.
        let lane = SubmissionLane()
        /// Set when the client's initializer failed on a worker. Set with both locks held (inside
        /// `progress`'s, under `shared`'s), so either one is enough to read it.
        @exclusivity(unchecked) var broken: ClusterFuturesError?

        init(id: Int, initializer: WorkerInitializer?, logger: Logger) {
            self.id = id
            self.initializer = initializer
            self.logger = logger
        }
    }

    struct Shared {
        /// The jobs queued, by client, which take turns; shut-down clients are forgotten once
        /// nothing is queued.
        var queue = SubmissionQueue<Client>()
        var nextClientID = 1
        /// The dispatcher thread is asleep: a submit that cannot send its job at once wakes it.
        var sleeping = false
        /// It sleeps without a timeout (nothing was out): a submit wakes it even when it sent its
        /// job itself, since someone must poll for the result.
        var parked = false
        /// Running, or draining once the pool is finishing (at exit, or when the program finalizes
        /// MPI: what was submitted runs, no new executor or job is taken); and broken, when the whole
        /// pool can no longer run tasks. (An executor's own shutdown is its lane's, in `queue`.)
        var phase = PoolPhase()
        var finishing: Bool { phase.stage != .running }
        var thread: pthread_t?
    }

    /// What a worker rank was sent and has not answered, in its ``TasksInFlight`` under its number
    /// among the tasks sent to the worker, from 1 (see `TaskClaim`).
    struct Sent {
        enum Kind {
            case job(Job)
            case initializer
        }
        let kind: Kind
        let client: Client
    }

    // @exclusivity(unchecked) here and on the progress state below: all of it is touched only
    // inside `progress`'s lock, which already rules out overlapping accesses; the dynamic checks
    // cost a measurable share of a round trip, paid on every poll.
    final class WorkerSlot: TrackedWorker {
        let rank: Int
        /// The hello, once received and accepted.
        @exclusivity(unchecked) var hello: WorkerHello?
        /// Whether its hello arrived (accepted or not).
        @exclusivity(unchecked) var saidHello = false
        @exclusivity(unchecked) var origin: TaskOrigin
        let tasks = TasksInFlight<Sent>(windowLimit: MPIDispatcher.windowLimit, reclaimable: true)
        /// The functions whose definition it was sent.
        @exclusivity(unchecked) var defined = FunctionsDefined()
        @exclusivity(unchecked) var initializedClients = Set<Int>()
        /// The out-of-band buffers of its next result, received just before it.
        @exclusivity(unchecked) var buffers: [WireBuffer] = []
        /// Task messages sent to it so far: the last one's number.
        @exclusivity(unchecked) var sentTasks: UInt64 = 0
        /// A ``ReclaimRequest`` was sent and not answered: it is sent nothing until the answer,
        /// unless it has answered every task it was sent (then the request takes back nothing, and
        /// what it is sent now comes after the tasks the request named).
        @exclusivity(unchecked) var reclaimPending = false
        /// When its last message arrived.
        @exclusivity(unchecked) var lastHeard: ContinuousClock.Instant?
        /// The log level it was last sent (``PoolTag/logLevel``), and the client it was sent for,
        /// whose logger takes the records it sends while it runs no task.
        @exclusivity(unchecked) var logLevel: Logger.Level?
        @exclusivity(unchecked) var logClient: Client?

        var acceptsTasks: Bool { hello != nil && (!reclaimPending || tasks.isEmpty) }

        init(rank: Int, host: String = "?") {
            self.rank = rank
            self.origin = TaskOrigin(executor: "mpi", host: host, pid: 0, worker: rank - 1, rank: rank)
        }
    }

    /// The most tasks a worker rank is sent ahead of its results.
    static let windowLimit = 32
    /// Requests up to this size are sent with a blocking `MPI_Send`, which returns at once for them
    /// (MPI's eager protocol); larger ones too when the worker has nothing else in flight, and
    /// otherwise with `MPI_Isend`, so one never holds up the others.
    static let eagerLimit = 64 << 10
    /// How the dispatcher polls while tasks are out: 100 µs of spinning after activity, then sleeps
    /// that double up to 2 ms, and in a long wait up to a fiftieth of it, at most 20 ms (a submit
    /// ends a sleep at once).
    static let spin: Duration = .microseconds(100)
    /// A worker rank with tasks that has sent nothing for this long (no result, and no
    /// ``PoolTag/alive``, which a rank sends every second while a task runs) is lost: killed,
    /// frozen, or on a host that went down or was cut off. `CLUSTERFUTURES_LOSS_TIMEOUT` seconds,
    /// else 10.
    static let lossTimeout: Duration = .seconds(lossTimeoutSeconds)
    static let lossTimeoutSeconds = DurationSetting.seconds("CLUSTERFUTURES_LOSS_TIMEOUT", in: Double.leastNonzeroMagnitude..<1e6) ?? 10
    static let maxSleep: Duration = .milliseconds(2)

    /// The worker ranks: MPI, or memory in tests.
    let ranks: any RankTransport
    /// The time: the clock's, or a test's.
    let now: @Sendable () -> ContinuousClock.Instant
    let worldSize: Int
    let shared: Mutex<Shared>
    /// ``Shared/queuedCount``, readable without `shared`'s lock.
    let queued: SubmissionCount
    let wake: WakeSignal
    let finished = DispatchGroup()
    let logger = MPIPoolExecutor.logger

    /// Held for a round of progress: polling MPI, sending, completing.
    let progress = Mutex(())

    /// One slot per worker rank (none in a world of one). The array never changes; the slots'
    /// state is progress state.
    let workers: [WorkerSlot]

    // Progress state, only inside `progress`'s lock (see WorkerSlot for @exclusivity).
    /// Every function's number, as the workers know it.
    @exclusivity(unchecked) var functionNumbers = FunctionNumbers()
    @exclusivity(unchecked) var pendingSends: [any PendingSend] = []
    /// Results received (or, in a world of one, computed) in this round, and jobs the pool failed,
    /// completed once the lock is released (``makeProgress(_:)``): their done-callbacks may call
    /// the pool, or finalize MPI.
    @exclusivity(unchecked) var received: [Received] = []
    /// A result to complete. A struct, not a tuple: an array of tuples is copied and destroyed
    /// through the runtime's generic tuple witnesses, which cost more than the rest of a round.
    struct Received {
        let job: Job
        let client: Client
        let outcome: Outcome

        enum Outcome {
            /// The encoded reply, and where the job ran.
            case reply(Payload, TaskOrigin)
            /// The pool's own error: an initializer that failed, a send that failed, a broken pool;
            /// and where the job ran, if it did.
            case failure(ClusterFuturesError, TaskOrigin?)
            /// The pool broke while the job was in flight to `TaskOrigin`. The job fails now, and
            /// stays counted until its result, which is dropped, comes in.
            case failureInFlight(ClusterFuturesError, TaskOrigin)

            /// Whether completing it ends the job's share of its client's outstanding work.
            var endsJob: Bool {
                if case .failureInFlight = self { false } else { true }
            }
        }
    }
    /// Jobs taken back from workers busy with a long task, to go to the next free one first.
    @exclusivity(unchecked) var reclaimed = Deque<(Job, Client)>()
    /// Worker ranks whose hello has not arrived yet.
    @exclusivity(unchecked) var awaitingHello: Int
    /// In a world of one: the clients whose initializer has run here.
    @exclusivity(unchecked) var locallyInitialized = Set<Int>()
    /// Marks the threads completing futures in ``makeProgress(_:)``, where done-callbacks run.
    let completing = ThreadMark()
    /// Set once, on the dispatcher thread, when the workers were told to stop.
    let workersStopped = Atomic<Bool>(false)
    /// Whether the workers were told to stop (MPI may be finalized from then on): no thread calls
    /// MPI for the pool after it.
    var stoppedWorkers: Bool { workersStopped.load(ordering: .acquiring) }
    /// Only on the dispatcher thread.
    @exclusivity(unchecked) var backoff = IdleBackoff(spin: MPIDispatcher.spin, maxSleep: MPIDispatcher.maxSleep)
    /// When the dispatcher was made: a worker rank that has not said hello ``lossTimeout`` later
    /// is lost.
    let startedAt: ContinuousClock.Instant
    /// Only on the dispatcher thread: when it last looked for lost workers.
    @exclusivity(unchecked) var lastLossCheck: ContinuousClock.Instant?
    let localOrigin: TaskOrigin

    /// Whether the last task took less than ``helpWorthwhile``: only then does a thread waiting
    /// for a result spin and help (for up to a millisecond); after long tasks it sleeps at once.
    let tasksAreQuick = Atomic<Bool>(true)
    static let helpWorthwhile: Duration = .milliseconds(1)

    /// How many threads are helping now.
    let helpers = Atomic<Int>(0)

    /// What became of the pool's tasks, for the line a stop signal logs (``reportStop(_:)``).
    let tally = WorkTally()

    /// The dispatcher of a world of `worldSize` ranks reached through `ranks`, with its thread;
    /// or, for tests (`startsThread` false), without one: the test makes the rounds
    /// (``stepForTesting()``), and may give the time (`now`).
    init(ranks: any RankTransport, worldSize: Int, hosts: [String] = [],
         now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
         startsThread: Bool = true) throws(ClusterFuturesError) {
        self.ranks = ranks
        self.now = now
        self.worldSize = worldSize
        let state = Shared()
        self.queued = state.queue.counted
        self.shared = Mutex(state)
        self.wake = try WakeSignal()
        self.workers = worldSize > 1 ? (1..<worldSize).map { WorkerSlot(rank: $0, host: $0 < hosts.count ? hosts[$0] : "?") } : []
        self.startedAt = now()
        self.awaitingHello = max(0, worldSize - 1)
        self.localOrigin = .currentProcess(executor: "mpi", rank: 0)
        // Every large task and result passes through rank 0: as on the workers, keep freed memory
        // rather than fault in fresh pages for each message (a 1 MiB echo takes half the time).
        guard startsThread else { return }
        if worldSize > 1 { cf_keep_freed_memory() }
        finished.enter()
        let thread = Thread { [self] in
            shared.withLock { $0.thread = pthread_self() }
            run()
            finished.leave()
        }
        thread.name = "ClusterFutures.MPIPoolExecutor"
        StopSignals.start(thread)
        StopSignals.onStop { [weak self] signal in self?.reportStop(signal) }
    }

    /// A stop signal (`name`, left to its default action) is ending the program: one line says what
    /// became of the pool's tasks. The worker ranks end with the job: Hydra passes Ctrl-C on to
    /// every rank, and ends the job when rank 0 ends by a signal.
    func reportStop(_ name: String) {
        guard !stoppedWorkers else { return }
        let ranks = WorkTally.counted(workers.count, "worker rank")
        logger.notice("\(tally.stopLine(signal: name, stopping: "stopping the MPI pool's \(ranks)", queued: queued.current))")
    }

    /// How many tasks run at once: the worker ranks, or 1 in a world of one process.
    var workerCount: Int { max(1, worldSize - 1) }

    // MARK: Clients (any thread)

    func addClient(initializer: WorkerInitializer?, logger: Logger = MPIPoolExecutor.logger) throws(ClusterFuturesError) -> Client {
        try shared.withLock { (state) throws(ClusterFuturesError) in
            if let refusal = state.phase.refusal(stopped: ClusterFuturesError(
                .executorShutDown, "the MPI pool has stopped: MPI was finalized, by the program or at exit")) {
                throw refusal
            }
            let client = Client(id: state.nextClientID, initializer: initializer, logger: logger)
            state.nextClientID += 1
            state.queue.add(client)
            return client
        }
    }

    /// Why `client` cannot take work now, or nil.
    func refusal(for client: Client) -> ClusterFuturesError? {
        shared.withLock { state in Self.refusal(for: client, in: state) }
    }

    static func refusal(for client: Client, in state: Shared) -> ClusterFuturesError? {
        // The pool's failure, then the executor's own, come before its having been shut down.
        if let broken = state.phase.broken ?? client.broken { return broken }
        guard !state.queue.isShutDown(client), state.phase.takesWork else {
            return ClusterFuturesError(.executorShutDown, "the MPI pool executor was shut down; submit is not allowed after shutdown")
        }
        return nil
    }

    /// Queues `job`, then sends it at once from the calling thread when no other thread is making
    /// progress; otherwise wakes the dispatcher thread if it sleeps.
    func enqueue(_ job: Job, for client: Client) throws(ClusterFuturesError) {
        try shared.withLock { (state) throws(ClusterFuturesError) in
            if let refusal = Self.refusal(for: client, in: state) { throw refusal }
            client.outstanding.enter()
            state.queue.append(job, for: client)
        }
        // In a world of one, sending is running the task: only the dispatcher thread does that.
        let dispatched = workers.isEmpty ? nil : makeProgress { () -> Bool in
            guard !stoppedWorkers else { return false }
            do {
                let sent = try dispatch(onDispatcherThread: false)
                if sent { countTasks() }
                return sent
            } catch {
                breakPool(ClusterFuturesError(.brokenExecutor, "MPI failed on rank 0: \(error)"))
                return false
            }
        }
        let mustWake = shared.withLock { state in
            // A dispatcher asleep with a timeout will look at a job that left; one asleep without a
            // timeout must hear of it, and a sleeping one of a job still queued.
            guard state.sleeping && (state.parked || dispatched != true || !state.queue.isEmpty) else { return false }
            state.sleeping = false
            state.parked = false
            return true
        }
        if mustWake { wake.signal() }
    }

    /// Stops `client` taking work; see `Executor.shutdown(wait:cancelFutures:)`.
    func shutdown(_ client: Client, wait: Bool, cancelFutures: Bool) {
        let cancelled: [Job] = shared.withLock { state in
            state.queue.shutDown(client)
            return cancelFutures ? state.queue.removeAll(of: client) : []
        }
        for job in cancelled {
            job.cancel()
            client.outstanding.leave()
        }
        wake.signal()
        // A thread completing the pool's futures (a done-callback calls this) cannot wait: the
        // futures it would wait for include the one whose callback runs, and results only it or the
        // dispatcher thread, standing by for it, would receive. As the process pool does from its
        // I/O thread, it returns at once; the work still finishes.
        if wait && !isDispatcherThread && !completing.isMarked { client.outstanding.wait() }
    }

    var isDispatcherThread: Bool {
        shared.withLock { state in state.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// At exit, or when the program finalizes MPI: runs every job already submitted to completion
    /// (as Python does at interpreter exit; an executor shut down with `cancelFutures` has none
    /// left), stops every worker, and returns when the workers were told to stop. No new executor
    /// or job is accepted from here on.
    ///
    /// From any thread but the dispatcher's, that is when the dispatcher thread has ended. On the
    /// dispatcher thread (a done-callback that finalizes MPI), this thread cannot wait for its own
    /// loop: it makes the rounds itself, and the loop ends when the callback returns.
    func finish() {
        let queued: Int = shared.withLock { state in
            state.phase.drain()
            return state.queue.count
        }
        if queued > 0 {
            logger.info("running \(queued) queued tasks of the MPI pool before MPI is finalized")
        }
        wake.signal()
        if isDispatcherThread {
            finishOnDispatcherThread()
        } else {
            finished.wait()
        }
    }

    /// One round of progress on the calling thread, for tests of a dispatcher made without its
    /// thread: results in, sends completed, tasks taken back, queued jobs out, futures completed.
    /// Returns whether anything happened.
    @discardableResult
    func stepForTesting() -> Bool {
        makeProgress { round(onDispatcherThread: true) } ?? false
    }

    /// ``finish()`` for a dispatcher made without its thread: on the calling thread, rounds until
    /// nothing is out, then the workers are told to stop. The test's ranks must answer meanwhile.
    func finishForTesting() {
        shared.withLock { $0.phase.drain() }
        finishOnDispatcherThread()
    }

    /// ``finish()`` called from the dispatcher thread's own loop: rounds of progress until nothing
    /// is out, then the workers are told to stop.
    func finishOnDispatcherThread() {
        while makeProgress({ () -> Bool in
            _ = round(onDispatcherThread: true)
            return isQuiet && queued.current == 0
        }) != true {
            sched_yield()
        }
        stopWorkers()
    }

    /// Tells the workers to stop, once, from the dispatcher thread; the loop ends after it.
    func stopWorkers() {
        guard !stoppedWorkers else { return }
        workersStopped.store(true, ordering: .releasing)
        let owing = progress.withLock { _ in Set(workers.filter { !$0.saidHello }.map(\.rank)) }
        Self.stopWorkers(on: ranks, size: worldSize, owingHello: owing) { [self] rank, record in
            progress.withLock { _ in
                guard rank >= 1, rank < worldSize, let violation = logForwarded(record, from: workers[rank - 1]) else { return }
                logger.error("\(violation.message)")
            }
        }
    }

    /// How long rank 0 waits, after telling the workers to stop, for each to say that it sends no
    /// more log records (``PoolTag/logEnd``): it answers at once unless it is lost, and then the
    /// job does not end well anyway.
    static let logEndTimeout: Duration = .seconds(2)

    /// Tells the worker ranks to stop, after taking the hello of each rank in `owingHello` (every
    /// message must be received before MPI is finalized); then takes the log records still on
    /// their way, handing each to `logRecord` (nil: dropped) with the rank that sent it, until
    /// every rank said it sends no more (or ``logEndTimeout`` has passed).
    static func stopWorkers(on ranks: any RankTransport, size: Int, owingHello: Set<Int>,
                            logRecord: ((_ rank: Int, _ bytes: [UInt8]) -> Void)? = nil) {
        for rank in 1..<max(1, size) {
            if owingHello.contains(rank) {
                _ = try? ranks.receive(from: rank, tag: PoolTag.hello)
            }
            try? ranks.send(bytes: [], to: rank, tag: PoolTag.stop)
        }
        var logging = Set(1..<max(1, size))
        let deadline = ContinuousClock.now.advanced(by: logEndTimeout)
        while !logging.isEmpty && ContinuousClock.now < deadline {
            let message: (bytes: [UInt8], source: Int, tag: Int)?
            do {
                message = try ranks.receiveIfAvailable()
            } catch {
                return
            }
            guard let (bytes, source, tag) = message else {
                usleep(200)
                continue
            }
            switch tag {
            case PoolTag.log: logRecord?(source, bytes)
            case PoolTag.logEnd: logging.remove(source)
            default: break
            }
        }
    }
}
