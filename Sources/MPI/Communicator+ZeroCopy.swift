#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire
import Synchronization

/// An array whose storage MPI reads or writes in place, held by a ``Request`` (and, for a receive,
/// by the ``ReceiveRequest`` or ``PersistentRequest`` that hands it back).
///
/// `@unchecked Sendable` because `array` is never touched while MPI may use its storage: a send's
/// array is only read (it is never changed once boxed); a receive's array is only read or changed
/// by its single owner (a `~Copyable` ``ReceiveRequest`` or ``PersistentRequest``) after the
/// request completed, and for a persistent request only under the request's lock while inactive.
internal final class ArrayBox<T>: @unchecked Sendable {
    /// The array.
    var array: [T]

    init(_ array: consuming [T]) {
        self.array = array
    }

    /// Takes the array out, leaving an empty one.
    func take() -> [T] {
        var taken: [T] = []
        swap(&taken, &array)
        return taken
    }
}

/// How a send completes: mpi4py's `Send`, `Ssend`, `Bsend` and `Rsend`.
internal enum SendMode {
    /// `MPI_Send`: returns once the buffer may be reused.
    case standard
    /// `MPI_Ssend`: returns once the matching receive has started.
    case synchronous
    /// `MPI_Bsend`: copies into the attached buffer and returns.
    case buffered
    /// `MPI_Rsend`: the matching receive must already be posted.
    case ready
}

extension Communicator {
    // MARK: Zero-copy non-blocking sends

