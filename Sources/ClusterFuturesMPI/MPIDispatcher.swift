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
// `functionNumbers`, `lastFunctionNumber`, `pendingSends`, `received`, `locallyInitialized`) is
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
        /// Jobs submitted and not yet sent.
        let lane = SubmissionLane()
        /// Set when the client's initializer failed on a worker. Set with both locks held (inside
        /// `progress`'s, under `shared`'s), so either one is enough to read it.
        @exclusivity(unchecked) fileprivate var broken: ClusterFuturesError?

        init(id: Int, initializer: WorkerInitializer?) {
            self.id = id
            self.initializer = initializer
        }
    }

    struct Shared {
        /// The jobs queued, by client, which take turns; shut-down clients are forgotten once
        /// nothing is queued.
        fileprivate var queue = SubmissionQueue<Client>()
        fileprivate var nextClientID = 1
        /// The dispatcher thread is asleep: a submit that cannot send its job at once wakes it.
        var sleeping = false
        /// It sleeps without a timeout (nothing was out): a submit wakes it even when it sent its
        /// job itself, since someone must poll for the result.
        var parked = false
        var finishing = false
        /// Set when the whole pool can no longer run tasks.
        var broken: ClusterFuturesError?
        var thread: pthread_t?
    }

    /// What a worker rank was sent and has not answered, in its ``TasksInFlight`` under its number
    /// among the tasks sent to the worker, from 1 (see `TaskClaim`).
    private struct Sent {
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
    private final class WorkerSlot: DispatchCandidate {
        let rank: Int
        /// The hello, once received and accepted.
        @exclusivity(unchecked) var hello: WorkerHello?
        /// Whether its hello arrived (accepted or not).
        @exclusivity(unchecked) var saidHello = false
        @exclusivity(unchecked) var origin: TaskOrigin
        let tasks = TasksInFlight<Sent>(windowLimit: MPIDispatcher.windowLimit, reclaimable: true)
        /// By function number: whether its definition was sent (an array: looked at on every send).
        @exclusivity(unchecked) var defined: [Bool] = []
        @exclusivity(unchecked) var initializedClients = Set<Int>()
        /// The out-of-band buffers of its next result, received just before it.
        @exclusivity(unchecked) var buffers: [WireBuffer] = []
        /// Task messages sent to it so far: the last one's number.
        @exclusivity(unchecked) var sentTasks: UInt64 = 0
        /// A ``ReclaimRequest`` was sent and not answered: it is sent nothing until the answer,
        /// unless it has answered every task it was sent (then the request takes back nothing, and
        /// what it is sent now comes after the tasks the request named).
        @exclusivity(unchecked) var reclaimPending = false

        var acceptsTasks: Bool { hello != nil && (!reclaimPending || tasks.isEmpty) }
        var tasksInFlight: Int { tasks.count }
        var window: PipelineWindow { tasks.window }
        var oldestSentAt: ContinuousClock.Instant? { tasks.oldestSentAt }
        var nextReclaimAttempt: ContinuousClock.Instant? { tasks.nextReclaimAttempt }

        init(rank: Int) {
            self.rank = rank
            self.origin = TaskOrigin(executor: "mpi", host: "?", pid: 0, worker: rank - 1, rank: rank)
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
    static let maxSleep: Duration = .milliseconds(2)

    /// The worker ranks: MPI, or memory in tests.
    let ranks: any RankTransport
    /// The time: the clock's, or a test's.
    private let now: @Sendable () -> ContinuousClock.Instant
    let worldSize: Int
    let shared: Mutex<Shared>
    /// ``Shared/queuedCount``, readable without `shared`'s lock.
    private let queued: SubmissionCount
    let wake: WakeSignal
    private let finished = DispatchGroup()
    private let logger = MPIPoolExecutor.logger

    /// Held for a round of progress: polling MPI, sending, completing.
    private let progress = Mutex(())

    /// One slot per worker rank (none in a world of one). The array never changes; the slots'
    /// state is progress state.
    private let workers: [WorkerSlot]

    // Progress state, only inside `progress`'s lock (see WorkerSlot for @exclusivity).
    @exclusivity(unchecked) private var functionNumbers: [ObjectIdentifier: Int] = [:]
    /// The function last looked up in `functionNumbers`, and its number.
    @exclusivity(unchecked) private var lastFunctionNumber: (function: ObjectIdentifier, number: Int)?
    @exclusivity(unchecked) private var pendingSends: [any PendingSend] = []
    /// Results received (or, in a world of one, computed) in this round, and jobs the pool failed,
    /// completed once the lock is released (``makeProgress(_:)``): their done-callbacks may call
    /// the pool, or finalize MPI.
    @exclusivity(unchecked) private var received: [Received] = []
    /// A result to complete. A struct, not a tuple: an array of tuples is copied and destroyed
    /// through the runtime's generic tuple witnesses, which cost more than the rest of a round.
    private struct Received {
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
    @exclusivity(unchecked) private var reclaimed = Deque<(Job, Client)>()
    /// Worker ranks whose hello has not arrived yet.
    @exclusivity(unchecked) private var awaitingHello: Int
    /// In a world of one: the clients whose initializer has run here.
    @exclusivity(unchecked) private var locallyInitialized = Set<Int>()
    /// Marks the threads completing futures in ``makeProgress(_:)``, where done-callbacks run.
    private let completing = ThreadMark()
    /// Set once, on the dispatcher thread, when the workers were told to stop.
    private let workersStopped = Atomic<Bool>(false)
    /// Whether the workers were told to stop (MPI may be finalized from then on): no thread calls
    /// MPI for the pool after it.
    private var stoppedWorkers: Bool { workersStopped.load(ordering: .acquiring) }
    /// Only on the dispatcher thread.
    @exclusivity(unchecked) private var backoff = IdleBackoff(spin: MPIDispatcher.spin, maxSleep: MPIDispatcher.maxSleep)
    private let localOrigin: TaskOrigin

    /// The dispatcher of a world of `worldSize` ranks reached through `ranks`, with its thread;
    /// or, for tests (`startsThread` false), without one: the test makes the rounds
    /// (``stepForTesting()``), and may give the time (`now`).
    init(ranks: any RankTransport, worldSize: Int, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
         startsThread: Bool = true) throws(ClusterFuturesError) {
        self.ranks = ranks
        self.now = now
        self.worldSize = worldSize
        let state = Shared()
        self.queued = state.queue.counted
        self.shared = Mutex(state)
        self.wake = try WakeSignal()
        self.workers = worldSize > 1 ? (1..<worldSize).map(WorkerSlot.init(rank:)) : []
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
        thread.start()
    }

    /// How many tasks run at once: the worker ranks, or 1 in a world of one process.
    var numWorkers: Int { max(1, worldSize - 1) }

    // MARK: Clients (any thread)

    func addClient(initializer: WorkerInitializer?) throws(ClusterFuturesError) -> Client {
        try shared.withLock { (state) throws(ClusterFuturesError) in
            if let broken = state.broken { throw broken }
            if state.finishing {
                throw ClusterFuturesError(.executorShutDown, "the MPI pool has stopped: MPI was finalized, by the program or at exit")
            }
            let client = Client(id: state.nextClientID, initializer: initializer)
            state.nextClientID += 1
            state.queue.add(client)
            return client
        }
    }

    /// Why `client` cannot take work now, or nil.
    func refusal(for client: Client) -> ClusterFuturesError? {
        shared.withLock { state in Self.refusal(for: client, in: state) }
    }

    private static func refusal(for client: Client, in state: Shared) -> ClusterFuturesError? {
        if let broken = state.broken ?? client.broken { return broken }
        guard !state.queue.isShutDown(client), !state.finishing else {
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
                return try dispatch(onDispatcherThread: false)
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

    private var isDispatcherThread: Bool {
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
            state.finishing = true
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
        shared.withLock { $0.finishing = true }
        finishOnDispatcherThread()
    }

    /// ``finish()`` called from the dispatcher thread's own loop: rounds of progress until nothing
    /// is out, then the workers are told to stop.
    private func finishOnDispatcherThread() {
        while makeProgress({ () -> Bool in
            _ = round(onDispatcherThread: true)
            return isQuiet && queued.current == 0
        }) != true {
            sched_yield()
        }
        stopWorkers()
    }

    /// Tells the workers to stop, once, from the dispatcher thread; the loop ends after it.
    private func stopWorkers() {
        guard !stoppedWorkers else { return }
        workersStopped.store(true, ordering: .releasing)
        let owing = progress.withLock { _ in Set(workers.filter { !$0.saidHello }.map(\.rank)) }
        Self.stopWorkers(on: ranks, size: worldSize, owingHello: owing)
    }

    /// Tells the worker ranks to stop, after taking the hello of each rank in `owingHello` (every
    /// message must be received before MPI is finalized).
    static func stopWorkers(on ranks: any RankTransport, size: Int, owingHello: Set<Int>) {
        for rank in 1..<max(1, size) {
            if owingHello.contains(rank) {
                _ = try? ranks.receive(from: rank, tag: PoolTag.hello)
            }
            try? ranks.send(bytes: [], to: rank, tag: PoolTag.stop)
        }
    }

    // MARK: The loop (dispatcher thread)

    private func run() {
        // How long to stand by while threads waiting for futures poll; see `standBy(for:)`.
        var standBy = Self.maxSleep
        // Ends once the workers were told to stop: here, or in a done-callback this loop ran that
        // finalized MPI (``finish()``), after which it must not call MPI again.
        while !stoppedWorkers {
            // Stand by while threads waiting for futures poll, unless the pool is finishing: a
            // waiting thread that finalizes MPI from a done-callback waits for this loop to end.
            if helpers.load(ordering: .relaxed) > 0 && !shared.withLock({ $0.finishing }) {
                standBy = self.standBy(for: standBy)
                continue
            }
            standBy = Self.maxSleep
            guard let active = makeProgress({ round(onDispatcherThread: true) }) else {
                sched_yield()
                continue
            }
            if stoppedWorkers { return }
            switch nextWait(afterActivity: active) {
            case .stop:
                stopWorkers()
                return
            case .poll:
                sched_yield()
            case .sleep(let timeout):
                sleepUntilWoken(timeout)
            }
        }
    }

    /// Leaves the cores to a thread waiting for a future, which polls for every result and sends
    /// queued jobs: sleeps until signalled or for `timeout`, and returns the next stand-by's timeout.
    ///
    /// The last helper to stop wakes this thread if tasks are out, and so does a submit that leaves
    /// a job queued; the timeout is a safety net for a task sent while nobody waited. It doubles
    /// while helpers keep polling, up to the back-off's ceiling: each wake-up puts one more thread
    /// on the CPUs that the waiting thread and the worker ranks spin on, and now and then costs a
    /// round trip hundreds of microseconds.
    private func standBy(for timeout: Duration) -> Duration {
        shared.withLock { $0.sleeping = true }
        sleepUntilWoken(timeout)
        // Results were just being polled for: when this thread takes over, it polls from the start
        // of its back-off, not with the long sleeps of a quiet pool.
        backoff.reset()
        return min(timeout * 2, backoff.ceiling)
    }

    /// Sleeps, marked `sleeping` by the caller, until woken or for `timeout` (nil: until woken), then
    /// marks the dispatcher thread awake.
    private func sleepUntilWoken(_ timeout: Duration?) {
        wake.wait(timeout: timeout)
        shared.withLock { state in
            state.sleeping = false
            state.parked = false
        }
    }

    /// Runs `body` inside `progress`'s lock if no other thread holds it, then, outside the lock,
    /// completes the futures whose results it received. Nil when the lock was taken.
    ///
    /// Completing outside the lock keeps decoding off the critical path and lets a done-callback
    /// wait for another future of the pool.
    private func makeProgress<Result>(_ body: () -> Result) -> Result? {
        guard let (result, received) = progress.withLockIfAvailable({ _ -> (Result, [Received]) in
            let result = body()
            // Handed over, not copied: a round that received nothing (most polls) allocates nothing.
            if received.isEmpty { return (result, []) }
            defer { received = [] }
            return (result, received)
        }) else { return nil }
        if received.isEmpty { return result }
        completing.marking {
            for done in received {
                switch done.outcome {
                case .reply(let reply, let origin): done.job.complete(reply: reply, origin: origin)
                case .failure(let error, let origin): done.job.fail(error, origin: origin)
                case .failureInFlight(let error, let origin): done.job.fail(error, origin: origin)
                }
                if done.outcome.endsJob { done.client.outstanding.leave() }
            }
        }
        return result
    }

    /// One round of progress, inside `progress`'s lock: results in, sends completed, queued jobs
    /// out. Returns whether anything happened.
    private func round(onDispatcherThread: Bool) -> Bool {
        // A thread still waiting for a result when a done-callback finalized MPI: nothing more comes.
        guard !stoppedWorkers else { return false }
        var active = false
        do {
            // A waiting thread takes one message a round, and looks at its future in between: one
            // more poll after its result would only delay it.
            active = try receiveResults(atMost: onDispatcherThread ? Int.max : 1) || active
            active = try completeSends() || active
            active = try reclaimSentAhead() || active
            active = try dispatch(onDispatcherThread: onDispatcherThread) || active
        } catch {
            breakPool(ClusterFuturesError(.brokenExecutor, "MPI failed on rank 0: \(error)"))
        }
        return active
    }

    /// What a thread waiting for one of the pool's futures does before it sleeps: it helps
    /// (``startHelping()``), runs rounds of progress while it spins (``help()``), and stops
    /// (``stopHelping()``). While any thread helps, the dispatcher thread stays asleep.
    func startHelping() -> Bool {
        guard tasksAreQuick.load(ordering: .relaxed) else { return false }
        helpers.add(1, ordering: .relaxed)
        return true
    }

    /// Whether the last task was quick (under `PipelineWindow.quickTask`, 200 µs): only then does a
    /// thread waiting for a result spin and help (for up to a millisecond); after longer tasks it
    /// sleeps at once. (Helping after 0.5 ms tasks, as a 1 ms threshold did, spun a core the worker
    /// ranks needed for the first millisecond of a map of 1.3 ms tasks on 2 cores.)
    private let tasksAreQuick = Atomic<Bool>(true)

    /// A round of progress if no other thread is making one, else a yield.
    ///
    /// Between rounds it pauses for less than a worker does: a round here also takes the progress
    /// lock, and the waiter looks at its future after each, which spaces the polls already. With 2
    /// spin-loop hints instead of 8, a result was noticed about 0.25 µs sooner (median 1.17 against
    /// 1.42 µs from the worker's send, over four interleaved runs of 20,000 round trips).
    func help() {
        switch makeProgress({ round(onDispatcherThread: false) }) {
        case nil: sched_yield()
        case false?: IdleBackoff.relax(pauses: 2)
        case true?: break
        }
    }

    /// Ends a ``startHelping()``. The last helper to stop wakes the dispatcher thread if tasks are
    /// out or queued, since nobody else polls for their results now. Never blocks: when another
    /// thread holds the progress lock, it wakes the dispatcher thread without looking.
    func stopHelping() {
        guard helpers.subtract(1, ordering: .relaxed).newValue == 0 else { return }
        guard let inFlight = progress.withLockIfAvailable({ _ in !isQuiet }) else {
            wake.signal()
            return
        }
        if inFlight || queued.current > 0 { wake.signal() }
    }

    /// How many threads are helping now.
    private let helpers = Atomic<Int>(0)

    /// Nothing sent and unanswered (a reclaim request included), nothing still leaving, nothing
    /// taken back and not sent again.
    private var isQuiet: Bool {
        pendingSends.isEmpty && reclaimed.isEmpty && workers.allSatisfy { $0.tasks.isEmpty && !$0.reclaimPending }
    }

    private enum Wait {
        /// The program is exiting and nothing is out: stop the workers and end the loop.
        case stop
        /// Yield and run another round at once.
        case poll
        /// Sleep until woken, or for at most the duration.
        case sleep(Duration?)
    }

    /// What the dispatcher thread does after a round (`afterActivity`: one in which something
    /// happened). Decided under both locks, so that the dispatcher never sleeps without a timeout
    /// while a job is queued or out: a job queued after this finds `sleeping` set and wakes it.
    private func nextWait(afterActivity: Bool) -> Wait {
        progress.withLock { _ in
            // Spin after activity only when an answer may come at once; while every worker runs a
            // long task, poll from sleeps sized to it.
            if afterActivity { backoff.reset(expectingAnswerIn: DispatchPolicy.expectedAnswer(among: workers)) }
            let expectingMessages = !isQuiet || workers.contains { !$0.saidHello }
            // Work that a worker could take now: a job queued while this round held the lock (its
            // submitter could not send it, and did not wake a dispatcher that was not asleep), or
            // one taken back. Another round goes at once. (A job queued while every worker's window
            // is full waits for a result, as below.)
            let canSend = workers.isEmpty || DispatchPolicy.target(among: workers, starting: awaitingHello, now: now) != nil
            return shared.withLock { state in
                if state.finishing && isQuiet && state.queue.isEmpty { return .stop }
                if canSend && state.broken == nil && (!state.queue.isEmpty || !reclaimed.isEmpty) { return .poll }
                // Results can only be polled for: just after activity poll again at once (the next
                // result usually follows within microseconds), then sleep in growing steps.
                if expectingMessages || !state.queue.isEmpty {
                    guard let sleep = backoff.nextSleep() else { return .poll }
                    state.sleeping = true
                    return .sleep(sleep)
                }
                backoff.reset()
                state.sleeping = true
                state.parked = true
                return .sleep(nil)
            }
        }
    }

    // MARK: Sending

    /// Hands queued jobs to workers with room, least loaded first; in a world of one process, runs
    /// them here if this is the dispatcher thread (a submitting or waiting thread must not run other
    /// futures' tasks). Returns whether anything was sent.
    private func dispatch(onDispatcherThread: Bool) throws -> Bool {
        var sent = false
        if workers.isEmpty {
            // One job a round, completed at the end of the round: a quick task is not held back
            // until the slow ones queued behind it have run too.
            guard onDispatcherThread, let (job, client) = nextJob() else { return false }
            runLocally(job, client: client)
            return true
        }
        guard queued.current > 0 || !reclaimed.isEmpty else { return false }
        // Each job goes to the worker the shared policy picks: an idle one first, one busy with a
        // quick task only while none is idle or starting.
        while let worker = DispatchPolicy.target(among: workers, starting: awaitingHello, now: now) {
            guard let (job, client) = nextJob() else { return sent }
            do {
                try send(job, of: client, to: worker)
            } catch {
                // Not sent, so not in flight: it fails, as the broken pool fails the others.
                let failure = ClusterFuturesError(.brokenExecutor, "MPI failed on rank 0 sending \(job.functionName): \(error)")
                received.append(Received(job: job, client: client, outcome: .failure(failure, nil)))
                throw error
            }
            sent = true
        }
        return sent
    }

    /// The next job to run, taking turns between clients, marked running; nil when none is queued.
    private func nextJob() -> (Job, Client)? {
        // Taken back from a busy worker: already running, so ahead of the queue.
        if let reclaimed = reclaimed.popFirst() { return reclaimed }
        while true {
            let next: (Job, Client)? = shared.withLock { state in
                state.broken == nil ? state.queue.popNext() : nil
            }
            guard let (job, client) = next else { return nil }
            if job.markRunning() { return (job, client) }
            client.outstanding.leave()
        }
    }

    private func send(_ job: Job, of client: Client, to worker: WorkerSlot) throws {
        if let initializer = client.initializer, !worker.initializedClients.contains(client.id) {
            let sequence = try sendTask(initializer.functionType, prefix: initializer.taskPrefix, request: initializer.request,
                                        buffers: [], to: worker)
            worker.tasks.sent(Sent(kind: .initializer, client: client), id: sequence, at: now())
            worker.initializedClients.insert(client.id)
        }
        let sequence = try sendTask(job.functionType, prefix: job.taskPrefix, request: job.request,
                                    buffers: job.requestBuffers, to: worker)
        worker.tasks.sent(Sent(kind: .job(job), client: client), id: sequence, at: now())
    }

    /// Sends a task: its function's definition the first time, its out-of-band buffers if any,
    /// then the request. Returns the task's number among those sent to the worker.
    private func sendTask(
        _ function: ObjectIdentifier, prefix: [UInt8], request: [UInt8], buffers: [WireBuffer], to worker: WorkerSlot
    ) throws -> UInt64 {
        let number = try functionNumber(for: function)
        if number >= worker.defined.count || !worker.defined[number] {
            try ranks.send(FunctionDefinition(number: number, taskPrefix: prefix),
                                  to: worker.rank, tag: PoolTag.define)
            worker.defined.set(true, at: number, growingWith: false)
        }
        try ranks.sendBuffers(buffers, to: worker.rank) { try self.send($0, tag: PoolTag.bufferData, to: worker) }
        try request.withUnsafeBytes { try send($0, tag: PoolTag.taskBase + number, to: worker) }
        worker.sentTasks += 1
        return worker.sentTasks
    }

    /// Sends one message of a task. A small one, or a large one to a worker with nothing else to do
    /// (it is polling, so the transfer starts at once), goes straight from its buffer. A large one
    /// to a busy worker is copied and left to finish on its own, so it never holds up other results.
    private func send(_ bytes: UnsafeRawBufferPointer, tag: Int, to worker: WorkerSlot) throws {
        if bytes.count <= Self.eagerLimit || worker.tasks.isEmpty {
            try ranks.send(bytes: bytes, to: worker.rank, tag: tag)
        } else {
            pendingSends.append(try ranks.startSend(bytes: bytes, to: worker.rank, tag: tag))
        }
    }

    /// The number by which workers know `function`, assigned on first use.
    private func functionNumber(for function: ObjectIdentifier) throws(ClusterFuturesError) -> Int {
        // Calls usually come in runs of one function: remember the last one, and hash only when
        // the function changes.
        if let last = lastFunctionNumber, last.function == function { return last.number }
        let number: Int
        if let known = functionNumbers[function] {
            number = known
        } else {
            number = functionNumbers.count
            guard number < PoolTag.maxFunctions else {
                throw ClusterFuturesError(.invalidArgument, "an MPI pool can run at most \(PoolTag.maxFunctions) different functions")
            }
            functionNumbers[function] = number
        }
        lastFunctionNumber = (function, number)
        return number
    }

    /// Drops the large sends that have completed; returns whether any did.
    private func completeSends() throws -> Bool {
        guard !pendingSends.isEmpty else { return false }
        let before = pendingSends.count
        pendingSends = try pendingSends.filter { try !$0.isComplete() }
        return pendingSends.count != before
    }

    /// A world of one process: the thread making progress runs the task itself, after the
    /// client's initializer the first time. Its future is completed, as a worker's result would
    /// be, once the progress lock is released.
    private func runLocally(_ job: Job, client: Client) {
        let registry = FunctionRegistry.shared
        let outcome: Received.Outcome
        if let initializer = client.initializer, locallyInitialized.insert(client.id).inserted,
           let reason = WorkerInitializer.failure(
               inReply: registry.serve(taskPrefix: initializer.taskPrefix, request: initializer.request[...])) {
            outcome = .failure(breakClient(client, because: "the initializer \(initializer.name) failed on rank 0: \(reason)"),
                               localOrigin)
        } else {
            outcome = .reply(Payload(bytes: registry.serve(taskPrefix: job.taskPrefix, request: job.request[...])), localOrigin)
        }
        received.append(Received(job: job, client: client, outcome: outcome))
    }

    // MARK: Taking back tasks sent ahead

    /// Asks each worker that turned out to be busy with a long task to give back the tasks sent
    /// ahead to it (``ReclaimRequest``); returns whether it asked any.
    private func reclaimSentAhead() throws -> Bool {
        // Worth a look only when a worker has tasks sent ahead and another is idle (most rounds
        // stop at the first check, without reading the clock).
        guard workers.contains(where: { $0.tasks.count >= 2 && !$0.reclaimPending }),
              DispatchPolicy.someoneIsIdle(among: workers) else { return false }
        let now = self.now()
        var asked = false
        for worker in workers where !worker.reclaimPending && DispatchPolicy.shouldReclaim(from: worker, now: now) {
            guard let (running, through) = worker.tasks.reclaimRange else { continue }
            try ranks.send(ReclaimRequest(running: running, through: through),
                                  to: worker.rank, tag: PoolTag.reclaim)
            worker.reclaimPending = true
            asked = true
        }
        return asked
    }

    /// A worker's ``ReclaimReply``: the tasks it gave back go to the next free worker, ahead of
    /// the queue (an initializer it gave back is sent again before its executor's next task there).
    private func reclaimAnswered(by worker: WorkerSlot, _ bytes: [UInt8]) {
        guard worker.reclaimPending, let reply = try? WireDecoder().decode(ReclaimReply.self, from: bytes) else {
            breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent an unexpected or malformed reclaim reply"))
            return
        }
        worker.reclaimPending = false
        guard reply.reclaimed else {
            worker.tasks.nextReclaimAttempt = now() + DispatchPolicy.reclaimAfter
            return
        }
        // Every task after the one it runs, up to `through`; the one it runs may have been
        // answered already, or not yet.
        for entry in worker.tasks.takeBack(after: reply.running, through: reply.through) {
            let sent = entry.task
            switch sent.kind {
            case .job(let job): reclaimed.append((job, sent.client))
            case .initializer: worker.initializedClients.remove(sent.client.id)
            }
        }
    }

    // MARK: Receiving

    /// Handles the messages that have arrived, up to `limit` of them; returns whether there was any.
    private func receiveResults(atMost limit: Int) throws -> Bool {
        var count = 0
        while count < limit, let (bytes, source, tag) = try ranks.receiveIfAvailable() {
            count += 1
            guard source >= 1, source < worldSize else { continue }
            let worker = workers[source - 1]
            switch tag {
            case PoolTag.hello:
                welcome(worker, bytes)
            case PoolTag.buffers:
                do {
                    worker.buffers = try ranks.receiveBuffers(listedIn: bytes, from: worker.rank)
                } catch let error as ClusterFuturesError {
                    breakPool(error)
                }
            case PoolTag.reclaimed:
                reclaimAnswered(by: worker, bytes)
            case PoolTag.result:
                guard let (entry, took) = worker.tasks.answered(at: now()) else {
                    breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent a result for no task"))
                    continue
                }
                tasksAreQuick.store(took < PipelineWindow.quickTask, ordering: .relaxed)
                complete(entry.task, reply: Payload(bytes: bytes, buffers: worker.buffers), from: worker)
                worker.buffers = []
            default:
                breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent a message with unknown tag \(tag)"))
            }
        }
        return count > 0
    }

    private func welcome(_ worker: WorkerSlot, _ bytes: [UInt8]) {
        if !worker.saidHello { awaitingHello -= 1 }
        worker.saidHello = true
        guard let hello = WorkerHello(decoding: bytes) else {
            breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent a malformed hello"))
            return
        }
        if let refusal = hello.refusal(by: PoolProtocol.version, worker: "rank \(worker.rank)") {
            breakPool(ClusterFuturesError(.brokenExecutor, refusal))
            return
        }
        worker.hello = hello
        worker.origin = TaskOrigin(executor: "mpi", host: hello.host, pid: hello.pid, worker: worker.rank - 1, rank: worker.rank)
    }

    private func complete(_ sent: Sent, reply: Payload, from worker: WorkerSlot) {
        switch sent.kind {
        case .job(let job):
            // A job sent before its executor broke ran without its initializer, or after it failed
            // there: it fails with the executor's error, as its queued jobs did.
            let outcome: Received.Outcome = sent.client.broken.map { .failure($0, worker.origin) } ?? .reply(reply, worker.origin)
            received.append(Received(job: job, client: sent.client, outcome: outcome))
        case .initializer:
            guard let reason = WorkerInitializer.failure(inReply: reply.bytes) else { return }
            let name = sent.client.initializer?.name ?? "?"
            breakClient(sent.client, because: "the initializer \(name) failed on rank \(worker.rank) (\(worker.origin.host)): \(reason)")
        }
    }

    /// Breaks one executor, inside `progress`'s lock: its queued jobs fail once the lock is
    /// released, and every later submit is refused.
    @discardableResult
    private func breakClient(_ client: Client, because reason: String) -> ClusterFuturesError {
        let error = ClusterFuturesError(.brokenExecutor, reason)
        let queued: [Job] = shared.withLock { state in
            guard client.broken == nil else { return [] }
            logger.error("\(reason)")
            client.broken = error
            return state.queue.removeAll(of: client)
        }
        // Jobs taken back from a worker were queued again, in effect: they fail with the rest.
        let takenBack = reclaimed.filter { $0.1 === client }.map(\.0)
        if !takenBack.isEmpty { reclaimed.removeAll { $0.1 === client } }
        for job in queued + takenBack {
            received.append(Received(job: job, client: client, outcome: .failure(error, nil)))
        }
        return error
    }

    // MARK: Failure

    /// Marks the pool broken, once, inside `progress`'s lock: every queued job and every job sent
    /// and not answered fails with `error` once the lock is released, and later submits are
    /// refused. Sent jobs stay counted, so that their results are still received before the
    /// workers stop.
    private func breakPool(_ error: ClusterFuturesError) {
        let queued: [(Job, Client)]? = shared.withLock { state in
            guard state.broken == nil else { return nil }
            state.broken = error
            return state.queue.removeAll()
        }
        guard let queued else { return }
        logger.error("the MPI pool is broken: \(error.message)")
        let takenBack = Array(reclaimed)
        reclaimed.removeAll()
        for (job, client) in queued + takenBack {
            received.append(Received(job: job, client: client, outcome: .failure(error, nil)))
        }
        for worker in workers {
            for entry in worker.tasks.entries {
                let sent = entry.task
                guard case .job(let job) = sent.kind else { continue }
                received.append(Received(job: job, client: sent.client, outcome: .failureInFlight(error, worker.origin)))
            }
        }
    }
}
