#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

extension Communicator {
    /// Sends the array's elements straight from its storage, without encoding or copying
    /// (mpi4py's upper-case `Send` of a NumPy array). Any length.
    public func send<T: MPIScalar>(buffer: [T], to destination: Int, tag: Int = 0) throws {
        try buffer.withUnsafeBytes { raw in
            try sendRaw(raw.baseAddress, count: buffer.count, datatype: T.mpiDatatype,
                        stride: MemoryLayout<T>.stride, to: destination, tag: tag)
        }
    }

    /// Sends the bytes `buffer` points to, as they are, without copying them (mpi4py's upper-case
    /// `Send` of any object with the buffer protocol). Any length.
    public func send(bytes buffer: UnsafeRawBufferPointer, to destination: Int, tag: Int = 0) throws {
        try sendRaw(buffer.baseAddress, count: buffer.count, datatype: UInt8.mpiDatatype, stride: 1,
                    to: destination, tag: tag)
    }

    /// Receives a message of exactly `buffer.count` bytes straight into `buffer` (mpi4py's
    /// upper-case `Recv` into a writable buffer).
    ///
    /// - Throws: ``MPIError`` with class ``MPIError/Class/truncate`` for a longer message, and with
    ///   class ``MPIError/Class/count`` for a shorter one, which would leave part of `buffer` unwritten.
    @discardableResult
    public func receive(intoBytes buffer: UnsafeMutableRawBufferPointer, from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> Status {
        let datatype = UInt8.mpiDatatype
        var status = MPI_Status()
        try datatype.withCount(buffer.count, stride: 1) { mpiCount, mpiType in
            try mpiCall("MPI_Recv") {
                MPI_Recv(buffer.baseAddress, mpiCount, mpiType, source.mpiValue, tag.mpiValue, handle, &status)
            }
        }
        let received = Status(status, datatype: datatype.handle, stride: 1)
        guard received.count == buffer.count else {
            throw MPIError(errorClass: MPIError.Class.count, function: "MPI_Recv",
                           message: "expected a message of \(buffer.count) bytes, received \(received.count)")
        }
        return received
    }

    /// Receives a message of `T`s straight into `buffer`'s storage (mpi4py's upper-case `Recv`).
    ///
    /// The message may be shorter than `buffer` (the status's `count`, in bytes, says how much
    /// arrived; the rest of `buffer` is unchanged); a longer one throws ``MPIError`` with class
    /// ``MPIError/Class/truncate``.
    @discardableResult
    public func receive<T: MPIScalar>(into buffer: inout [T], from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> Status {
        let datatype = T.mpiDatatype
        let stride = MemoryLayout<T>.stride
        let count = buffer.count
        var status = MPI_Status()
        try buffer.withUnsafeMutableBytes { raw in
            try datatype.withCount(count, stride: stride) { mpiCount, mpiType in
                try mpiCall("MPI_Recv") {
                    MPI_Recv(raw.baseAddress, mpiCount, mpiType, source.mpiValue, tag.mpiValue, handle, &status)
                }
            }
        }
        return Status(status, datatype: datatype.handle, stride: stride)
    }

    /// Receives a message of `T`s of any length into a new array sized by a matched probe
    /// (`MPI_Mprobe` then `MPI_Mrecv`; mpi4py's `Recv` into an array of the probed size). The
    /// type may come from the context: `let values: [Int32] = try comm.receiveBuffer(from: 0)`.
    public func receiveBuffer<T: MPIScalar>(of type: T.Type = T.self, from source: some SourceConvertible = Source.any,
                                            tag: some TagConvertible = Tag.any) throws -> [T] {
        try receiveProbed(T.self, from: source, tag: tag).0
    }

    /// Receives as ``receiveBuffer(of:from:tag:)`` does, and sets `status` to the message's status
    /// (mpi4py's `status=` argument).
    public func receiveBuffer<T: MPIScalar>(of type: T.Type = T.self, from source: some SourceConvertible = Source.any,
                                            tag: some TagConvertible = Tag.any, status: inout Status) throws -> [T] {
        let (values, received) = try receiveProbed(T.self, from: source, tag: tag)
        status = received
        return values
    }

    /// Sends `buffer` to `destination` and receives one message of `T`s of any length into a new
    /// array of exactly its length, without deadlocking when the two processes call it at once
    /// (`MPI_Isend`, then `MPI_Mprobe` and `MPI_Mrecv`; mpi4py's `Sendrecv` into an array of the
    /// probed size). The result is the value alone: `let left = try comm.sendReceive(buffer:
    /// mine, to: right, from: left)`; use ``sendReceive(buffer:to:sendTag:into:from:receiveTag:)``
    /// to receive into an existing array.
    public func sendReceive<T: MPIScalar>(
        buffer: [T], to destination: Int, sendTag: Int = 0,
        from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any
    ) throws -> [T] {
        var status = Status()
        return try sendReceive(buffer: buffer, to: destination, sendTag: sendTag, from: source, receiveTag: receiveTag, status: &status)
    }

    /// Sends and receives as ``sendReceive(buffer:to:sendTag:from:receiveTag:)`` does, and sets
    /// `status` to the received message's status (mpi4py's `status=` argument).
    public func sendReceive<T: MPIScalar>(
        buffer: [T], to destination: Int, sendTag: Int = 0,
        from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any, status: inout Status
    ) throws -> [T] {
        let request = try isend(buffer: buffer, to: destination, tag: sendTag)
        let (values, received) = try receiveProbed(T.self, from: source, tag: receiveTag)
        _ = try request.wait()
        status = received
        return values
    }

    /// Sends `buffer` to `destination` and receives into `receiveBuffer` in one call
    /// (`MPI_Sendrecv`, mpi4py's upper-case `Sendrecv`), deadlock-free between two processes.
    @discardableResult
    public func sendReceive<T: MPIScalar>(
        buffer: [T], to destination: Int, sendTag: Int = 0,
        into receiveBuffer: inout [T], from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any
    ) throws -> Status {
        let datatype = T.mpiDatatype
        let stride = MemoryLayout<T>.stride
        let receiveCount = receiveBuffer.count
        var status = MPI_Status()
        try buffer.withUnsafeBytes { sendRaw in
            try receiveBuffer.withUnsafeMutableBytes { receiveRaw in
                try datatype.withCount(buffer.count, stride: stride) { sendCount, sendType in
                    try datatype.withCount(receiveCount, stride: stride) { receiveCount, receiveType in
                        try mpiCall("MPI_Sendrecv") {
                            MPI_Sendrecv(sendRaw.baseAddress, sendCount, sendType, Int32(clamping: destination),
                                         Int32(clamping: sendTag), receiveRaw.baseAddress, receiveCount, receiveType,
                                         source.mpiValue, receiveTag.mpiValue, handle, &status)
                        }
                    }
                }
            }
        }
        return Status(status, datatype: datatype.handle, stride: stride)
    }
}
