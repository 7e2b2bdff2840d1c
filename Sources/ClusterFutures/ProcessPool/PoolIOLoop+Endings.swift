import CClusterFuturesSystem
import DequeModule
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Workers that end, and the pool breaking: what becomes of their tasks.
extension PoolIOLoop {
    /// A worker's process ended (its pidfd), or its result pipe reached end of file: it exited,
    /// planned or not, or was killed for a protocol violation.
    func workerEnded(_ worker: Worker, reason: ClusterFuturesError?) {
        let status = worker.link.reap()
        // Read only once the process is gone: a crash's message is written just before the end.
        let lastWords = worker.link.lastWords()
        workers.removeAll { $0 === worker }
        let phase = engine.shared.withLock { $0.phase }
        switch worker.phase {
        case .starting, .initializing:
            if phase.terminatedBy != nil { return }
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
            } else if let running, let (_, caller) = phase.terminatedBy {
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
            if phase.terminatedBy != nil {
                for job in unstarted { job.fail(error, origin: worker.origin) }
                engine.tally.done.add(unstarted.count, ordering: .relaxed)
            } else {
                requeued.insert(contentsOf: unstarted, at: 0)
            }
        }
    }

    /// Marks the pool broken: every queued and running job fails with `error`, every worker is killed.
    func breakPool(_ error: ClusterFuturesError) {
        let first = engine.shared.withLock { $0.phase.breakDown(error) }
        if first { logger.error("the process pool is broken: \(error.message)") }
    }

    func failEverything(_ error: ClusterFuturesError) {
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
}
