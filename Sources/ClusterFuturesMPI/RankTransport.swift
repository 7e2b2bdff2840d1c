import ClusterFuturesWire
import MPI

/// How rank 0's ``MPIDispatcher`` reaches the worker ranks: it only moves tagged messages. The
/// real one is MPI (``MPIRanks``); tests use one in memory (`InMemoryRanks`, in the test-support
/// target `ClusterFuturesMPITestSupport`), so that the MPI pool's scheduling,
/// take-back, breakage and shutdown run deterministically, without `mpiexec`.
///
/// Its capabilities are MPI's: it can only be polled (there is no wait that frees the core), a
/// rank it loses cannot be replaced (the launcher ends the job), and every executor of the program
/// shares the one set of ranks.
package protocol RankTransport: Sendable {
    /// Sends `bytes` to `rank` with `tag`, returning once the buffer may be reused.
    func send(bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws
    /// Starts sending a copy of `bytes` to `rank` with `tag`; the send finishes on its own.
    func startSend(bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws -> any PendingSend
    /// The next message that has arrived from any rank, with its source and tag; nil when none has.
    func receiveIfAvailable() throws -> (bytes: [UInt8], source: Int, tag: Int)?
    /// Waits for the next message from `rank` with `tag`.
    func receive(from rank: Int, tag: Int) throws -> [UInt8]
    /// Receives the out-of-band buffers a ``BufferList`` (`list`, from `rank`) announces.
    func receiveBuffers(listedIn list: [UInt8], from rank: Int) throws -> [WireBuffer]
}

/// A send started with ``RankTransport/startSend(bytes:to:tag:)``.
package protocol PendingSend: Sendable {
    /// Whether it has finished.
    func isComplete() throws -> Bool
}

extension RankTransport {
    /// Sends `bytes` to `rank` with `tag`.
    package func send(bytes: [UInt8], to rank: Int, tag: Int) throws {
        try bytes.withUnsafeBytes { try send(bytes: $0, to: rank, tag: tag) }
    }

    /// Sends `value`, encoded with `WireEncoder`.
    package func send(_ value: some Encodable, to rank: Int, tag: Int) throws {
        try send(bytes: WireEncoder().encode(value), to: rank, tag: tag)
    }

    /// Sends `buffers` to `rank`: their ``BufferList``, then each buffer's bytes, as they are, with
    /// tag ``PoolTag/bufferData``, by `sendData` (nil: a blocking send). Nothing is sent for no
    /// buffers.
    func sendBuffers(
        _ buffers: [WireBuffer], to rank: Int, sendingData sendData: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) throws {
        guard !buffers.isEmpty else { return }
        try send(BufferList(buffers), to: rank, tag: PoolTag.buffers)
        for buffer in buffers {
            try buffer.withUnsafeBytes { bytes in
                if let sendData {
                    try sendData(bytes)
                } else {
                    try send(bytes: bytes, to: rank, tag: PoolTag.bufferData)
                }
            }
        }
    }
}

/// The worker ranks over MPI: the pool's duplicate of the world communicator.
struct MPIRanks: RankTransport {
    let communicator: Communicator

    func send(bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws {
        try communicator.send(bytes: bytes, to: rank, tag: tag)
    }

    func startSend(bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws -> any PendingSend {
        try communicator.isend(bytes: bytes, to: rank, tag: tag)
    }

    func receiveIfAvailable() throws -> (bytes: [UInt8], source: Int, tag: Int)? {
        guard let (bytes, status) = try communicator.receiveBytesIfAvailable() else { return nil }
        return (bytes, status.source, status.tag)
    }

    func receive(from rank: Int, tag: Int) throws -> [UInt8] {
        try communicator.receiveBytes(from: rank, tag: tag)
    }

    func receiveBuffers(listedIn list: [UInt8], from rank: Int) throws -> [WireBuffer] {
        try communicator.receiveBuffers(listedIn: list, from: rank)
    }
}

extension Request: PendingSend {
    package func isComplete() throws -> Bool { try test() != nil }
}
