@_spi(ExecutorImplementation) import ClusterFutures
import DequeModule
import CClusterFuturesSystem
import ClusterFuturesWire
import Dispatch
import Foundation
import Logging
import MPI
import Synchronization

// Taking back the tasks sent ahead to a worker rank that turned out to be busy with a long one.
extension MPIDispatcher {
    // MARK: Taking back tasks sent ahead

    /// Asks each worker that turned out to be busy with a long task to give back the tasks sent
    /// ahead to it (``ReclaimRequest``); returns whether it asked any.
    func reclaimSentAhead() throws -> Bool {
        // Worth a look only when a worker has tasks sent ahead and another is idle (most rounds
        // stop at the first check, without reading the clock).
        guard workers.contains(where: { $0.tasks.count >= 2 && !$0.reclaimPending }),
              DispatchPolicy.someoneIsIdle(among: workers) else { return false }
        let now = self.now()
        var asked = false
        for worker in workers where !worker.reclaimPending && DispatchPolicy.shouldReclaim(from: worker, now: now) {
            guard let (running, through) = worker.tasks.reclaimRange else { continue }
            try ranks.send(ReclaimRequest(running: running, through: through), to: worker.rank, tag: PoolTag.reclaim)
            worker.reclaimPending = true
            asked = true
        }
        return asked
    }

    /// A worker's ``ReclaimReply``: the tasks it gave back go to the next free worker, ahead of
    /// the queue (an initializer it gave back is sent again before its executor's next task there).
    func reclaimAnswered(by worker: WorkerSlot, _ bytes: [UInt8]) {
        guard worker.reclaimPending, let reply = try? WireDecoder().decode(ReclaimReply.self, from: bytes) else {
            breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent an unexpected or malformed reclaim reply"))
            return
        }
        worker.reclaimPending = false
        guard reply.reclaimed else {
            worker.tasks.takeBackFailed(at: now())
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
}
