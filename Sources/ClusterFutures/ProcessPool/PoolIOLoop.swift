import CClusterFuturesSystem
import DequeModule
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The pool's I/O thread: owns the workers, moves jobs to them and results back.
// @unchecked Sendable: created before the I/O thread starts and used only on it afterwards.
final class PoolIOLoop: @unchecked Sendable {
    private unowned let engine: ProcessPoolEngine
    private var settings: ProcessPoolEngine.Settings { engine.settings }
    private var logger: Logger { engine.settings.logger }

    private var workers: [PoolWorker] = []
    /// Jobs a worker had been sent but not started when it died: already running, so they go to the
    /// next free worker ahead of the queue.
    private var requeued = Deque<Job>()
    /// Jobs taken from the shared queue in a batch and not yet sent; returned to it after dispatch.
    private var taken = Deque<Job>()
    /// Standard errors of ended workers that a child of theirs still holds open: still read and
    /// passed on until their end of file.
    private var orphanedStderr: [WorkerStderr] = []
    private var nextWorkerIndex = 0
    private var nextTaskID: UInt64 = 1
    private var signalledTermination = false
    private var lastActivity = ContinuousClock.now

    init(engine: ProcessPoolEngine) {
        self.engine = engine
    }

    /// The largest payload that travels through a worker's shared arena; larger ones use the pipe.
    static let arenaCapacity = 16 << 20
    /// UCX's setting for what it does on a crash signal; workers get `none` (see `spawnWorker()`).
    static let ucxHandleErrors = "UCX_HANDLE_ERRORS"

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
        do {
            let tasks = try SystemCalls.pipe()
            let results = try SystemCalls.pipe()
            // The worker's standard error comes through the pool, which passes it on and keeps its
            // last lines for the error that reports a crash.
            let errors = try SystemCalls.pipe()
            SystemCalls.growPipe(tasks.write, to: 1 << 20)
            SystemCalls.growPipe(results.write, to: 1 << 20)
            defer {
                try? tasks.read.close()
                try? results.write.close()
                try? errors.write.close()
            }
            let stderr = WorkerStderr(descriptor: errors.read)
            var environment = ProcessEnvironment.current.filter { !$0.hasPrefix(CF_WORKER_ENVIRONMENT_NAME + "=") }
            environment.append("\(CF_WORKER_ENVIRONMENT_NAME)=\(WorkerLaunch(index: index, parent: getpid()).environmentValue)")
            // In a program that links MPICH over UCX, every process that loads UCX gets its handler
            // for crash signals: it prints a backtrace of bare addresses before the pool reports the
            // crash in one line, and it is not async-signal-safe (a crash inside malloc could hang
            // the worker). Workers go without it, unless the user set UCX_HANDLE_ERRORS.
            if !environment.contains(where: { $0.hasPrefix(Self.ucxHandleErrors + "=") }) {
                environment.append(Self.ucxHandleErrors + "=none")
            }
            // Shared memory for large payloads, one arena each way; without it, everything goes
            // through the pipes.
            let taskArena = SharedArena.create(name: "cf-tasks-\(index)", capacity: Self.arenaCapacity)
            let resultArena = SharedArena.create(name: "cf-results-\(index)", capacity: Self.arenaCapacity)
            let arenas = taskArena != nil && resultArena != nil
            defer {
                try? taskArena?.fd.close()
                try? resultArena?.fd.close()
            }
            let pid: pid_t
            do {
                pid = try SystemCalls.spawnWorker(
                    path: settings.executable, arguments: [settings.executable], environment: environment,
                    input: tasks.read, output: results.write,
                    taskArena: arenas ? taskArena?.fd : nil, resultArena: arenas ? resultArena?.fd : nil,
                    errorOutput: errors.write)
            } catch {
                stderr.close()
                throw error
            }
            try SystemCalls.setNonBlocking(tasks.write)
            try SystemCalls.setNonBlocking(results.read)
            try SystemCalls.setNonBlocking(errors.read)
            workers.append(PoolWorker(index: index, pid: pid, toWorker: tasks.write, fromWorker: results.read,
                                      processDescriptor: SystemCalls.processDescriptor(pid), stderr: stderr,
                                      maxPayload: settings.maxMessageBytes,
                                      taskArena: arenas ? taskArena?.arena : nil,
                                      resultArena: arenas ? resultArena?.arena : nil,
                                      windowLimit: settings.tasksInFlightPerWorker,
                                      taskBudget: settings.maxTasksPerChild))
        } catch {
            throw ClusterFuturesError(.brokenExecutor, "could not start a worker from \(settings.executable): \(error)")
        }
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

