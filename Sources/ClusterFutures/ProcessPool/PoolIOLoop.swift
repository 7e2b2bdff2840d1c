import CClusterFuturesSystem
import DequeModule
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process pool's scheduler, run by its I/O thread: owns the workers, decides what each is sent
/// and when, reads their answers, completes futures, and replaces workers that die. What it sends
/// and receives goes through `transport`, which only moves frames: pipes to worker processes, or,
/// in tests, memory.
// @unchecked Sendable: created before the I/O thread starts and used only on it afterwards (or, in
// tests, only on the thread that steps it).
final class PoolIOLoop<Transport: WorkerTransport>: @unchecked Sendable {
    typealias Worker = PoolWorker<Transport.Link>

    unowned let engine: ProcessPoolEngine
    let transport: Transport
    var settings: ProcessPoolEngine.Settings { engine.settings }
    var logger: Logger { engine.settings.logger }

    var workers: [Worker] = [] {
        didSet { links = workers.map(\.link) }
    }
    /// The workers' links, in the same order, for the transport's wait: kept, not made each turn.
    var links: [Transport.Link] = []
    /// Jobs a worker had been sent but not started when it died: already running, so they go to the
    /// next free worker ahead of the queue.
    var requeued = Deque<Job>()
    /// Jobs taken from the shared queue in a batch and not yet sent; returned to it after dispatch.
    var taken = Deque<Job>()
    var nextWorkerIndex = 0
    var nextTaskID: UInt64 = 1
    /// Every function's number, as the workers know it.
    var functionNumbers = FunctionNumbers()
    /// The first segment of a task frame, by function number: made once per function.
    var numberSegments: [[UInt8]] = []
    var signalledTermination = false
    var lastActivity: ContinuousClock.Instant
    /// The time: the clock's, or a test's.
    let now: () -> ContinuousClock.Instant

    init(engine: ProcessPoolEngine, transport: Transport, now: @escaping () -> ContinuousClock.Instant = { .now }) {
        self.engine = engine
        self.transport = transport
        self.now = now
        self.lastActivity = now()
    }

    // MARK: Workers

    /// Starts the pool's workers; a failure here is thrown from the executor's initializer.
    func spawnInitialWorkers() throws(ClusterFuturesError) {
        guard settings.idleTimeout == nil else { return }
        do {
            for _ in 0..<settings.workers { try spawnWorker() }
        } catch {
            // The executor will not exist: take down the workers that did start.
            finish()
            throw error
        }
    }

    func spawnWorker() throws(ClusterFuturesError) {
        let index = nextWorkerIndex
        nextWorkerIndex += 1
        let link = try transport.startWorker(index: index)
        workers.append(Worker(index: index, link: link, windowLimit: settings.tasksInFlightPerWorker,
                              taskBudget: settings.maxTasksPerWorker, startedAt: now()))
    }

    /// How many workers there should be now.
    func wantedWorkers(phase: PoolPhase, queueIsEmpty: Bool) -> Int {
        switch phase.stage {
        case .terminating: return 0
        case .draining where queueIsEmpty: return 0
        case .running where queueIsEmpty && settings.idleTimeout != nil: return 0
        default: return settings.workers
        }
    }

    // MARK: The loop

    /// Runs the loop until every worker has stopped, on the I/O thread.
    func run() {
        blockSIGPIPEOnThisThread()
        while step() {}
    }

