#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire

extension Communicator {
    /// Waits for a matching message and takes it out of the queue for this caller alone
    /// (`MPI_Mprobe`, mpi4py's `Mprobe`): receive it with one of ``MatchedMessage``'s methods. No other
    /// receive, in this thread or another, can take it in between.
    public func mprobe(from source: some SourceConvertible = Source.any,
                       tag: some TagConvertible = Tag.any) throws -> MatchedMessage {
        var message: MPIHandle<MPI_Message> = cmpich_message_null()
        var status = MPI_Status()
        try mpiCall("MPI_Mprobe") { MPI_Mprobe(source.mpiValue, tag.mpiValue, handle, &message, &status) }
        return MatchedMessage(handle: message, status: status)
    }

    /// A matching message taken out of the queue as ``mprobe(from:tag:)`` does, if one has
    /// arrived, else nil at once (`MPI_Improbe`, mpi4py's `Improbe`).
    public func improbe(from source: some SourceConvertible = Source.any,
                        tag: some TagConvertible = Tag.any) throws -> MatchedMessage? {
        var message: MPIHandle<MPI_Message> = cmpich_message_null()
        var status = MPI_Status()
        var flag: Int32 = 0
        try probeTwiceIfNeeded(&flag, "MPI_Improbe") {
            MPI_Improbe(source.mpiValue, tag.mpiValue, handle, $0, &message, &status)
        }
        guard flag != 0 else { return nil }
        return MatchedMessage(handle: message, status: status)
    }
}

/// A message matched by ``Communicator/mprobe(from:tag:)`` or ``Communicator/improbe(from:tag:)``
/// (`MPI_Message`, mpi4py's `Message`), to be received exactly once by one of its `receive`
/// methods (`MPI_Mrecv`, `MPI_Imrecv`). Not copyable, so the compiler rejects a second receive.
///
/// Receive every message you probe: one dropped unreceived stays matched in MPI and can never be
/// received by anyone.
public struct MatchedMessage: ~Copyable, Sendable {
    /// The MPI message handle and its status.
    ///
    /// `@unchecked Sendable` because a `MatchedMessage` is not copyable: its one owner is the only one to
    /// pass the handle to MPI (which is thread-safe at `MPI_THREAD_MULTIPLE`).
    private struct Raw: @unchecked Sendable {
        var handle: MPIHandle<MPI_Message>
        var status: MPI_Status
    }

    /// The handle and status.
    private let raw: Raw

    /// The message's status: sender, tag, and size in bytes.
    public let status: Status

    internal init(handle: MPIHandle<MPI_Message>, status: MPI_Status) {
        self.raw = Raw(handle: handle, status: status)
        self.status = Status(status, datatype: cmpich_byte(), stride: 1)
    }

    /// Receives the message's elements into a new array of exactly its length (`MPI_Mrecv`,
    /// mpi4py's `Message.Recv`).
    public consuming func receive<T: MPIScalar>(_ type: [T].Type = [T].self) throws -> [T] {
        var raw = self.raw
        return try Communicator.world.receiveMatched(T.self, message: &raw.handle, status: &raw.status).0
    }

    /// Receives the message's elements into a new array (`MPI_Mrecv`): the overload that makes
    /// arrays of Codable numbers take the typed path.
    public consuming func receive<T: MPIScalar & Decodable>(_ type: [T].Type = [T].self) throws -> [T] {
        var raw = self.raw
        return try Communicator.world.receiveMatched(T.self, message: &raw.handle, status: &raw.status).0
    }

    /// Receives the message and decodes the value it carries (`MPI_Mrecv`, mpi4py's lower-case
    /// `Message.recv`), sent with `send(_:to:tag:)`.
    public consuming func receive<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        var raw = self.raw
        let bytes = try Communicator.world.receiveMatched(UInt8.self, message: &raw.handle, status: &raw.status).0
        return try WireDecoder().decode(T.self, from: bytes)
    }

    /// Receives the message into `buffer`'s storage (`MPI_Mrecv`, mpi4py's `Message.Recv` with a
    /// buffer): a shorter message leaves the rest unchanged; a longer one throws ``MPIError`` with
    /// class ``MPIError/Class/truncate``.
    @discardableResult
    public consuming func receive<T: MPIScalar>(into buffer: inout [T]) throws -> Status {
        var raw = self.raw
        let count = buffer.count
        let stride = MemoryLayout<T>.stride
        try buffer.withUnsafeMutableBytes { bytes in
            try T.mpiDatatype.withCount(count, stride: stride) { mpiCount, mpiType in
                try mpiCall("MPI_Mrecv") { MPI_Mrecv(bytes.baseAddress, mpiCount, mpiType, &raw.handle, &raw.status) }
            }
        }
        return Status(raw.status, datatype: T.mpiDatatype.handle, stride: stride)
    }

    /// Starts receiving the message into `buffer`'s own storage (`MPI_Imrecv`, mpi4py's
    /// `Message.Irecv`); the request owns the array until ``ReceiveRequest/wait()``.
    public consuming func ireceive<T: MPIScalar>(into buffer: consuming [T]) throws -> ReceiveRequest<T> {
        var raw = self.raw
        let box = ArrayBox(buffer)
        let pointer = box.array.withUnsafeMutableBytes { $0.baseAddress }
        let count = box.array.count
        let stride = MemoryLayout<T>.stride
        var request: MPIHandle<MPI_Request> = cmpich_request_null()
        try T.mpiDatatype.withCount(count, stride: stride) { mpiCount, mpiType in
            try mpiCall("MPI_Imrecv") { MPI_Imrecv(pointer, mpiCount, mpiType, &raw.handle, &request) }
        }
        let made = Request(handle: request, kind: .receive, datatype: T.mpiDatatype, stride: stride, storage: .kept(box))
        return ReceiveRequest(request: made, box: box)
    }

    /// Starts receiving the message into a new array of exactly its length (`MPI_Imrecv`).
    public consuming func ireceive<T: MPIScalar>(_ type: [T].Type = [T].self) throws -> ReceiveRequest<T> {
        var raw = self.raw
        var elements: MPI_Count = 0
        try mpiCall("MPI_Get_elements_x") { MPI_Get_elements_x(&raw.status, T.mpiDatatype.handle, &elements) }
        let count = Int(elements)
        let array = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        return try MatchedMessage(handle: raw.handle, status: raw.status).ireceive(into: array)
    }
}
