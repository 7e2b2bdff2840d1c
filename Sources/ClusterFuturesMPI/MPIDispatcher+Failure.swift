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
