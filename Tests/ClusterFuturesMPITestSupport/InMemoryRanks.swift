@_spi(ExecutorImplementation) import ClusterFutures
import ClusterFuturesMPI
import ClusterFuturesWire
import Synchronization

/// Worker ranks in memory, for the MPI pool's dispatcher (`MPIDispatcher`) without `mpiexec`: rank
/// 0's messages land in each rank's inbox, and the test makes each rank say hello, run its next
/// task, start one and stay in it, answer requests to give back what was sent ahead, or send
/// something wrong, as `WorkerRank` and its `ReclaimWatcher` would.
// @unchecked Sendable: a test uses it from its own thread only, stepping a dispatcher that has no
// thread of its own; the lock makes that safe even so.
package final class InMemoryRanks: RankTransport, @unchecked Sendable {
    /// One worker rank.
    package final class Rank {
        package let rank: Int
        /// Rank 0's messages not yet taken, in order.
        fileprivate var inbox: [(tag: Int, bytes: [UInt8])] = []
        /// Task prefixes by function number.
        private var definitions: [Int: [UInt8]] = [:]
        /// Tasks received so far (their numbers, from 1).
        private var sequence: UInt64 = 0
        /// The task it runs (0: none), and the last task given back.
        private var running: UInt64 = 0
        private var runningTask: (prefix: [UInt8], request: [UInt8])?
        private var revokedThrough: UInt64 = 0
        /// Runs each task as it arrives.
        package var runsAtOnce = false
        /// Each task it ran, by its input's function name, in order.
        package private(set) var ran: [String] = []
        /// Tasks it skipped because they were taken back.
        package private(set) var skipped = 0
        package private(set) var stopped = false
        /// The log levels it was sent (`PoolTag.logLevel`), in order, as their wire codes.
        package private(set) var logLevels: [UInt8] = []
        fileprivate weak var ranks: InMemoryRanks?

        package init(rank: Int) { self.rank = rank }

        /// Task messages waiting in its inbox.
        package var queuedTasks: Int { inbox.count { $0.tag >= PoolTag.taskBase } }

        package func sayHello(build: String = BuildIdentity.current) {
            let hello = WorkerHello(version: PoolProtocol.version, build: build, host: "memory", pid: Int32(1000 + rank))
            say((try? WireEncoder().encode(hello)) ?? [], tag: PoolTag.hello)
        }

        /// Sends rank 0 anything.
        package func say(_ bytes: [UInt8], tag: Int) {
            ranks?.fromRanks.withLock { $0.append((bytes, rank, tag)) }
        }

        /// Takes messages until a task it runs: finishes it and answers. Returns whether it ran one.
        @discardableResult
        package func runNextTask() -> Bool {
            if runningTask != nil { return finishTask() }
            guard startNextTask() else { return false }
            return finishTask()
        }

        /// Takes messages until a task it claims, and stays in it. Returns whether there was one.
        @discardableResult
        package func startNextTask() -> Bool {
            while !inbox.isEmpty {
                let (tag, bytes) = inbox.removeFirst()
                switch tag {
                case PoolTag.define:
                    if let definition = try? WireDecoder().decode(FunctionDefinition.self, from: bytes) {
                        definitions[definition.number] = definition.taskPrefix
                    }
                case PoolTag.reclaim:
                    answerReclaim(bytes)
                case PoolTag.logLevel:
                    logLevels += bytes
                case PoolTag.stop:
                    stopped = true
                    return false
                case let tag where tag >= PoolTag.taskBase:
                    sequence += 1
                    // Taken back: skipped, unanswered.
                    guard sequence > revokedThrough else {
                        skipped += 1
                        continue
                    }
                    running = sequence
                    runningTask = (definitions[tag - PoolTag.taskBase] ?? [], bytes)
                    return true
                default:
                    continue
                }
            }
            return false
        }

        /// Answers the task it runs.
        @discardableResult
        package func finishTask() -> Bool {
            guard let task = runningTask else { return false }
            runningTask = nil
            let reply = FunctionRegistry.shared.serve(taskPrefix: task.prefix, request: task.request[...])
            ran.append(FunctionRegistry.functionName(inTaskPrefix: task.prefix))
            say(reply, tag: PoolTag.result)
            return true
        }

        /// Answers the requests to give back tasks that wait in its inbox, as its watcher thread
        /// does while it runs a task.
        package func answerReclaims() {
            let requests = inbox.filter { $0.tag == PoolTag.reclaim }
            inbox.removeAll { $0.tag == PoolTag.reclaim }
            for request in requests { answerReclaim(request.bytes) }
        }

        private func answerReclaim(_ bytes: [UInt8]) {
            guard let request = try? WireDecoder().decode(ReclaimRequest.self, from: bytes) else { return }
            // As `TaskClaim.revoke`: only while it still runs the task the request names.
            let reclaimed = runningTask != nil && running == request.running
            if reclaimed { revokedThrough = request.through }
            let reply = ReclaimReply(running: request.running, through: request.through, reclaimed: reclaimed)
            say((try? WireEncoder().encode(reply)) ?? [], tag: PoolTag.reclaimed)
        }

        fileprivate func received() {
            guard runsAtOnce else { return }
            while runNextTask() {}
        }
    }

    package let ranks: [Rank]
    /// Messages from the worker ranks to rank 0, in order: bytes, source, tag.
    fileprivate let fromRanks = Mutex<[(bytes: [UInt8], source: Int, tag: Int)]>([])

    /// A world of `size` processes: rank 0 and `size - 1` worker ranks.
    package init(size: Int) {
        ranks = (1..<max(1, size)).map(Rank.init(rank:))
        for rank in ranks { rank.ranks = self }
    }

    package subscript(rank: Int) -> Rank { ranks[rank - 1] }

    package func send(bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws {
        self[rank].inbox.append((tag, Array(bytes)))
        // As `WorkerRank` does: no log record follows the answer to a stop.
        if tag == PoolTag.stop { self[rank].say([], tag: PoolTag.logEnd) }
        self[rank].received()
    }

    package func startSend(bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws -> any PendingSend {
        try send(bytes: bytes, to: rank, tag: tag)
        return Sent()
    }

    package func receiveIfAvailable() throws -> (bytes: [UInt8], source: Int, tag: Int)? {
        fromRanks.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    package func receive(from rank: Int, tag: Int) throws -> [UInt8] {
        try fromRanks.withLock { messages in
            guard let index = messages.firstIndex(where: { $0.source == rank && $0.tag == tag }) else {
                throw ClusterFuturesError(.protocolViolation, "rank \(rank) owes a message with tag \(tag) that the test never sent")
            }
            return messages.remove(at: index).bytes
        }
    }

    /// These ranks answer with no out-of-band buffers (their tasks' values are small), so a list
    /// announcing some is a test's mistake.
    package func receiveBuffers(listedIn list: [UInt8], from rank: Int) throws -> [WireBuffer] {
        throw ClusterFuturesError(.protocolViolation, "rank \(rank) in memory announced out-of-band buffers, which it never sends")
    }

    /// A send that finished at once.
    private struct Sent: PendingSend {
        package func isComplete() throws -> Bool { true }
    }
}
