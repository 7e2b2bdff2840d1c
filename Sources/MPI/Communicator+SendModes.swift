#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire
import Synchronization

extension Communicator {
    // MARK: Arrays without the buffer: label

    /// Sends the array's elements straight from its storage (`MPI_Send`, mpi4py's upper-case
    /// `Send`), like ``send(buffer:to:tag:)``: an array of numbers passed without a label takes
    /// this typed path, never the encoded `send(_:to:tag:)`.
    public func send<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .standard)
    }

    /// Sends the array's elements straight from its storage (`MPI_Send`): the overload that makes
    /// an array of Codable numbers, such as `[Int]`, take the typed path rather than the encoded one.
    public func send<T: MPIScalar & Encodable>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .standard)
    }

    // MARK: Synchronous mode

    /// Sends the array's elements and returns only once the matching receive has started
    /// (`MPI_Ssend`, mpi4py's `Ssend`).
    public func ssend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .synchronous)
    }

    /// `MPI_Ssend` of an array of Codable numbers, typed (see `ssend(_:to:tag:)`).
    public func ssend<T: MPIScalar & Encodable>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .synchronous)
    }

    /// Sends a value encoded with `WireEncoder` and returns once the matching receive has started
    /// (`MPI_Ssend`, mpi4py's lower-case `ssend`).
    public func ssend(_ value: some Encodable, to destination: Int, tag: Int = 0) throws {
        try sendArray(WireEncoder().encode(value), to: destination, tag: tag, mode: .synchronous)
    }

    /// Starts a synchronous send of the array's elements, without copying them (`MPI_Issend`,
    /// mpi4py's `Issend`): the request completes only once the matching receive has started.
    public func issend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(array, to: destination, tag: tag, mode: .synchronous)
    }

    /// `MPI_Issend` of an array of Codable numbers, typed.
    public func issend<T: MPIScalar & Encodable>(_ array: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(array, to: destination, tag: tag, mode: .synchronous)
    }

    /// Starts a synchronous send of a value encoded with `WireEncoder` (`MPI_Issend`, mpi4py's
    /// lower-case `issend`).
    public func issend(_ value: some Encodable, to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(WireEncoder().encode(value), to: destination, tag: tag, mode: .synchronous)
    }

    // MARK: Buffered mode

    /// Copies the array's elements into the buffer attached with ``MPI/attachBuffer(byteCount:)``
    /// and returns (`MPI_Bsend`, mpi4py's `Bsend`).
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/buffer``) when no buffer is attached or it has no
    ///   room left. The module checks the first case, and a message too large for the whole buffer,
    ///   before MPI sees the send, so that both MPIs throw there (Open MPI would send a small message
    ///   without any buffer, and after refusing a larger one could no longer reach that process).
    ///   A buffer large enough but still full of earlier messages is left to MPI: size it for every
    ///   message in flight at once.
    public func bsend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .buffered)
    }

    /// `MPI_Bsend` of an array of Codable numbers, typed.
    public func bsend<T: MPIScalar & Encodable>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .buffered)
    }

    /// Copies a value encoded with `WireEncoder` into the attached buffer and returns
    /// (`MPI_Bsend`, mpi4py's lower-case `bsend`).
    public func bsend(_ value: some Encodable, to destination: Int, tag: Int = 0) throws {
        try sendArray(WireEncoder().encode(value), to: destination, tag: tag, mode: .buffered)
    }

    /// Starts a buffered send of the array's elements (`MPI_Ibsend`, mpi4py's `Ibsend`).
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/buffer``) as `bsend(_:to:tag:)` does.
    public func ibsend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(array, to: destination, tag: tag, mode: .buffered)
    }

    // MARK: Ready mode

    /// Sends the array's elements to a process that has already posted the matching receive
    /// (`MPI_Rsend`, mpi4py's `Rsend`). If it has not, MPI's behaviour is undefined: make sure with
    /// a message or a barrier after the receive is posted.
    public func rsend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .ready)
    }

    /// `MPI_Rsend` of an array of Codable numbers, typed.
    public func rsend<T: MPIScalar & Encodable>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try sendArray(array, to: destination, tag: tag, mode: .ready)
    }

    /// Starts a ready-mode send of the array's elements, without copying them (`MPI_Irsend`,
    /// mpi4py's `Irsend`).
    public func irsend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(array, to: destination, tag: tag, mode: .ready)
    }

    /// Throws ``MPIError`` (class ``MPIError/Class/buffer``) unless a buffer is attached and a
    /// buffered send of `count` elements of `type` (`MPI_Pack_size`) plus
    /// ``MPI/bufferedSendOverhead`` fits in it.
    ///
    /// MPICH refuses such a send itself. Open MPI 4.1 sends a small message at once without using the
    /// buffer at all, and refuses a larger one with `MPI_ERR_BUFFER` but leaves the connection to
    /// the destination unusable (the next message to it, even a barrier's, never arrives): checking
    /// here gives both MPIs MPICH's behaviour, and keeps the job usable after the error.
    internal func checkBufferedSendFits(_ function: StaticString, count: Int32, type: MPIHandle<MPI_Datatype>) throws {
        var packed: Int32 = 0
        try mpiCall("MPI_Pack_size") { MPI_Pack_size(count, type, handle, &packed) }
        try MPI.checkAttachedBufferFits(function, byteCount: Int(packed) + MPI.bufferedSendOverhead)
    }

    /// Sends `array` in `mode`, blocking, straight from its storage.
    internal func sendArray<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int, mode: SendMode) throws {
        let destination32 = Int32(clamping: destination)
        let tag32 = Int32(clamping: tag)
        try array.withUnsafeBytes { raw in
            try T.mpiDatatype.withCount(array.count, stride: MemoryLayout<T>.stride) { count, type in
                let pointer = raw.baseAddress
                switch mode {
                case .standard:
                    try mpiCall("MPI_Send") { MPI_Send(pointer, count, type, destination32, tag32, handle) }
                case .synchronous:
                    try mpiCall("MPI_Ssend") { MPI_Ssend(pointer, count, type, destination32, tag32, handle) }
                case .buffered:
                    try checkBufferedSendFits("MPI_Bsend", count: count, type: type)
                    try mpiCall("MPI_Bsend") { MPI_Bsend(pointer, count, type, destination32, tag32, handle) }
                case .ready:
                    try mpiCall("MPI_Rsend") { MPI_Rsend(pointer, count, type, destination32, tag32, handle) }
                }
            }
        }
    }
}

