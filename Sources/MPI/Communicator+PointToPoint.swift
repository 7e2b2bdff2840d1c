#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire

extension Communicator {
    // MARK: Raw bytes

    /// Sends bytes to `destination` with `tag` (`MPI_Send` of `MPI_BYTE`), blocking until the
    /// buffer may be reused. Any size: beyond ``MPI/countLimit`` the message uses a derived datatype.
    public func send(bytes: [UInt8], to destination: Int, tag: Int = 0) throws {
        try bytes.withUnsafeBytes { raw in
            try sendRaw(raw.baseAddress, count: raw.count, datatype: .byte, stride: 1, to: destination, tag: tag)
        }
    }

    /// Receives one message of bytes of any length, sized by a matched probe first
    /// (`MPI_Mprobe` then `MPI_Mrecv`, so another thread cannot take the message in between).
    public func receiveBytes(from source: some SourceConvertible = Source.any,
                             tag: some TagConvertible = Tag.any) throws -> [UInt8] {
        try receiveProbed(UInt8.self, from: source, tag: tag).0
    }

    /// Receives one message of bytes of any length, as ``receiveBytes(from:tag:)``, and sets
    /// `status` to its status (mpi4py's `status=` argument).
    public func receiveBytes(from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any,
                             status: inout Status) throws -> [UInt8] {
        let (bytes, received) = try receiveProbed(UInt8.self, from: source, tag: tag)
        status = received
        return bytes
    }

