import CClusterFuturesSystem
import DequeModule
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Tasks out: which worker gets each queued job, taking back what was sent ahead, and stopping
// idle workers.
extension PoolIOLoop {
    /// Hands queued jobs to the workers ``DispatchPolicy`` picks: idle ones first, and ahead of a
    /// running task only while the worker's tasks are quick.
    func dispatch() {
        defer { returnUnsentJobs() }
        let starting = startingWorkers
        while let worker = DispatchPolicy.target(among: workers, starting: starting, now: now) {
            guard let job = nextRunnableJob() else { return }
            do {
                try send(job, to: worker)
            } catch {
                // Its function could not be numbered: it fails alone, and the pool goes on.
                job.fail(error, origin: nil)
                engine.tally.done.add(1, ordering: .relaxed)
            }
        }
    }

    /// Workers started and not yet taking tasks: queued work waits for them rather than queue
    /// behind a busy worker.
    var startingWorkers: Int {
        workers.count { $0.phase == .starting || $0.phase == .initializing }
    }

    /// Takes back the tasks sent ahead to workers that turned out to be busy with a long task, so
    /// that they go to the next free worker instead of waiting behind it; returns whether it took
    /// back any. Called after ``dispatch()``: a worker idle then has nothing queued for it.
    @discardableResult
    func reclaimSentAhead() -> Bool {
        // Worth a look only when a worker has tasks sent ahead and another is idle (most turns stop
        // at the first check, without reading the clock).
        guard workers.contains(where: { $0.tasks.count >= 2 }), DispatchPolicy.someoneIsIdle(among: workers) else { return false }
        var tookBack = false
        let time = now()
        for worker in workers where DispatchPolicy.shouldReclaim(from: worker, now: time) {
            guard let claim = worker.link.claim, let (running, through) = worker.tasks.reclaimRange else { continue }
            guard claim.revoke(running: running, through: through) else {
                // It has not claimed the task it was sent (it may still be reading it), or has just
                // moved on and its answer is on the way: look again a little later.
                worker.tasks.takeBackFailed(at: time)
                continue
            }
            let reclaimed = worker.tasks.takeBack(after: running, through: through).map(\.task)
            worker.tasksSent -= reclaimed.count
            requeued.insert(contentsOf: reclaimed, at: 0)
            tookBack = true
            lastActivity = time
            logger.trace("took back \(reclaimed.count) tasks sent ahead to \(worker.name), busy with a long task")
        }
        return tookBack
    }

    /// Puts jobs taken in a batch but not sent back at the front of the shared queue, where shutdown
    /// can cancel them; if shutdown already cancelled the queue while they were out of it, cancels
    /// them too.
    func returnUnsentJobs() {
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
    func nextRunnableJob() -> Job? {
        while true {
            if let job = requeued.popFirst() { return job }
            if let job = taken.popFirst() {
                if job.markRunning() { return job }
                continue
            }
            // Take a handful at once: one lock for several jobs.
            let batch = engine.shared.withLock { state -> [Job] in
                var batch: [Job] = []
                state.queue.popBatch(upTo: 32, into: &batch)
                return batch
            }
            if batch.isEmpty { return nil }
            taken.append(contentsOf: batch)
        }
    }

    /// Sends `job` to `worker` under the next task id, after its function's definition when the
    /// worker has not had it.
    func send(_ job: Job, to worker: Worker) throws(ClusterFuturesError) {
        let number = try functionNumbers.number(for: job.functionType)
        while number >= numberSegments.count { numberSegments.append(NumberedTask.segment(number: numberSegments.count)) }
        if !worker.defined.contains(number) {
            let definition = FunctionDefinition(number: number, taskPrefix: job.taskPrefix)
            worker.link.enqueue(.define, id: 0, segments: [NumberedTask.payload(defining: definition)])
            worker.defined.insert(number)
        }
        let id = nextTaskID
        nextTaskID += 1
        worker.tasks.sent(job, id: id, at: now())
        worker.tasksSent += 1
        worker.link.enqueue(.task, id: id, segments: [numberSegments[number], job.request])
    }

    func flushWrites() {
        for worker in workers where worker.link.hasPendingWrites { worker.link.flush() }
    }

    func stopIdleWorkers(phase: PoolPhase, queueIsEmpty: Bool) {
        guard let idleTimeout = settings.idleTimeout, phase.stage == .running, queueIsEmpty else { return }
        let time = now()
        for worker in workers where worker.phase == .ready && worker.tasks.isEmpty && time - worker.idleSince >= idleTimeout {
            logger.debug("stopping idle \(worker.name)")
            worker.phase = .stopping
            worker.link.closeInput()
        }
    }
}
