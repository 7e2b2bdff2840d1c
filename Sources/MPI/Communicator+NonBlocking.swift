import ClusterFuturesWire

extension Communicator {
    /// Starts sending bytes (`MPI_Isend`) and returns at once. MPI reads them straight from the
    /// array's storage, which the request keeps alive (and, being shared, unchanged) until done.
    public func isend(bytes: [UInt8], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(bytes, to: destination, tag: tag, mode: .standard)
    }

    /// Starts sending the bytes `buffer` points to (`MPI_Isend`); the request holds a copy, so
    /// `buffer` may change or go away as soon as this returns.
    public func isend(bytes buffer: UnsafeRawBufferPointer, to destination: Int, tag: Int = 0) throws -> Request {
        try Request(sendFrom: buffer, count: buffer.count, datatype: .byte, stride: 1,
                    to: destination, tag: tag, communicator: handle)
    }

    /// Starts sending a typed buffer (`MPI_Isend`, mpi4py's `Isend`) without copying it: the
    /// request keeps the array alive and MPI reads its storage (as `isend(_:to:tag:)` of an array does).
    public func isend<T: MPIScalar>(buffer: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(buffer, to: destination, tag: tag, mode: .standard)
    }

    /// Starts sending a value encoded with `WireEncoder` (mpi4py's lower-case `isend`). The
    /// receiver may use ``receive(_:from:tag:)->T``, ``ireceiveBytes(from:tag:)`` and
    /// ``ReceiveRequest/waitValue(_:)`` (no size to guess), or ``ireceiveBytes(capacity:from:tag:)`` and
    /// ``Request/receivedValue(_:)``.
    public func isend(_ value: some Encodable, to destination: Int, tag: Int = 0) throws -> Request {
        try isend(bytes: WireEncoder().encode(value), to: destination, tag: tag)
    }

    /// Starts receiving one message of at most `capacity` bytes (`MPI_Irecv`); read it with
    /// ``Request/receivedBytes()`` or ``Request/receivedValue(_:)`` once complete. A longer message
    /// makes the request fail with class ``MPIError/Class/truncate``.
    public func ireceiveBytes(capacity: Int, from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> Request {
        try Request(receiveCapacity: capacity, datatype: .byte, stride: 1, from: source.mpiValue, tag: tag.mpiValue, communicator: handle)
    }

    /// Starts receiving at most `count` elements of `T` (`MPI_Irecv`, mpi4py's `Irecv`); read them
    /// with ``Request/received(as:)`` once complete.
    public func ireceive<T: MPIScalar>(_ type: T.Type, count: Int, from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> Request {
        try Request(receiveCapacity: count, datatype: T.mpiDatatype, stride: MemoryLayout<T>.stride,
                    from: source.mpiValue, tag: tag.mpiValue, communicator: handle)
    }
}