    func run() {
        blockSIGPIPEOnThisThread()
        while true {
            let (phase, broken) = engine.shared.withLock { ($0.phase, $0.broken) }
            if let broken {
                failEverything(broken)
                break
            }
            if case .terminating(let signal, let caller) = phase {
                if !signalledTermination {
                    signalledTermination = true
                    for worker in workers { SystemCalls.signal(worker.pid, signal) }
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
            let queueIsEmpty = requeued.isEmpty && taken.isEmpty && engine.shared.withLock { $0.queue.isEmpty }
            let live = workers.filter { $0.phase != .stopping && $0.phase != .retiring }.count
            let wanted = wantedWorkers(phase: phase, queueIsEmpty: queueIsEmpty)
            if live < wanted {
                do {
                    for _ in live..<wanted { try spawnWorker() }
                } catch {
                    breakPool(error)
                    continue
                }
            }
            stopIdleWorkers(phase: phase, queueIsEmpty: queueIsEmpty)
            engine.tally.running.store(workers.reduce(0) { $0 + $1.inFlight.count }, ordering: .relaxed)
            engine.tally.takenBack.store(requeued.count, ordering: .relaxed)
            if phase != .running && queueIsEmpty && workers.allSatisfy({ $0.inFlight.isEmpty }) {
                for worker in workers where worker.phase != .stopping {
                    worker.phase = .stopping
                    worker.closeInput()
                }
                if workers.isEmpty { break }
            }
            waitForEvents()
        }
        finish()
    }

    private func finish() {
        for worker in workers { SystemCalls.signal(worker.pid, SIGKILL) }
        for worker in workers { reap(worker) }
        for stderr in workers.compactMap(\.stderr) + orphanedStderr {
            stderr.drain()
            stderr.close()
        }
        orphanedStderr.removeAll()
        workers.removeAll()
        engine.shared.withLock { $0.finished = true }
    }

    /// Hands queued jobs to the workers ``DispatchPolicy`` picks: idle ones first, and ahead of a
    /// running task only while the worker's tasks are quick.
    private func dispatch() {
        defer { returnUnsentJobs() }
        let starting = startingWorkers
        while let worker = DispatchPolicy.target(among: workers, starting: starting) {
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
        guard DispatchPolicy.someoneIsIdle(among: workers) else { return }
        var now: ContinuousClock.Instant?
        for worker in workers where worker.inFlight.count >= 2 {
            guard let claim = worker.claim, let running = worker.inFlight.first, let last = worker.inFlight.last else { continue }
            let time = now ?? .now
            now = time
            guard DispatchPolicy.shouldReclaim(from: worker, now: time),
                  worker.nextReclaimAttempt.map({ time >= $0 }) ?? true else { continue }
            guard claim.revoke(running: running.id, through: last.id) else {
                // It has not claimed the task it was sent (it may still be reading it), or has just
                // moved on and its answer is on the way: look again a little later.
                worker.nextReclaimAttempt = time + DispatchPolicy.reclaimAfter
                continue
            }
            let reclaimed = worker.inFlight.dropFirst().map(\.job)
            worker.inFlight.removeLast(reclaimed.count)
            worker.tasksSent -= reclaimed.count
            worker.window.fallBack()
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
            state.queue.insert(contentsOf: taken, at: 0)
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
                let count = min(state.queue.count, 32)
                defer { state.queue.removeFirst(count) }
                return Array(state.queue.prefix(count))
            }
            if batch.isEmpty { return nil }
            taken.append(contentsOf: batch)
        }
    }

    private func send(_ job: Job, to worker: PoolWorker) {
        let id = nextTaskID
        nextTaskID += 1
        worker.inFlight.append((id, job, .now))
        worker.tasksSent += 1
        worker.writer.enqueue(.task, id: id, segments: [job.taskPrefix, job.request])
    }

    private func flushWrites() {
        for worker in workers where !worker.writer.isEmpty {
            guard let fd = worker.toWorker else { continue }
            do {
                _ = try worker.writer.flush(to: fd)
            } catch {
                // The worker is gone or going; its end of file on the result pipe tells how.
                worker.closeInput()
            }
        }
    }

    private func stopIdleWorkers(phase: ProcessPoolEngine.Phase, queueIsEmpty: Bool) {
        guard let idleTimeout = settings.idleTimeout, phase == .running, queueIsEmpty else { return }
        let now = ContinuousClock.now
        for worker in workers where worker.phase == .ready && worker.inFlight.isEmpty && now - worker.idleSince >= idleTimeout {
            logger.debug("stopping idle \(worker.name)")
            worker.phase = .stopping
            worker.closeInput()
        }
    }

    // MARK: Waiting

    private func waitForEvents() {
        var descriptors = [pollfd(fd: engine.wake.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
        for worker in workers { worker.appendPollDescriptors(to: &descriptors) }
        let orphansStart = descriptors.count
        for stderr in orphanedStderr { descriptors.append(pollfd(fd: stderr.descriptor?.rawValue ?? -1, events: Int16(POLLIN), revents: 0)) }
        var timeout = pollTimeout()
        if timeout != 0 {
            // Queued work is only a reason not to sleep when a worker can take it: while every
            // worker is busy, the next result or hello wakes this thread.
            let canSend = DispatchPolicy.target(among: workers, starting: startingWorkers) != nil
            let mayHaveWork = engine.shared.withLock { state in
                if (canSend && !(state.queue.isEmpty && requeued.isEmpty)) || state.broken != nil { return true }
                state.ioSleeping = true
                return false
            }
            if mayHaveWork { timeout = 0 }
        }
        do {
            try SystemCalls.poll(&descriptors, timeout: timeout)
        } catch {
            logger.error("poll failed: \(error)")
        }
        engine.shared.withLock { $0.ioSleeping = false }
        if descriptors[0].revents != 0 {
            engine.wake.drain()
            lastActivity = .now
        }
        var gone: [(PoolWorker, ClusterFuturesError?)] = []
        for (index, worker) in workers.enumerated() {
            let base = 1 + PoolWorker.pollDescriptorCount * index
            if descriptors[base + 3].revents != 0 { worker.stderr?.drain() }
            let readEvents = descriptors[base].revents
            let exited = descriptors[base + 2].revents != 0
            if readEvents != 0 || exited {
                lastActivity = .now
                if let ending = readResults(from: worker, exited: exited) { gone.append(ending) }
            }
        }
        for (offset, stderr) in orphanedStderr.enumerated() where descriptors[orphansStart + offset].revents != 0 {
            stderr.drain()
        }
        orphanedStderr.removeAll { $0.descriptor == nil }
        for (worker, reason) in gone { workerEnded(worker, reason: reason) }
    }

    /// 0 while recently busy (a short spin instead of a sleep, which is slow to wake from), else a
    /// wait bounded by the next timer, or none.
    private func pollTimeout() -> Int32 {
        if ContinuousClock.now - lastActivity < settings.spin {
            sched_yield()
            return 0
        }
        // Tasks sent ahead to a busy worker are taken back when its task turns out to be long.
        let reclaim = !DispatchPolicy.someoneIsIdle(among: workers) ? nil : workers.lazy.filter { $0.claim != nil }.compactMap { worker in
            DispatchPolicy.reclaimDeadline(for: worker).map { max($0, worker.nextReclaimAttempt ?? $0) }
        }.min()
        if let reclaim {
            let wait = reclaim - .now
            return wait <= .zero ? 0 : Int32(clamping: wait.clampedNanoseconds / 1_000_000 + 1)
        }
        if settings.idleTimeout != nil && workers.contains(where: { $0.phase == .ready && $0.inFlight.isEmpty }) { return 50 }
        if workers.contains(where: { $0.phase == .stopping }) { return 50 }
        return -1
    }

    // MARK: Results

    /// Reads and handles every frame available from `worker`; returns the worker and why it ended
    /// when it has: at the result pipe's end of file, or when the process has `exited` (its pidfd
    /// said so), though a child of it may still hold the pipe open.
    private func readResults(from worker: PoolWorker, exited: Bool) -> (PoolWorker, ClusterFuturesError?)? {
        var frames: [Frame] = []
        var open = true
        var badMessage: ClusterFuturesError?
        do {
            open = try worker.reader.readAvailable(from: worker.fromWorker, into: &frames)
        } catch let error as FrameError {
            badMessage = ClusterFuturesError(.protocolViolation, "\(worker.name) sent a bad message: \(error)")
        } catch {
            open = false
        }
        // Frames that arrived whole before a bad one are answers like any other.
        for frame in frames {
            if let violation = handle(frame, from: worker) { return (worker, retire(worker, violation)) }
        }
        if let badMessage { return (worker, retire(worker, badMessage)) }
        if open && !exited { return nil }
        if worker.retireReason == nil && worker.reader.isMidFrame {
            worker.retireReason = ClusterFuturesError(.protocolViolation,
                "\(worker.name) ended in the middle of a message (a truncated frame)")
        }
        return (worker, worker.retireReason)
    }

    /// Kills a worker the pool can no longer trust.
    private func retire(_ worker: PoolWorker, _ reason: ClusterFuturesError) -> ClusterFuturesError {
        logger.warning("retiring \(worker.name): \(reason.message)")
        worker.retireReason = reason
        SystemCalls.signal(worker.pid, SIGKILL)
        return reason
    }

    /// Handles one frame; returns a protocol violation, if it is one.
    private func handle(_ frame: Frame, from worker: PoolWorker) -> ClusterFuturesError? {
        switch (frame.kind, worker.phase) {
        case (.hello, .starting):
            var fields = ByteReader(frame.payload)
            guard let version = try? fields.readUInt64(), let _ = try? fields.readUInt64() else {
                return ClusterFuturesError(.protocolViolation, "\(worker.name) sent a malformed hello")
            }
            let build = String(decoding: fields.readRemaining(), as: UTF8.self)
            guard version == UInt64(Frame.protocolVersion), build == BuildIdentity.current else {
                breakPool(ClusterFuturesError(.brokenExecutor,
                    "refused \(worker.name) from \(settings.executable): it runs build \(build) (protocol \(version)), "
                    + "this program is build \(BuildIdentity.current) (protocol \(Frame.protocolVersion)); "
                    + "a worker must be a copy of the same build"))
                return nil
            }
            var welcome = ByteWriter()
            welcome.append(UInt64(settings.maxTasksPerChild ?? 0))
            welcome.append(UInt64(settings.spin.clampedNanoseconds))
            var segments = [welcome.bytes]
            if let initializer = settings.initializer { segments += initializer.message.encodedSegments() }
            worker.writer.enqueue(.welcome, id: 0, segments: segments)
            worker.phase = .initializing
        case (.ready, .initializing):
            worker.phase = .ready
            worker.idleSince = .now
        case (.initializerFailed, .initializing):
            let reason = String(decoding: frame.payload, as: UTF8.self)
            breakPool(ClusterFuturesError(.brokenExecutor,
                "the initializer \(settings.initializer?.name ?? "?") failed in \(worker.name): \(reason)"))
        case (.result, .ready), (.result, .stopping):
            guard let first = worker.inFlight.first, first.id == frame.id else {
                // A second answer to the task it answered last: it was still on that one.
                if frame.id == worker.lastAnsweredID { worker.retiredBetweenTasks = true }
                return ClusterFuturesError(.protocolViolation, "\(worker.name) answered task \(frame.id), which it was not running")
            }
            worker.inFlight.removeFirst()
            worker.lastAnsweredID = first.id
            worker.idleSince = .now
            worker.window.recordResult(sentAt: first.sentAt)
            first.job.complete(reply: frame.payload, origin: worker.origin)
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
    private func workerEnded(_ worker: PoolWorker, reason: ClusterFuturesError?) {
        let status = reap(worker)
        // Read only once the process is gone: a crash's message is written just before the end.
        let lastWords = collectStderr(of: worker)
        workers.removeAll { $0 === worker }
        let phase = engine.shared.withLock { $0.phase }
        switch worker.phase {
        case .starting, .initializing:
            if case .terminating = phase { return }
            let during = worker.phase == .initializing
                ? "while running the initializer \(settings.initializer?.name ?? "")" : "while starting"
            breakPool(reason ?? ClusterFuturesError(.brokenExecutor, "\(worker.name) exited with \(status) \(during)\(lastWords)"))
        case .retiring where worker.inFlight.isEmpty:
            logger.debug("\(worker.name) retired after \(worker.tasksSent) tasks")
        case .stopping where worker.inFlight.isEmpty:
            break
        case .ready, .retiring, .stopping:
            // Only the task it was running fails; those sent ahead had not started and go to the
            // next free worker, whatever ended this one (unless every worker is being stopped).
            let running = worker.retiredBetweenTasks ? nil : worker.inFlight.popFirst()
            let error: ClusterFuturesError
            if let reason {
                error = reason
            } else if let running, case .terminating(_, let caller) = phase {
                error = ClusterFuturesError(.workerLost, "\(worker.name) was stopped by \(caller) (\(status)) while running \(running.job.functionName)")
            } else if let running {
                error = ClusterFuturesError(.workerLost, "\(worker.name) died from \(status) while running \(running.job.functionName)\(lastWords)")
            } else {
                if worker.phase == .ready { logger.warning("\(worker.name) exited with \(status) while idle; replacing it") }
                return
            }
            if let running {
                logger.warning("\(error.message); replacing it")
                running.job.fail(error, origin: worker.origin)
                engine.tally.done.add(1, ordering: .relaxed)
            }
            let unstarted = worker.inFlight.map(\.job)
            if case .terminating = phase {
                for job in unstarted { job.fail(error, origin: worker.origin) }
                engine.tally.done.add(unstarted.count, ordering: .relaxed)
            } else {
                requeued.insert(contentsOf: unstarted, at: 0)
            }
        }
    }

    /// Reads the rest of what an ended worker wrote to standard error, and returns its last lines
    /// as the end of an error message ("" when it wrote nothing). A pipe a child of the worker
    /// still holds stays in the poll set, so what the child writes is still passed on.
    private func collectStderr(of worker: PoolWorker) -> String {
        guard let stderr = worker.stderr else { return "" }
        if stderr.drain() { orphanedStderr.append(stderr) }
        return stderr.lastLines.map { "; its last words on stderr: \($0)" } ?? ""
    }

    /// Waits for a worker's exit status: at once for one that is exiting, SIGKILL after a second.
    @discardableResult
    private func reap(_ worker: PoolWorker) -> ExitStatus {
        worker.closeAll()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(1))
        while clock.now < deadline {
            do {
                if let status = try SystemCalls.reap(worker.pid, block: false) { return ExitStatus(raw: status) }
            } catch {
                // ECHILD: the program ignores SIGCHLD (or reaps children itself): no status is kept.
                return ExitStatus(raw: nil)
            }
            usleep(500)
        }
        SystemCalls.signal(worker.pid, SIGKILL)
        return ExitStatus(raw: try? SystemCalls.reap(worker.pid, block: true))
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
            defer { state.queue.removeAll() }
            return Array(state.queue)
        }
        for worker in workers {
            SystemCalls.signal(worker.pid, SIGKILL)
            for (_, job, _) in worker.inFlight { job.fail(error, origin: worker.origin) }
            engine.tally.done.add(worker.inFlight.count, ordering: .relaxed)
            worker.inFlight.removeAll()
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
