@_spi(ExecutorImplementation) import ClusterFutures
import ClusterFuturesWire
import MPI

/// The messages between rank 0 and the worker ranks, told apart by tag. They travel on a duplicate
/// of the world communicator, so a program's own MPI traffic never mixes with them.
package enum PoolTag {
    /// Worker → rank 0, once at start-up: a ``WorkerHello``.
    package static let hello = 1
    /// Rank 0 → worker: a function's number and task prefix (``FunctionDefinition``), sent before
    /// its first task to that worker.
    package static let define = 2
    /// Rank 0 → worker: stop serving, finalize MPI and exit 0.
    package static let stop = 3
    /// Worker → rank 0: the encoded reply to the oldest task it was sent.
    package static let result = 4
    /// Either way, just before a task or a result: a ``BufferList`` naming the out-of-band buffers
    /// that go with it, which follow at once, each as one ``bufferData`` message of its raw bytes.
    package static let buffers = 5
    package static let bufferData = 6
    /// Rank 0 → worker: a ``ReclaimRequest``, to take back the tasks sent ahead of a long one.
    package static let reclaim = 7
    /// Worker → rank 0: a ``ReclaimReply``, whether they were taken back.
    package static let reclaimed = 8
    /// Worker → rank 0, empty, every ``ReclaimWatcher/aliveInterval`` while a task runs: the rank
    /// is alive. Rank 0 takes a worker that sends nothing for ``MPIDispatcher/lossTimeout`` while
    /// it has tasks for lost.
    package static let alive = 9
    /// Rank 0 → worker, one byte (`Logger.Level.wireCode`): the level of the executor whose tasks
    /// follow, sent before the first of them whenever it differs from the rank's. The rank's
    /// loggers forward records at or above it (unless a logger set its own level).
    package static let logLevel = 10
    /// Worker → rank 0, from any thread of the rank: a ``ForwardedLogRecord``, which rank 0 logs
    /// into the logger of the executor whose task the rank runs, with the rank, pid and host.
    package static let log = 11
    /// Worker → rank 0, empty, once, in answer to ``stop``: the rank sends no more log records.
    /// Rank 0 takes the records still on their way until it has this from every rank.
    package static let logEnd = 12
    /// Rank 0 → worker: `taskBase + n` carries an encoded request for function number n, with
    /// nothing else, so that the request is sent from and received into its own buffer.
    package static let taskBase = 16

    // Function numbers stay below `FunctionNumbers.limit`, so `taskBase + n` stays within the tags
    // every MPI allows (up to 32767).
}

/// The version of the MPI pool's messages, said in each rank's ``WorkerHello``.
package enum PoolProtocol {
    package static let version = 4
}

/// The out-of-band buffers (`WireBuffer`) sent with a task or result: arrays of trivial numbers of
/// at least ``minimumBytes`` travel as messages of their own, straight from the sender's array
/// into the receiver's, instead of being copied into and out of the encoded message.
struct BufferList: Codable, Equatable {
    /// One buffer: its element kind (the wire format's byte) and its number of elements.
    struct Buffer: Codable, Equatable {
        var kind: UInt8
        var count: Int
    }

    var buffers: [Buffer]

    /// The size from which an array travels out of band: below it, the extra message costs more
    /// than the copies it saves.
    static let minimumBytes = 64 << 10

    init(_ buffers: [WireBuffer]) {
        self.buffers = buffers.map { Buffer(kind: $0.kind.rawValue, count: $0.count) }
    }
}

extension Communicator {
    /// Receives the buffers a ``BufferList`` (`list`, as received from `source`) announces, each
    /// straight into a new array of its element type.
    ///
    /// - Throws: `ClusterFuturesError` with code `protocolViolation` for a malformed list, or a
    ///   buffer whose message does not have the announced size (checked before allocating).
    func receiveBuffers(listedIn list: [UInt8], from source: Int) throws -> [WireBuffer] {
        guard let list = try? WireDecoder().decode(BufferList.self, from: list) else {
            throw ClusterFuturesError(.protocolViolation, "rank \(source) sent a malformed buffer list")
        }
        return try list.buffers.map { announced in
            let status = try probe(from: .rank(source), tag: .value(PoolTag.bufferData))
            guard let kind = WireBuffer.Kind(rawValue: announced.kind), status.count % kind.elementSize == 0,
                  announced.count == status.count / kind.elementSize else {
                throw ClusterFuturesError(.protocolViolation,
                    "rank \(source) announced \(announced.count) elements of kind \(announced.kind) and sent \(status.count) bytes")
            }
            return try WireBuffer(kind: kind, count: announced.count) { raw in
                try receive(intoBytes: raw, from: .rank(source), tag: .value(PoolTag.bufferData))
            }
        }
    }
}

/// Rank 0 takes back the tasks a worker was sent after the one it runs: those numbered
/// `running + 1 ... through` (tasks are numbered from 1 in the order sent to that worker). See
/// `TaskClaim`.
package struct ReclaimRequest: Codable, Equatable {
    package var running: UInt64
    package var through: UInt64

    /// Takes back the tasks after `running`, up to `through`.
    package init(running: UInt64, through: UInt64) {
        self.running = running
        self.through = through
    }
}

/// A worker's answer to a ``ReclaimRequest``: whether the tasks after `running` up to `through` were taken back
/// (none had started, and the worker skips them), or not (it had moved on).
package struct ReclaimReply: Codable, Equatable {
    package var running: UInt64
    package var through: UInt64
    package var reclaimed: Bool

    /// The answer to the request for the tasks after `running` up to `through`.
    package init(running: UInt64, through: UInt64, reclaimed: Bool) {
        self.running = running
        self.through = through
        self.reclaimed = reclaimed
    }
}