    /// Starts sending the array's elements (`MPI_Isend`, mpi4py's `Isend`) straight from its
    /// storage, without copying them.
    ///
    /// The request keeps the array alive until the send completes. Array storage is copy-on-write
    /// and the request shares it, so nobody can change what MPI is reading: a caller who changes
    /// its own array afterwards gets a fresh copy, and the message keeps the values it had here.
    /// Arrays of numbers take this overload, not the encoded one; receive them with
    /// `receive(_:from:tag:)`, ``ireceive(into:from:tag:)`` or any typed receive.
    public func isend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(array, to: destination, tag: tag, mode: .standard)
    }

    /// Starts sending the array's elements without copying them (`MPI_Isend`): the overload that
    /// makes an array of Codable numbers, such as `[Double]`, take the typed path rather than the
    /// encoded `isend(_:to:tag:)`.
    public func isend<T: MPIScalar & Encodable>(_ array: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try startSend(array, to: destination, tag: tag, mode: .standard)
    }

    /// Starts a send of `array` in `mode` from its own storage, which the request keeps alive.
    internal func startSend<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int, mode: SendMode) throws -> Request {
        let box = ArrayBox(array)
        // The storage stays where it is while the box holds the array and nobody changes it.
        let pointer = box.array.withUnsafeBytes { $0.baseAddress }
        let count = box.array.count
        let stride = MemoryLayout<T>.stride
        let datatype = T.mpiDatatype
        var request: MPIHandle<MPI_Request> = cmpich_request_null()
        let destination32 = Int32(clamping: destination)
        let tag32 = Int32(clamping: tag)
        try datatype.withCount(count, stride: stride) { mpiCount, mpiType in
            switch mode {
            case .standard:
                try mpiCall("MPI_Isend") { MPI_Isend(pointer, mpiCount, mpiType, destination32, tag32, self.handle, &request) }
            case .synchronous:
                try mpiCall("MPI_Issend") { MPI_Issend(pointer, mpiCount, mpiType, destination32, tag32, self.handle, &request) }
            case .buffered:
                try checkBufferedSendFits("MPI_Ibsend", count: mpiCount, type: mpiType)
                try mpiCall("MPI_Ibsend") { MPI_Ibsend(pointer, mpiCount, mpiType, destination32, tag32, self.handle, &request) }
            case .ready:
                try mpiCall("MPI_Irsend") { MPI_Irsend(pointer, mpiCount, mpiType, destination32, tag32, self.handle, &request) }
            }
        }
        return Request(handle: request, kind: .send(destination: destination, tag: tag, count: count * stride),
                       datatype: datatype, stride: stride, storage: .kept(box))
    }

    // MARK: Zero-copy non-blocking receives

    /// Starts receiving into `buffer`'s own storage (`MPI_Irecv`, mpi4py's `Irecv`); the request
    /// owns the array until ``ReceiveRequest/wait()`` gives it back with the status.
    ///
    /// Hand the array over with `consume` (`try comm.ireceive(into: consume values, from: 0)`) and
    /// MPI writes into that very storage: the compiler then rejects any use of `values` until you
    /// assign it again, usually from `wait()`. An array still shared when passed (without
    /// `consume`, or with other copies alive) is copied first, as any change to a shared array is,
    /// and the other copies never see the message. The message may be shorter than the array
    /// (the status's `count`, in bytes, says how much arrived; the rest is unchanged); a longer one
    /// makes the wait throw ``MPIError`` with class ``MPIError/Class/truncate``.
    public func ireceive<T: MPIScalar>(into buffer: consuming [T], from source: some SourceConvertible = Source.any,
                                       tag: some TagConvertible = Tag.any) throws -> ReceiveRequest<T> {
        let box = ArrayBox(buffer)
        let stride = MemoryLayout<T>.stride
        if source.mpiValue == cmpich_proc_null() {
            // Completes at once with MPI's empty status for PROC_NULL (MPICH's MPI_Test reports
            // source 0 and tag 0 for it instead).
            try MPI.checkRunning("MPI_Irecv")
            let status = Status(source: Int(cmpich_proc_null()), tag: Int(cmpich_any_tag()), count: 0)
            let request = Request(handle: cmpich_request_null(), kind: .receive, datatype: T.mpiDatatype, stride: stride,
                                  storage: .kept(box), completed: status)
            return ReceiveRequest(request: request, box: box)
        }
        let pointer = box.array.withUnsafeMutableBytes { $0.baseAddress }
        let count = box.array.count
        var handle: MPIHandle<MPI_Request> = cmpich_request_null()
        try T.mpiDatatype.withCount(count, stride: stride) { mpiCount, mpiType in
            try mpiCall("MPI_Irecv") {
                MPI_Irecv(pointer, mpiCount, mpiType, source.mpiValue, tag.mpiValue, self.handle, &handle)
            }
        }
        let request = Request(handle: handle, kind: .receive, datatype: T.mpiDatatype, stride: stride, storage: .kept(box))
        return ReceiveRequest(request: request, box: box)
    }

    /// Starts receiving one message of `T`s of any length (mpi4py's `irecv` without a buffer):
    /// the request looks for it with `MPI_Improbe` each time it is tested, then receives it with
    /// `MPI_Imrecv` into an array of exactly its length, which ``ReceiveRequest/wait()`` returns.
    ///
    /// Until the message is found, no receive is posted in MPI: a synchronous send
    /// (`issend(_:to:tag:)`, `ssend(_:to:tag:)`) to this process completes only once
    /// this request is tested or waited for, and a blocking `ssend` from this process to its sender
    /// before that can deadlock. Use ``ireceive(into:from:tag:)`` where the size is known.
    public func ireceive<T: MPIScalar>(_ type: [T].Type = [T].self, from source: some SourceConvertible = Source.any,
                                       tag: some TagConvertible = Tag.any) throws -> ReceiveRequest<T> {
        try MPI.checkRunning("MPI_Improbe")
        let box = ArrayBox<T>([])
        let datatype = T.mpiDatatype
        let stride = MemoryLayout<T>.stride
        let probe = Request.PendingProbe(source: source.mpiValue, tag: tag.mpiValue, communicator: handle) { message, status in
            var elements: MPI_Count = 0
            try mpiCall("MPI_Get_elements_x") { MPI_Get_elements_x(&status, datatype.handle, &elements) }
            let count = Int(elements)
            box.array = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
            let pointer = box.array.withUnsafeMutableBytes { $0.baseAddress }
            var request: MPIHandle<MPI_Request> = cmpich_request_null()
            try datatype.withCount(count, stride: stride) { mpiCount, mpiType in
                try mpiCall("MPI_Imrecv") { MPI_Imrecv(pointer, mpiCount, mpiType, &message, &request) }
            }
            return (request, .kept(box))
        }
        let request = Request(handle: cmpich_request_null(), kind: .receive, datatype: datatype, stride: stride,
                              storage: .none, probe: probe)
        return ReceiveRequest(request: request, box: box)
    }

    /// Starts receiving one message of bytes of any length, with no size to guess: as
    /// ``ireceive(_:from:tag:)`` for `[UInt8]` (`MPI_Improbe`, then `MPI_Imrecv`). Decode a value
    /// sent with `isend(_:to:tag:)` with ``ReceiveRequest/waitValue(_:)``.
    public func ireceiveBytes(from source: some SourceConvertible = Source.any,
                              tag: some TagConvertible = Tag.any) throws -> ReceiveRequest<UInt8> {
        try ireceive([UInt8].self, from: source, tag: tag)
    }
}

