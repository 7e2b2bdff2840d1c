@_spi(ExecutorImplementation) import ClusterFutures
import DequeModule
import CClusterFuturesSystem
import ClusterFuturesWire
import Dispatch
import Foundation
import Logging
import MPI
import Synchronization

// Messages in: hellos, results, and the failures of one executor.
extension MPIDispatcher {
    // MARK: Receiving

    /// Handles the messages that have arrived, up to `limit` of them; returns whether there was any.
    func receiveResults(atMost limit: Int) throws -> Bool {
        var count = 0
        while count < limit, let (bytes, source, tag) = try ranks.receiveIfAvailable() {
            count += 1
            guard source >= 1, source < worldSize else { continue }
            let worker = workers[source - 1]
            if tag != PoolTag.result { worker.lastHeard = now() }
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
            case PoolTag.alive, PoolTag.logEnd:
                break
            case PoolTag.log:
                if let violation = logForwarded(bytes, from: worker) { breakPool(violation) }
            case PoolTag.result:
                let time = now()
                worker.lastHeard = time
                guard let (entry, took) = worker.tasks.answered(at: time) else {
                    breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent a result for no task"))
                    continue
                }
                tasksAreQuick.store(took < Self.helpWorthwhile, ordering: .relaxed)
                complete(entry.task, reply: Payload(bytes: bytes, buffers: worker.buffers), from: worker)
                worker.buffers = []
            default:
                breakPool(ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent a message with unknown tag \(tag)"))
            }
        }
        return count > 0
    }

    func welcome(_ worker: WorkerSlot, _ bytes: [UInt8]) {
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

    /// Logs a record `worker` forwarded (``PoolTag/log``) into the logger of the executor whose
    /// task it runs (the oldest it has not answered: a task's records come before its result), or
    /// else of the executor it last ran tasks for. Returns the protocol violation when rank 0
    /// cannot read it: while the pool runs that breaks it, as any message it cannot trust.
    func logForwarded(_ bytes: [UInt8], from worker: WorkerSlot) -> ClusterFuturesError? {
        let logger = worker.tasks.running?.task.client.logger ?? worker.logClient?.logger ?? self.logger
        do {
            try ForwardedLogRecord(decoding: bytes).log(into: logger, from: worker.origin)
            return nil
        } catch {
            return ClusterFuturesError(.protocolViolation, "rank \(worker.rank) sent \(error.message)")
        }
    }

    func complete(_ sent: Sent, reply: Payload, from worker: WorkerSlot) {
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
    func breakClient(_ client: Client, because reason: String) -> ClusterFuturesError {
        let error = ClusterFuturesError(.brokenExecutor, reason)
        let queued: [Job] = shared.withLock { state in
            guard client.broken == nil else { return [] }
            client.logger.error("\(reason)")
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
}
