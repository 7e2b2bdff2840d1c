@_spi(ExecutorImplementation) import ClusterFutures
import DequeModule
import CClusterFuturesSystem
import ClusterFuturesWire
import Dispatch
import Foundation
import Logging
import MPI
import Synchronization

// The pool breaking: what fails, and with what.
extension MPIDispatcher {
    // MARK: Failure

    /// Marks the pool broken, once, inside `progress`'s lock: every queued job and every job sent
    /// and not answered fails with `error` once the lock is released, and later submits are
    /// refused. Sent jobs stay counted, so that their results are still received before the
    /// workers stop.
    func breakPool(_ error: ClusterFuturesError) {
        let queued: [(Job, Client)]? = shared.withLock { state in
            state.phase.breakDown(error) ? state.queue.removeAll() : nil
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

// A worker rank lost: MPI cannot replace it, so the job ends, with a line that says which.
extension MPIDispatcher {
    /// Every quarter of a second, on the dispatcher thread, in a round where nothing happened (the
    /// dispatcher polls in such rounds many times a second while tasks are out, and sleeps at most
    /// 20 ms between them): if a worker rank with tasks has sent
    /// nothing for ``lossTimeout`` since its oldest task left, says which rank, host and task, and
    /// ends the job with status 1.
    ///
    /// A rank that is killed usually takes the job with it at once (Hydra ends every process when
    /// one dies); this catches the ranks that stop without dying (stopped, wedged, out of memory
    /// and swapping) and hosts that go down or off the network, which Hydra does not notice.
    func endTheJobIfAWorkerIsLost() {
        let time = now()
        if let last = lastLossCheck, time - last < .milliseconds(250) { return }
        lastLossCheck = time
        // Every rank lost at once (a whole host, as a rule) is named, each on a line of its own.
        let lost = workers.compactMap { worker -> String? in
            if !worker.saidHello {
                guard time - startedAt > Self.lossTimeout else { return nil }
                return Self.lossReport(worker, silentFor: time - startedAt)
            }
            guard let sentAt = worker.tasks.oldestSentAt else { return nil }
            let silentSince = max(sentAt, worker.lastHeard ?? sentAt)
            guard time - silentSince > Self.lossTimeout else { return nil }
            return Self.lossReport(worker, silentFor: time - silentSince)
        }
        guard !lost.isEmpty else { return }
        cf_write_stderr(lost.joined(separator: "\n") + "\n")
        // Time for Hydra to pass the lines on before the job ends.
        usleep(200_000)
        MPI.abort(1)
    }

    /// The line that names a lost worker: rank, pid, host, and the function of each task it had.
    static func lossReport(_ worker: WorkerSlot, silentFor silence: Duration) -> String {
        var functions: [String] = []
        for entry in worker.tasks.entries {
            guard case .job(let job) = entry.task.kind else { continue }
            if !functions.contains(job.functionName) { functions.append(job.functionName) }
        }
        let count = worker.tasks.count
        let running = !worker.saidHello ? "before it said hello (no task sent to it)"
            : "while running \(functions.isEmpty ? "its initializer" : functions.joined(separator: ", ")) "
            + "(\(count) task\(count == 1 ? "" : "s") sent to it)"
        let pid = worker.origin.pid == 0 ? "" : "pid \(worker.origin.pid), "
        let seconds = silence.inSeconds
        return "ClusterFutures: MPI worker rank \(worker.rank) (\(pid)host \(worker.origin.host)) "
            + "was lost \(running): nothing from it for "
            + "\(Int(seconds)) s (CLUSTERFUTURES_LOSS_TIMEOUT is \(Int(Self.lossTimeoutSeconds)) s). "
            + "The rank or its host stopped, died or was cut off; MPI cannot replace a rank, so the job ends."
    }
}