extension MPI {
    /// The buffer attached for buffered sends, as an address (0: none), with its size.
    private static let attached = Mutex<(address: UInt, byteCount: Int)>((0, 0))

    /// The bytes each buffered message needs in the attached buffer beyond its data
    /// (`MPI_BSEND_OVERHEAD`, mpi4py's `BSEND_OVERHEAD`).
    public static var bufferedSendOverhead: Int { Int(cmpich_bsend_overhead()) }

    /// Gives MPI a buffer of `byteCount` bytes for buffered sends (`bsend(_:to:tag:)`,
    /// `MPI_Buffer_attach`, mpi4py's `Attach_buffer`). Size it as the messages in flight at once
    /// plus ``bufferedSendOverhead`` for each.
    ///
    /// - Throws: ``MPIError`` if a buffer is already attached (detach it first) or MPI refuses.
    public static func attachBuffer(byteCount: Int) throws {
        try attached.withLock { attached throws(MPIError) in
            guard attached.address == 0 else {
                throw MPIError(errorClass: cmpich_err_other(), function: "MPI_Buffer_attach",
                               message: "a buffer of \(attached.byteCount) bytes is already attached; detach it first")
            }
            guard byteCount >= 0, byteCount <= Int(Int32.max) else {
                throw MPIError(errorClass: cmpich_err_count(), function: "MPI_Buffer_attach",
                               message: "\(byteCount) bytes: the size must be between 0 and \(Int32.max)")
            }
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 16)
            do throws(MPIError) {
                try mpiCall("MPI_Buffer_attach") { MPI_Buffer_attach(memory, Int32(byteCount)) }
            } catch {
                memory.deallocate()
                throw error
            }
            attached = (UInt(bitPattern: memory), byteCount)
        }
    }

    /// Throws ``MPIError`` (class ``MPIError/Class/buffer``) unless a buffer of at least
    /// `byteCount` bytes is attached (see `Communicator.checkBufferedSendFits`).
    internal static func checkAttachedBufferFits(_ function: StaticString, byteCount: Int) throws(MPIError) {
        let size = attached.withLock { $0.address == 0 ? nil : $0.byteCount }
        guard let size else {
            throw MPIError(errorClass: cmpich_err_buffer(), function: "\(function)",
                           message: "no buffer is attached for buffered sends; attach one with MPI.attachBuffer(byteCount:)")
        }
        guard byteCount <= size else {
            throw MPIError(errorClass: cmpich_err_buffer(), function: "\(function)",
                           message: "the message needs \(byteCount) bytes of the attached buffer (with MPI.bufferedSendOverhead), which has \(size)")
        }
    }

    /// Takes back the buffer given with ``attachBuffer(byteCount:)``, once every buffered message
    /// in it has been sent (`MPI_Buffer_detach`, mpi4py's `Detach_buffer`), and frees it. Returns
    /// its size, or 0 if none was attached.
    @discardableResult
    public static func detachBuffer() throws -> Int {
        try attached.withLock { attached throws(MPIError) -> Int in
            guard let memory = UnsafeMutableRawPointer(bitPattern: attached.address) else { return 0 }
            var address: UnsafeMutableRawPointer? = nil
            var size: Int32 = 0
            try mpiCall("MPI_Buffer_detach") {
                withUnsafeMutablePointer(to: &address) { MPI_Buffer_detach($0, &size) }
            }
            memory.deallocate()
            let byteCount = attached.byteCount
            attached = (0, 0)
            return byteCount
        }
    }
}

extension MPIError.Class {
    /// `MPI_ERR_BUFFER`: a buffered send with no attached buffer, or none with room left.
    public static var buffer: Int32 { cmpich_err_buffer() }
}
