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

    private unowned let engine: ProcessPoolEngine
    private let transport: Transport
    private var settings: ProcessPoolEngine.Settings { engine.settings }
    private var logger: Logger { engine.settings.logger }

    private var workers: [Worker] = [] {
        didSet { links = workers.map(\.link) }
    }
    /// The workers' links, in the same order, for the transport's wait: kept, not made each turn.
    private var links: [Transport.Link] = []
    /// Jobs a worker had been sent but not started when it died: already running, so they go to the
    /// next free worker ahead of the queue.
    private var requeued = Deque<Job>()
    /// Jobs taken from the shared queue in a batch and not yet sent; returned to it after dispatch.
    private var taken = Deque<Job>()
    private var nextWorkerIndex = 0
    private var nextTaskID: UInt64 = 1
    private var signalledTermination = false
    private var lastActivity: ContinuousClock.Instant
    /// The time: the clock's, or a test's.
    private let now: () -> ContinuousClock.Instant

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

    private func spawnWorker() throws(ClusterFuturesError) {
        let index = nextWorkerIndex
        nextWorkerIndex += 1
        let link = try transport.startWorker(index: index)
        workers.append(Worker(index: index, link: link, windowLimit: settings.tasksInFlightPerWorker,
                              taskBudget: settings.maxTasksPerChild, startedAt: now()))
    }

    /// How many workers there should be now.
    private func wantedWorkers(phase: ProcessPoolEngine.Phase, queueIsEmpty: Bool) -> Int {
        switch phase {
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
        let (phase, broken) = engine.shared.withLock { ($0.phase, $0.broken) }
        if let broken {
            failEverything(broken)
            finish()
            return false
        }
        if case .terminating(let signal, let caller) = phase {
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
            reclaimSentAhead()
            dispatch()
        }
        flushWrites()
        // Dispatch drops jobs whose futures were cancelled: what is left decides whether the
        // workers can stop (deciding on the count from before it left a draining pool asleep,
        // waiting for work that was gone).
        // (Only a pool that is stopping, or stops idle workers, needs to know; the others skip the
        // lock, which a burst of submits contends for.)
        let queueIsEmpty = (phase == .running && settings.idleTimeout == nil) ? false
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
        if phase != .running && queueIsEmpty && workers.allSatisfy({ $0.tasks.isEmpty }) {
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

    private func finish() {
        for worker in workers { worker.link.signal(SIGKILL) }
        for worker in workers {
            _ = worker.link.reap()
            _ = worker.link.lastWords()
        }
        transport.finish()
        workers.removeAll()
        engine.shared.withLock { $0.finished = true }
    }

    /// Hands queued jobs to the workers ``DispatchPolicy`` picks: idle ones first, and ahead of a
    /// running task only while the worker's tasks are quick.
    private func dispatch() {
        defer { returnUnsentJobs() }
        let starting = startingWorkers
        while let worker = DispatchPolicy.target(among: workers, starting: starting, now: now) {
            guard let job = nextRunnableJob() else { return }
            send(job, to: worker)
        }
    }

    /// Workers started and not yet taking tasks: queued work waits for them rather than queue
    /// behind a busy worker.
    private var startingWorkers: Int {
        workers.count { $0.phase == .starting || $0.phase == .initializing }
    }

    /// Takes back the tasks sent ahead to workers that turned out to be busy with a long task, so
    /// that they go to the next free worker instead of waiting behind it.
    private func reclaimSentAhead() {
        // Worth a look only when a worker has tasks sent ahead and another is idle (most turns stop
        // at the first check, without reading the clock).
        guard workers.contains(where: { $0.tasks.count >= 2 }), DispatchPolicy.someoneIsIdle(among: workers) else { return }
        let time = now()
        for worker in workers where DispatchPolicy.shouldReclaim(from: worker, now: time) {
            guard let claim = worker.link.claim, let (running, through) = worker.tasks.reclaimRange else { continue }
            guard claim.revoke(running: running, through: through) else {
                // It has not claimed the task it was sent (it may still be reading it), or has just
                // moved on and its answer is on the way: look again a little later.
                worker.tasks.nextReclaimAttempt = time + DispatchPolicy.reclaimAfter
                continue
            }
            let reclaimed = worker.tasks.takeBack(after: running, through: through).map(\.task)
            worker.tasksSent -= reclaimed.count
            requeued.insert(contentsOf: reclaimed, at: 0)
            lastActivity = time
            logger.trace("took back \(reclaimed.count) tasks sent ahead to \(worker.name), busy with a long task")
        }
    }

    /// Puts jobs taken in a batch but not sent back at the front of the shared queue, where shutdown
    /// can cancel them; if shutdown already cancelled the queue while they were out of it, cancels
    /// them too.
    private func returnUnsentJobs() {
        guard !taken.isEmpty else { return }
        let cancelled: [Job] = engine.shared.withLock { state in
            if state.cancelUnsent { return Array(taken) }
            state.queue.putBack(taken, for: state.lane)
            return []
        }
        taken.removeAll()
        for job in cancelled { job.cancel() }
    }

    /// The next job to send: a requeued one, else the next queued one whose future was not
    /// cancelled, now marked running.
    private func nextRunnableJob() -> Job? {
        while true {
            if let job = requeued.popFirst() { return job }
            if let job = taken.popFirst() {
                if job.markRunning() { return job }
                continue
            }
            // Take a handful at once: one lock for several jobs.
            let batch = engine.shared.withLock { state -> [Job] in
                var batch: [Job] = []
                while batch.count < 32, let (job, _) = state.queue.popNext() { batch.append(job) }
                return batch
            }
            if batch.isEmpty { return nil }
            taken.append(contentsOf: batch)
        }
    }

    private func send(_ job: Job, to worker: Worker) {
        let id = nextTaskID
        nextTaskID += 1
        worker.tasks.sent(job, id: id, at: now())
        worker.tasksSent += 1
        worker.link.enqueue(.task, id: id, segments: [job.taskPrefix, job.request])
    }

    private func flushWrites() {
        for worker in workers where worker.link.hasPendingWrites { worker.link.flush() }
    }

    private func stopIdleWorkers(phase: ProcessPoolEngine.Phase, queueIsEmpty: Bool) {
        guard let idleTimeout = settings.idleTimeout, phase == .running, queueIsEmpty else { return }
        let time = now()
        for worker in workers where worker.phase == .ready && worker.tasks.isEmpty && time - worker.idleSince >= idleTimeout {
            logger.debug("stopping idle \(worker.name)")
            worker.phase = .stopping
            worker.link.closeInput()
        }
    }

    // MARK: Waiting

    /// Waits for the transport, unless queued work can go out now, and handles what it reports.
    /// `limit` caps the wait (tests step the loop without blocking).
    private func waitForEvents(limit: Int32?) {
        var timeout = pollTimeout()
        if timeout != 0 {
            // Queued work is only a reason not to sleep when a worker can take it: while every
            // worker is busy, the next result or hello wakes this thread.
            let canSend = DispatchPolicy.target(among: workers, starting: startingWorkers, now: now) != nil
            let mayHaveWork = engine.shared.withLock { state in
                if (canSend && !(state.queue.isEmpty && requeued.isEmpty)) || state.broken != nil { return true }
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
    private func pollTimeout() -> Int32 {
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

    // MARK: Results

    /// Handles the frames `activity` brought from `worker`; returns the worker and why it ended
    /// when it has: at the end of its messages, or when its process has ended, though a child of it
    /// may still hold its pipes open.
    private func readResults(from worker: Worker, _ activity: LinkActivity) -> (Worker, ClusterFuturesError?)? {
        // Frames that arrived whole before a bad one are answers like any other.
        for frame in activity.frames {
            if let violation = handle(frame, from: worker) { return (worker, retire(worker, violation)) }
        }
        if let badMessage = activity.badMessage {
            return (worker, retire(worker, ClusterFuturesError(.protocolViolation, "\(worker.name) sent a bad message: \(badMessage)")))
        }
        guard activity.ended else { return nil }
        if worker.retireReason == nil && activity.endedMidFrame {
            worker.retireReason = ClusterFuturesError(.protocolViolation,
                "\(worker.name) ended in the middle of a message (a truncated frame)")
        }
        return (worker, worker.retireReason)
    }

    /// Kills a worker the pool can no longer trust.
    private func retire(_ worker: Worker, _ reason: ClusterFuturesError) -> ClusterFuturesError {
        logger.warning("retiring \(worker.name): \(reason.message)")
        worker.retireReason = reason
        worker.link.signal(SIGKILL)
        return reason
    }

    /// Handles one frame; returns a protocol violation, if it is one.
    private func handle(_ frame: Frame, from worker: Worker) -> ClusterFuturesError? {
        switch (frame.kind, worker.phase) {
        case (.hello, .starting):
            guard let hello = WorkerHello(decoding: frame.payload) else {
                return ClusterFuturesError(.protocolViolation,
                    "\(worker.name) sent a malformed hello (\(settings.executable) may be an older build of another protocol)")
            }
            if let refusal = hello.refusal(by: Int(Frame.protocolVersion), worker: "\(worker.name) from \(settings.executable)") {
                breakPool(ClusterFuturesError(.brokenExecutor, refusal))
                return nil
            }
            var welcome = ByteWriter()
            welcome.append(UInt64(settings.maxTasksPerChild ?? 0))
            welcome.append(UInt64(settings.spin.clampedNanoseconds))
            var segments = [welcome.bytes]
            if let initializer = settings.initializer { segments += initializer.message.encodedSegments() }
            worker.link.enqueue(.welcome, id: 0, segments: segments)
            worker.phase = .initializing
        case (.ready, .initializing):
            worker.phase = .ready
            worker.idleSince = now()
        case (.initializerFailed, .initializing):
            let reason = String(decoding: frame.payload, as: UTF8.self)
            breakPool(ClusterFuturesError(.brokenExecutor,
                "the initializer \(settings.initializer?.name ?? "?") failed in \(worker.name): \(reason)"))
        case (.result, .ready), (.result, .stopping):
            let time = now()
            guard worker.tasks.running?.id == frame.id, let (answered, _) = worker.tasks.answered(at: time) else {
                // A second answer to the task it answered last: it was still on that one.
                if frame.id == worker.lastAnsweredID { worker.retiredBetweenTasks = true }
                return ClusterFuturesError(.protocolViolation, "\(worker.name) answered task \(frame.id), which it was not running")
            }
            worker.lastAnsweredID = answered.id
            worker.idleSince = time
            answered.task.complete(reply: frame.payload, origin: worker.origin)
            engine.tally.done.add(1, ordering: .relaxed)
        case (.retiring, .ready):
            worker.phase = .retiring
        case (.hello, .stopping), (.ready, .stopping), (.initializerFailed, .stopping):
            // Still starting when the pool began to stop: it exits on its own at end of file.
            break
        default:
            return ClusterFuturesError(.protocolViolation, "\(worker.name) sent an unexpected \(frame.kind) frame while \(worker.phase)")
        }
        return nil
    }

    // MARK: Endings

    /// A worker's process ended (its pidfd), or its result pipe reached end of file: it exited,
    /// planned or not, or was killed for a protocol violation.
    private func workerEnded(_ worker: Worker, reason: ClusterFuturesError?) {
        let status = worker.link.reap()
        // Read only once the process is gone: a crash's message is written just before the end.
        let lastWords = worker.link.lastWords()
        workers.removeAll { $0 === worker }
        let phase = engine.shared.withLock { $0.phase }
        switch worker.phase {
        case .starting, .initializing:
            if case .terminating = phase { return }
            let during = worker.phase == .initializing
                ? "while running the initializer \(settings.initializer?.name ?? "")" : "while starting"
            breakPool(reason ?? ClusterFuturesError(.brokenExecutor, "\(worker.name) exited with \(status) \(during)\(lastWords)"))
        case .retiring where worker.tasks.isEmpty:
            logger.debug("\(worker.name) retired after \(worker.tasksSent) tasks")
        case .stopping where worker.tasks.isEmpty:
            break
        case .ready, .retiring, .stopping:
            // Only the task it was running fails; those sent ahead had not started and go to the
            // next free worker, whatever ended this one (unless every worker is being stopped).
            let (runningEntry, unstartedEntries) = worker.tasks.lost(wasRunning: !worker.retiredBetweenTasks)
            let running = runningEntry?.task
            let unstarted = unstartedEntries.map(\.task)
            let error: ClusterFuturesError
            if let reason {
                error = reason
            } else if let running, case .terminating(_, let caller) = phase {
                error = ClusterFuturesError(.workerLost, "\(worker.name) was stopped by \(caller) (\(status)) while running \(running.functionName)")
            } else if let running {
                error = ClusterFuturesError(.workerLost, "\(worker.name) died from \(status) while running \(running.functionName)\(lastWords)")
            } else {
                if worker.phase == .ready { logger.warning("\(worker.name) exited with \(status) while idle; replacing it") }
                return
            }
            if let running {
                logger.warning("\(error.message); replacing it")
                running.fail(error, origin: worker.origin)
                engine.tally.done.add(1, ordering: .relaxed)
            }
            if case .terminating = phase {
                for job in unstarted { job.fail(error, origin: worker.origin) }
                engine.tally.done.add(unstarted.count, ordering: .relaxed)
            } else {
                requeued.insert(contentsOf: unstarted, at: 0)
            }
        }
    }

    /// Marks the pool broken: every queued and running job fails with `error`, every worker is killed.
    private func breakPool(_ error: ClusterFuturesError) {
        let first = engine.shared.withLock { state -> Bool in
            guard state.broken == nil else { return false }
            state.broken = error
            return true
        }
        if first { logger.error("the process pool is broken: \(error.message)") }
    }

    private func failEverything(_ error: ClusterFuturesError) {
        let queued = engine.shared.withLock { state in
            state.queue.removeAll().map(\.job)
        }
        for worker in workers {
            worker.link.signal(SIGKILL)
            let inFlight = worker.tasks.removeAll()
            for entry in inFlight { entry.task.fail(error, origin: worker.origin) }
            engine.tally.done.add(inFlight.count, ordering: .relaxed)
        }
        for job in queued + requeued + taken { job.fail(error, origin: nil) }
        engine.tally.done.add(queued.count + requeued.count + taken.count, ordering: .relaxed)
        requeued.removeAll()
        taken.removeAll()
    }

    /// SIGPIPE: a worker gone mid-write is seen as an error of the write. (SIGINT and SIGTERM are
    /// blocked from the thread's start: see `StopSignals.start(_:)`.)
    private func blockSIGPIPEOnThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}

/// The environment of this process, as `NAME=value` strings.
enum ProcessEnvironment {
    static var current: [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }
}