    /// One turn of the loop: takes back, dispatches, sends, starts and stops workers, then waits
    /// for the transport (without a limit, unless `waiting` says otherwise) and handles what came.
    /// Returns false once the pool has finished: every worker is gone.
    func step(waiting: Int32? = nil) -> Bool {
        let phase = engine.shared.withLock { $0.phase }
        if let broken = phase.broken {
            failEverything(broken)
            finish()
            return false
        }
        if let (signal, caller) = phase.terminatedBy {
            if !signalledTermination {
                signalledTermination = true
                for worker in workers { worker.link.signal(signal) }
            }
            // Taken back from a worker and not sent again: they fail as the running ones do.
            let stopped = Array(requeued)
            requeued.removeAll()
            for job in stopped {
                job.fail(ClusterFuturesError(.workerLost, "the pool was stopped by \(caller) before \(job.functionName) ran"),
                         origin: nil)
            }
            engine.tally.done.add(stopped.count, ordering: .relaxed)
        } else {
            dispatch()
            // A worker still idle has nothing queued for it: what waits behind a long task goes to
            // it now.
            if reclaimSentAhead() { dispatch() }
        }
        flushWrites()
        // Dispatch drops jobs whose futures were cancelled: what is left decides whether the
        // workers can stop (deciding on the count from before it left a draining pool asleep,
        // waiting for work that was gone).
        // (Only a pool that is stopping, or stops idle workers, needs to know; the others skip the
        // lock, which a burst of submits contends for.)
        let queueIsEmpty = (phase.stage == .running && settings.idleTimeout == nil) ? false
            : requeued.isEmpty && taken.isEmpty && engine.shared.withLock { $0.queue.isEmpty }
        let live = workers.filter { $0.phase != .stopping && $0.phase != .retiring }.count
        let wanted = wantedWorkers(phase: phase, queueIsEmpty: queueIsEmpty)
        if live < wanted {
            do {
                for _ in live..<wanted { try spawnWorker() }
            } catch {
                breakPool(error)
                return true
            }
        }
        stopIdleWorkers(phase: phase, queueIsEmpty: queueIsEmpty)
        engine.tally.running.store(workers.reduce(0) { $0 + $1.tasks.count }, ordering: .relaxed)
        engine.tally.takenBack.store(requeued.count, ordering: .relaxed)
        if phase.stage != .running && queueIsEmpty && workers.allSatisfy({ $0.tasks.isEmpty }) {
            for worker in workers where worker.phase != .stopping {
                worker.phase = .stopping
                worker.link.closeInput()
            }
            if workers.isEmpty {
                finish()
                return false
            }
        }
        waitForEvents(limit: waiting)
        return true
    }

    func finish() {
        for worker in workers { worker.link.signal(SIGKILL) }
        for worker in workers {
            _ = worker.link.reap()
            _ = worker.link.lastWords()
        }
        transport.finish()
        workers.removeAll()
        engine.shared.withLock { $0.finished = true }
    }

    // MARK: Waiting

    /// Waits for the transport, unless queued work can go out now, and handles what it reports.
    /// `limit` caps the wait (tests step the loop without blocking).
    func waitForEvents(limit: Int32?) {
        var timeout = pollTimeout()
        if timeout != 0 {
            // Queued work is only a reason not to sleep when a worker can take it: while every
            // worker is busy, the next result or hello wakes this thread.
            let canSend = DispatchPolicy.target(among: workers, starting: startingWorkers, now: now) != nil
            let mayHaveWork = engine.shared.withLock { state in
                if (canSend && !(state.queue.isEmpty && requeued.isEmpty)) || state.phase.broken != nil { return true }
                state.ioSleeping = true
                return false
            }
            if mayHaveWork { timeout = 0 }
        }
        if let limit, timeout < 0 || timeout > limit { timeout = limit }
        let activity = transport.wait(on: links, timeout: timeout)
        engine.shared.withLock { $0.ioSleeping = false }
        if activity.woken || !activity.links.isEmpty { lastActivity = now() }
        var gone: [(Worker, ClusterFuturesError?)] = []
        for link in activity.links {
            let worker = workers[link.index]
            if let ending = readResults(from: worker, link) { gone.append(ending) }
        }
        for (worker, reason) in gone { workerEnded(worker, reason: reason) }
    }

    /// 0 while recently busy and an answer may come at once (a short spin instead of a sleep, which
    /// is slow to wake from), else a wait bounded by the next timer, or none.
    func pollTimeout() -> Int32 {
        if now() - lastActivity < settings.spin && DispatchPolicy.expectedAnswer(among: workers) == nil {
            sched_yield()
            return 0
        }
        // Tasks sent ahead to a busy worker are taken back when its task turns out to be long.
        let reclaim = !DispatchPolicy.someoneIsIdle(among: workers) ? nil
            : workers.lazy.filter { $0.link.claim != nil }.compactMap(DispatchPolicy.reclaimDeadline(for:)).min()
        if let reclaim {
            let wait = reclaim - now()
            return wait <= .zero ? 0 : Int32(clamping: wait.clampedNanoseconds / 1_000_000 + 1)
        }
        if settings.idleTimeout != nil && workers.contains(where: { $0.phase == .ready && $0.tasks.isEmpty }) { return 50 }
        if workers.contains(where: { $0.phase == .stopping }) { return 50 }
        return -1
    }

    /// SIGPIPE: a worker gone mid-write is seen as an error of the write. (SIGINT and SIGTERM are
    /// blocked from the thread's start: see `StopSignals.start(_:)`.)
    func blockSIGPIPEOnThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
