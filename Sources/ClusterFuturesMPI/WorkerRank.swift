import CClusterFuturesSystem
@_spi(ExecutorImplementation) import ClusterFutures
import ClusterFuturesWire
import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a rank above 0 does in an MPI pool: say hello, then run the tasks rank 0 sends, in order,
/// until told to stop; then finalize MPI and exit 0. It never returns to the program's code.
enum WorkerRank {
    /// How a worker waits for its next task: 2 ms of polling (yielding the core between polls)
    /// after each message, long enough to cover rank 0's side of a round trip, then sleeps that
    /// double up to 2 ms between polls while idle, and in a long idle spell up to a fiftieth of it,
    /// at most 20 ms.
    static let spin: Duration = .milliseconds(2)
    static let maxSleep: Duration = .milliseconds(2)

    static func serveAndExit(on communicator: Communicator) -> Never {
        // This process is ours: keep freed memory rather than fault in fresh pages for each large
        // message.
        cf_keep_freed_memory()
        // Ctrl-C reaches every rank (Hydra passes it on); rank 0 decides what becomes of the pool, as
        // a process pool's parent does for its workers. It says what became of the tasks and ends;
        // the launcher then ends this rank. A worker that died of it first could have the job
        // cleaned up before rank 0 had said a word.
        signal(SIGINT, SIG_IGN)
        do {
            try serve(on: communicator)
            try MPIWorld.leave(communicator)
        } catch {
            cf_write_stderr("ClusterFutures MPI worker rank \(communicator.rank) on \(MPI.processorName): \(error)\n")
            MPI.abort(70)
        }
        exit(0)
    }

    private static func serve(on communicator: Communicator) throws {
        // From here on, if the program allows, this rank's loggers send their records to rank 0.
        let logs = RankLogForwarder(communicator: communicator)
        try communicator.send(WorkerHello.current(version: PoolProtocol.version, host: MPI.processorName), to: 0, tag: PoolTag.hello)
        let registry = FunctionRegistry.shared
        // A task that kills this rank ends the whole job (MPI cannot replace a rank): say which.
        cf_install_crash_reporter()
        let whereAmI = "rank \(communicator.rank) (pid \(getpid()), host \(MPI.processorName))"
        /// What rank 0 defined, with the line a crash in each writes.
        var functions = DefinedFunctions<UnsafeMutablePointer<CChar>?>()
        /// The out-of-band buffers of the next task.
        var buffers: [WireBuffer] = []
        var backoff = IdleBackoff(spin: spin, maxSleep: maxSleep)
        // Takes back, for rank 0, tasks sent ahead while this rank runs a long one.
        let watcher = ReclaimWatcher(communicator: communicator)
        defer { watcher.stop() }
        /// The number of the last task received (tasks are numbered from 1, in the order sent).
        var sequence: UInt64 = 0
        while true {
            guard let (bytes, status) = try communicator.receiveBytesIfAvailable(from: 0) else {
                backoff.pause()
                continue
            }
            switch status.tag {
            case PoolTag.stop:
                // Rank 0 takes the records still on their way until it hears that none follow.
                try logs.close()
                return
            case PoolTag.logLevel:
                try logs.setLevel(bytes)
            case PoolTag.buffers:
                buffers = try communicator.receiveBuffers(listedIn: bytes, from: 0)
            case PoolTag.define:
                guard let definition = try? WireDecoder().decode(FunctionDefinition.self, from: bytes) else {
                    throw ClusterFuturesError(.protocolViolation, "rank 0 sent a malformed function definition")
                }
                try functions.define(definition, registry: registry) { name in
                    // Kept for the life of the process: the signal handler may read it at any time.
                    strdup("ClusterFutures: MPI worker \(whereAmI) died while running \(name); "
                           + "MPI cannot replace a rank, so the launcher ends the job")
                }
            case PoolTag.reclaim:
                try watcher.answer(bytes)
            case let tag where tag >= PoolTag.taskBase:
                sequence += 1
                // Taken back by rank 0, which sends it elsewhere: skipped, unanswered.
                guard watcher.claim.claim(sequence) else {
                    buffers = []
                    backoff.reset()
                    continue
                }
                let number = tag - PoolTag.taskBase
                let reply: Payload
                if let function = functions[number] {
                    cf_set_crash_message(function.extra)
                    watcher.taskStarted(sequence)
                    if let entry = function.entry {
                        reply = entry.serve(bytes[...], buffers: buffers, outOfBandMinimum: BufferList.minimumBytes)
                    } else {
                        // A function this build lacks: the registry's reply that fails the call.
                        reply = Payload(bytes: registry.serve(taskPrefix: function.taskPrefix, request: bytes[...]))
                    }
                    watcher.taskEnded()
                    cf_set_crash_message(nil)
                } else {
                    reply = Payload(bytes: DefinedFunctions<Void>.undefinedReply(number))
                }
                buffers = []
                try MPIRanks(communicator: communicator).sendBuffers(reply.buffers, to: 0)
                try communicator.send(bytes: reply.bytes, to: 0, tag: PoolTag.result)
            default:
                throw ClusterFuturesError(.protocolViolation, "rank 0 sent a message with unknown tag \(status.tag)")
            }
            backoff.reset()
        }
    }
}
