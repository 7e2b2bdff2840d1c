@_spi(ExecutorImplementation) import ClusterFutures
import Logging
import MPI
import Synchronization

/// A worker rank's log records, on their way to rank 0 (``PoolTag/log``).
///
/// Installed only when the program left `LoggingSystem` to ClusterFutures (it gave its handler to
/// `ClusterRuntime.bootstrap`): swift-log traps on a second bootstrap, and a rank runs the
/// program's `main` up to that call, so otherwise the rank's logging is left as the program set it
/// up. MPI runs with `MPI_THREAD_MULTIPLE` (``MPIWorld``), so any thread may send; a lock orders
/// the sends with ``close()``, after which nothing more is sent and records go to the program's
/// handler on this rank.
final class RankLogForwarder: Sendable {
    /// The sending side, which the sink holds.
    private final class Outbox: Sendable {
        let communicator: Communicator
        /// Whether records may still be sent.
        let open = Mutex(true)

        init(communicator: Communicator) { self.communicator = communicator }

        func send(_ record: [UInt8]) -> Bool {
            open.withLock { isOpen in
                isOpen && (try? communicator.send(bytes: record, to: 0, tag: PoolTag.log)) != nil
            }
        }
    }

    private let outbox: Outbox
    /// The level records must reach; nil when forwarding is not installed.
    let sink: WorkerLogSink?

    /// Installs forwarding on this rank if the program allows it.
    init(communicator: Communicator) {
        let outbox = Outbox(communicator: communicator)
        self.outbox = outbox
        guard let program = WorkerLogging.programHandler else {
            sink = nil
            return
        }
        // Until rank 0 says (with an executor's first task), the program's own level.
        let sink = WorkerLogSink(level: program("ClusterFutures").logLevel, fallback: program, send: outbox.send)
        self.sink = WorkerLogging.install(sink) ? sink : nil
    }

    /// Sets the level from a ``PoolTag/logLevel`` message.
    func setLevel(_ bytes: [UInt8]) throws {
        guard bytes.count == 1, let level = try? Logger.Level(wireCode: UInt64(bytes[0])) else {
            throw ClusterFuturesError(.protocolViolation, "rank 0 sent a malformed log level (\(bytes.count) bytes)")
        }
        sink?.level = level
    }

    /// Sends no more records (waiting for one being sent), and tells rank 0 so (``PoolTag/logEnd``).
    func close() throws {
        outbox.open.withLock { $0 = false }
        try outbox.communicator.send(bytes: [], to: 0, tag: PoolTag.logEnd)
    }
}
