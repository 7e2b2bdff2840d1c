@_spi(ExecutorImplementation) import ClusterFutures
import DequeModule
import CClusterFuturesSystem
import ClusterFuturesWire
import Dispatch
import Foundation
import Logging
import MPI
import Synchronization

// Tasks out: which worker rank gets each queued job, and the messages that carry it.
extension MPIDispatcher {
    // MARK: Sending

    /// Hands queued jobs to workers with room, least loaded first; in a world of one process, runs
    /// them here if this is the dispatcher thread (a submitting or waiting thread must not run other
    /// futures' tasks). Returns whether anything was sent.
    func dispatch(onDispatcherThread: Bool) throws -> Bool {
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
    func nextJob() -> (Job, Client)? {
        // Taken back from a busy worker: already running, so ahead of the queue.
        if let reclaimed = reclaimed.popFirst() { return reclaimed }
        while true {
            let next: (Job, Client)? = shared.withLock { state in
                state.phase.broken == nil ? state.queue.popNext() : nil
            }
            guard let (job, client) = next else { return nil }
            if job.markRunning() { return (job, client) }
            client.outstanding.leave()
        }
    }

    func send(_ job: Job, of client: Client, to worker: WorkerSlot) throws {
        // The rank logs at the level of the executor whose tasks it runs; messages to it keep their
        // order, so the level changes just before this executor's first task there.
        let level = client.logger.logLevel
        if worker.logLevel != level {
            try ranks.send(bytes: [level.wireCode], to: worker.rank, tag: PoolTag.logLevel)
            worker.logLevel = level
        }
        worker.logClient = client
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
    func sendTask(
        _ function: ObjectIdentifier, prefix: [UInt8], request: [UInt8], buffers: [WireBuffer], to worker: WorkerSlot
    ) throws -> UInt64 {
        let number = try functionNumbers.number(for: function)
        if !worker.defined.contains(number) {
            try ranks.send(FunctionDefinition(number: number, taskPrefix: prefix), to: worker.rank, tag: PoolTag.define)
            worker.defined.insert(number)
        }
        try ranks.sendBuffers(buffers, to: worker.rank) { try self.send($0, tag: PoolTag.bufferData, to: worker) }
        try request.withUnsafeBytes { try send($0, tag: PoolTag.taskBase + number, to: worker) }
        worker.sentTasks += 1
        return worker.sentTasks
    }

    /// Sends one message of a task. A small one, or a large one to a worker with nothing else to do
    /// (it is polling, so the transfer starts at once), goes straight from its buffer. A large one
    /// to a busy worker is copied and left to finish on its own, so it never holds up other results.
    func send(_ bytes: UnsafeRawBufferPointer, tag: Int, to worker: WorkerSlot) throws {
        if bytes.count <= Self.eagerLimit || worker.tasks.isEmpty {
            try ranks.send(bytes: bytes, to: worker.rank, tag: tag)
        } else {
            pendingSends.append(try ranks.startSend(bytes: bytes, to: worker.rank, tag: tag))
        }
    }

    /// Drops the large sends that have completed; returns whether any did.
    func completeSends() throws -> Bool {
        guard !pendingSends.isEmpty else { return false }
        let before = pendingSends.count
        pendingSends = try pendingSends.filter { try !$0.isComplete() }
        return pendingSends.count != before
    }

    /// A world of one process: the thread making progress runs the task itself, after the
    /// client's initializer the first time. Its future is completed, as a worker's result would
    /// be, once the progress lock is released.
    func runLocally(_ job: Job, client: Client) {
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
}