/// A non-blocking receive that owns the array MPI writes into, made by
/// ``Communicator/ireceive(into:from:tag:)`` or ``Communicator/ireceive(_:from:tag:)``.
///
/// The caller handed the array over (`consume`), so nothing but MPI can reach its storage until
/// ``wait()`` gives it back, once. A class, so that any number of them fit in an array (Swift's
/// arrays cannot hold non-copyable values); a second ``wait()`` throws instead of returning the
/// array again. To complete it together with other requests (``Request/waitAll(_:)``,
/// ``Request/waitAny(_:)``, ``Request/testSome(_:)``...), pass its ``request``; ``wait()`` then
/// returns at once.
///
/// Dropping it before completion cancels the receive (`MPI_Cancel`), unless its ``request`` is
/// still held somewhere, in which case the receive goes on into memory that request keeps alive.
public final class ReceiveRequest<T: MPIScalar>: Sendable {
    /// The MPI request, for completing it with others and for ``Request/cancel()``. It gives no
    /// access to the data.
    public let request: Request
    /// The array MPI writes into.
    private let box: ArrayBox<T>
    /// Whether ``wait()`` has given the array back.
    private let taken = Mutex(false)

    internal init(request: Request, box: ArrayBox<T>) {
        self.request = request
        self.box = box
    }

    /// Whether the receive is known to have completed.
    public var isComplete: Bool { request.isComplete }

    /// The status if the receive has completed, else nil, without waiting (`MPI_Test`). The
    /// array stays here until ``wait()``.
    public func test() throws -> Status? {
        try request.test()
    }

    /// Waits for the receive (`MPI_Wait`, mpi4py's `Wait`) and gives back the array with the
    /// status. The array is the one handed to ``Communicator/ireceive(into:from:tag:)``, in the
    /// same storage, now holding the message.
    ///
    /// - Throws: ``MPIError`` if the receive failed, or (class ``MPIError/Class/request``) if an
    ///   earlier `wait()` already gave the array back.
    public func wait() throws -> ([T], Status) {
        let status = try request.wait()
        let first = taken.withLock { taken in
            defer { taken = true }
            return !taken
        }
        guard first else {
            throw MPIError(errorClass: cmpich_err_request(), function: "ReceiveRequest.wait",
                           message: "the array was already given back by an earlier wait()")
        }
        return (box.take(), status)
    }
}

extension ReceiveRequest where T == UInt8 {
    /// Waits for the receive and decodes the value it brought (sent with
    /// `isend(_:to:tag:)`; mpi4py's `irecv().wait()`).
    public func waitValue<V: Decodable>(_ type: V.Type = V.self) throws -> V {
        let (bytes, _) = try wait()
        return try WireDecoder().decode(V.self, from: bytes)
    }
}