    /// Receives one message of bytes if a matching one has arrived, else returns nil at once
    /// (`MPI_Improbe` then `MPI_Mrecv`): the building block of a polling loop that must not block,
    /// which is how a process waits without spinning a core in `MPI_Recv`. It looks twice when the
    /// first look finds nothing, so that a message that came while this process made no MPI call
    /// is found by this call, not the next one (see `probeTwiceIfNeeded`).
    public func receiveBytesIfAvailable(from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> ([UInt8], Status)? {
        var message: MPIHandle<MPI_Message> = cmpich_message_null()
        var status = MPI_Status()
        var flag: Int32 = 0
        try probeTwiceIfNeeded(&flag, "MPI_Improbe") { MPI_Improbe(source.mpiValue, tag.mpiValue, handle, $0, &message, &status) }
        guard flag != 0 else { return nil }
        return try receiveMatched(UInt8.self, message: &message, status: &status)
    }

    // MARK: Codable values

    /// Sends a value encoded with `WireEncoder` (mpi4py's lower-case `send`).
    public func send(_ value: some Encodable, to destination: Int, tag: Int = 0) throws {
        try send(bytes: WireEncoder().encode(value), to: destination, tag: tag)
    }

    /// Receives a value sent with ``send(_:to:tag:)-(Encodable,_,_)`` and decodes it (mpi4py's lower-case `recv`).
    ///
    /// The type may come from the context: `let x: Message = try comm.receive(from: 0)`. Arrays of
    /// ``MPIScalar`` take the typed overload instead, which receives their elements as they are.
    public func receive<T: Decodable>(_ type: T.Type = T.self, from source: some SourceConvertible = Source.any,
                                      tag: some TagConvertible = Tag.any) throws -> T {
        try WireDecoder().decode(T.self, from: receiveBytes(from: source, tag: tag))
    }

    /// Receives a value as ``receive(_:from:tag:)->T`` does, and sets `status` to its status: sender,
    /// tag, and the encoded size in bytes (mpi4py's `recv(..., status=status)`).
    public func receive<T: Decodable>(_ type: T.Type = T.self, from source: some SourceConvertible = Source.any,
                                      tag: some TagConvertible = Tag.any, status: inout Status) throws -> T {
        try WireDecoder().decode(T.self, from: receiveBytes(from: source, tag: tag, status: &status))
    }

    /// Sends `value` to `destination` and receives a value, without deadlocking when the two
    /// processes call it at once (`MPI_Isend` of the encoded bytes then a matched receive;
    /// mpi4py's `sendrecv`). The received type may come from the context:
    /// `let left: Message = try comm.sendReceive(mine, to: right, from: left)`.
    public func sendReceive<T: Encodable, U: Decodable>(
        _ value: T, to destination: Int, sendTag: Int = 0,
        receiving type: U.Type = U.self, from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any
    ) throws -> U {
        var status = Status()
        return try sendReceive(value, to: destination, sendTag: sendTag, receiving: U.self, from: source,
                               receiveTag: receiveTag, status: &status)
    }

    /// Sends `value` and receives a value as ``sendReceive(_:to:sendTag:receiving:from:receiveTag:)``
    /// does, and sets `status` to the received message's status (mpi4py's `sendrecv(...,
    /// status=status)`).
    public func sendReceive<T: Encodable, U: Decodable>(
        _ value: T, to destination: Int, sendTag: Int = 0,
        receiving type: U.Type = U.self, from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any,
        status: inout Status
    ) throws -> U {
        let bytes = try sendReceive(bytes: WireEncoder().encode(value), to: destination, sendTag: sendTag,
                                    from: source, receiveTag: receiveTag, status: &status)
        return try WireDecoder().decode(U.self, from: bytes)
    }

    /// Sends bytes to `destination` and receives one message of bytes, without deadlocking when
    /// the two processes call it at once (`MPI_Isend`, then a matched receive of any length;
    /// mpi4py's `sendrecv` of `bytes`).
    public func sendReceive(
        bytes: [UInt8], to destination: Int, sendTag: Int = 0, from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any
    ) throws -> [UInt8] {
        var status = Status()
        return try sendReceive(bytes: bytes, to: destination, sendTag: sendTag, from: source, receiveTag: receiveTag, status: &status)
    }

    /// Sends and receives bytes as ``sendReceive(bytes:to:sendTag:from:receiveTag:)`` does, and
    /// sets `status` to the received message's status.
    public func sendReceive(
        bytes: [UInt8], to destination: Int, sendTag: Int = 0, from source: some SourceConvertible = Source.any, receiveTag: some TagConvertible = Tag.any,
        status: inout Status
    ) throws -> [UInt8] {
        let request = try isend(bytes: bytes, to: destination, tag: sendTag)
        let received = try receiveBytes(from: source, tag: receiveTag, status: &status)
        _ = try request.wait()
        return received
    }

    // MARK: Probing

    /// Waits for a matching message without receiving it (`MPI_Probe`).
    public func probe(from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> Status {
        var status = MPI_Status()
        try mpiCall("MPI_Probe") { MPI_Probe(source.mpiValue, tag.mpiValue, handle, &status) }
        return Status(status, datatype: cmpich_byte(), stride: 1)
    }

    /// The status of a matching message if one has arrived, else nil, without waiting
    /// (`MPI_Iprobe`), looking twice as ``receiveBytesIfAvailable(from:tag:)`` does.
    public func iprobe(from source: some SourceConvertible = Source.any, tag: some TagConvertible = Tag.any) throws -> Status? {
        var status = MPI_Status()
        var flag: Int32 = 0
        try probeTwiceIfNeeded(&flag, "MPI_Iprobe") { MPI_Iprobe(source.mpiValue, tag.mpiValue, handle, $0, &status) }
        return flag == 0 ? nil : Status(status, datatype: cmpich_byte(), stride: 1)
    }

    // MARK: Shared helpers

    /// Runs a non-blocking probe (`probe(flag)`), and once more when it finds nothing.
    ///
    /// With MPICH's ch4:ucx device (Debian's build), a message that arrived while the process made
    /// no MPI call is taken in by one probe and reported only by the next: here, `MPI_Improbe` and
    /// `MPI_Iprobe` each took 20 calls to report 10 such messages, where `MPI_Test` on a posted
    /// receive took 10. A process that polls between sleeps would see every message one whole
    /// sleep late: results polled for every 2 ms were seen 4.2 to 7.7 ms after they were sent, and
    /// 2.1 ms with the second probe. The second probe costs well under a microsecond.
    ///
    /// Each probe takes in one message, so looking twice finds the first message that arrived, and
    /// a probe for any source and tag always finds one there. A probe for one source or tag, with
    /// other messages arrived ahead of its own, may need a further call.
    internal func probeTwiceIfNeeded(_ flag: inout Int32, _ function: StaticString,
                                     _ probe: (UnsafeMutablePointer<Int32>) -> Int32) throws(MPIError) {
        try mpiCall(function) { probe(&flag) }
        if flag == 0 { try mpiCall(function) { probe(&flag) } }
    }

    /// Sends `count` elements at `pointer` as one message.
    internal func sendRaw(_ pointer: UnsafeRawPointer?, count: Int, datatype: Datatype, stride: Int,
                          to destination: Int, tag: Int) throws {
        try datatype.withCount(count, stride: stride) { count, type in
            try mpiCall("MPI_Send") {
                MPI_Send(pointer, count, type, Int32(clamping: destination), Int32(clamping: tag), handle)
            }
        }
    }

    /// Receives one message of `T`s into a new array of exactly its length (matched probe first).
    internal func receiveProbed<T: MPIScalar>(_ type: T.Type, from source: some SourceConvertible,
                                              tag: some TagConvertible) throws -> ([T], Status) {
        var message: MPIHandle<MPI_Message> = cmpich_message_null()
        var status = MPI_Status()
        try mpiCall("MPI_Mprobe") { MPI_Mprobe(source.mpiValue, tag.mpiValue, handle, &message, &status) }
        return try receiveMatched(T.self, message: &message, status: &status)
    }

    /// Receives a message matched by a probe into a new array of exactly its length.
    ///
    /// Inlined so that the byte receive every pool message takes is specialized: unspecialized,
    /// making the array looks its storage class up at run time, on every message.
    @inline(__always)
    internal func receiveMatched<T: MPIScalar>(
        _ type: T.Type, message: inout MPIHandle<MPI_Message>, status: inout MPI_Status
    ) throws -> ([T], Status) {
        let datatype = T.mpiDatatype
        let stride = MemoryLayout<T>.stride
        var elements: MPI_Count = 0
        try mpiCall("MPI_Get_elements_x") { MPI_Get_elements_x(&status, datatype.handle, &elements) }
        let count = Int(elements)
        let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try datatype.withCount(count, stride: stride) { mpiCount, mpiType in
                try mpiCall("MPI_Mrecv") { MPI_Mrecv(buffer.baseAddress, mpiCount, mpiType, &message, &status) }
            }
            initialized = count
        }
        return (values, Status(status, datatype: datatype.handle, stride: stride))
    }
}
