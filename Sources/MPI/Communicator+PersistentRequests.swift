#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

extension Communicator {
    /// Makes a persistent send of `buffer`'s elements to `destination` (`MPI_Send_init`, mpi4py's
    /// `Send_init`): set up once, then sent each time it is started (``PersistentRequest/start()``,
    /// ``Request/startAll(_:)``), straight from the array's storage.
    ///
    /// The request owns the array: change it between runs with ``PersistentRequest/withBuffer(_:)``,
    /// which refuses while a send is in flight, and take it back with ``PersistentRequest/free()``.
    /// Hand it over with `consume` to keep its storage; a shared array is copied first.
    public func sendInit<T: MPIScalar>(_ buffer: consuming [T], to destination: Int,
                                       tag: Int = 0) throws -> PersistentRequest<T> {
        let box = ArrayBox(buffer)
        let pointer = box.array.withUnsafeMutableBytes { UnsafeRawPointer($0.baseAddress) }
        let count = box.array.count
        let stride = MemoryLayout<T>.stride
        var request: MPIHandle<MPI_Request> = cmpich_request_null()
        try T.mpiDatatype.withCount(count, stride: stride) { mpiCount, mpiType in
            try mpiCall("MPI_Send_init") {
                MPI_Send_init(pointer, mpiCount, mpiType, Int32(clamping: destination), Int32(clamping: tag), handle, &request)
            }
        }
        let made = Request(handle: request, kind: .send(destination: destination, tag: tag, count: count * stride),
                           datatype: T.mpiDatatype, stride: stride, storage: .kept(box), persistent: true)
        return PersistentRequest(request: made, box: box)
    }

    /// Makes a persistent receive into `buffer`'s storage (`MPI_Recv_init`, mpi4py's
    /// `Recv_init`): set up once, then received each time it is started. Read each message with
    /// ``PersistentRequest/withBuffer(_:)`` once the run has completed.
    public func receiveInit<T: MPIScalar>(into buffer: consuming [T], from source: some SourceConvertible = Source.any,
                                          tag: some TagConvertible = Tag.any) throws -> PersistentRequest<T> {
        let box = ArrayBox(buffer)
        let pointer = box.array.withUnsafeMutableBytes { $0.baseAddress }
        let count = box.array.count
        let stride = MemoryLayout<T>.stride
        var request: MPIHandle<MPI_Request> = cmpich_request_null()
        try T.mpiDatatype.withCount(count, stride: stride) { mpiCount, mpiType in
            try mpiCall("MPI_Recv_init") {
                MPI_Recv_init(pointer, mpiCount, mpiType, source.mpiValue, tag.mpiValue, handle, &request)
            }
        }
        let made = Request(handle: request, kind: .receive, datatype: T.mpiDatatype, stride: stride,
                           storage: .kept(box), persistent: true)
        return PersistentRequest(request: made, box: box)
    }
}

/// A persistent send or receive (mpi4py's `Prequest`), made by ``Communicator/sendInit(_:to:tag:)``
/// or ``Communicator/receiveInit(into:from:tag:)``: started any number of times, each run
/// completed like any request.
///
/// It owns the array MPI reads or writes. ``withBuffer(_:)`` reaches it only while no run is in
/// flight (and only as a `MutableSpan`, which cannot move or resize the storage MPI was given);
/// ``free()`` gives it back, once. A class, so that any number of them fit in an array; to start
/// or complete it together with others, pass its ``request`` to ``Request/startAll(_:)``,
/// ``Request/waitAll(_:)`` and the like.
public final class PersistentRequest<T: MPIScalar>: Sendable {
    /// The MPI request, for ``Request/startAll(_:)`` and the completion calls. It gives no access
    /// to the data.
    public let request: Request
    /// The array MPI reads or writes.
    private let box: ArrayBox<T>

    internal init(request: Request, box: ArrayBox<T>) {
        self.request = request
        self.box = box
    }

    /// Starts one run (`MPI_Start`, mpi4py's `Prequest.Start`).
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if a run is still in flight.
    public func start() throws {
        try request.start()
    }

    /// The status if the current run has completed (or none is in flight), else nil (`MPI_Test`).
    public func test() throws -> Status? {
        try request.test()
    }

    /// Waits for the current run (`MPI_Wait`); returns at once with an empty status if none is in
    /// flight.
    @discardableResult
    public func wait() throws -> Status {
        try request.wait()
    }

    /// Whether no run is in flight.
    public var isComplete: Bool { request.isComplete }

    /// Reads or changes the array between runs: for a send, what the next run sends; for a
    /// receive, what the last one received. `body` must not start or complete this request.
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) while a run is in flight (complete
    ///   it first) or after ``free()``.
    public func withBuffer<R>(_ body: (inout MutableSpan<T>) throws -> R) throws -> R {
        try request.whileInactive("PersistentRequest.withBuffer") {
            try withMutableSpan(of: &box.array, body)
        }
    }

    /// Waits for a run in flight, frees the MPI request (`MPI_Request_free`, mpi4py's
    /// `Prequest.Free`) and gives back the array, in the storage MPI used.
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if it was already freed.
    public func free() throws -> [T] {
        try request.wait()
        try request.freePersistent()
        return box.take()
    }
}

/// Calls `body` with a `MutableSpan` over `array`'s elements.
private func withMutableSpan<T, R>(of array: inout [T], _ body: (inout MutableSpan<T>) throws -> R) rethrows -> R {
    var span = array.mutableSpan
    return try body(&span)
}

extension Request {
    /// Starts a run of a persistent request (`MPI_Start`, mpi4py's `Prequest.Start`).
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if the request is not persistent,
    ///   has a run in flight, or was freed.
    public func start() throws {
        try state.withLock { state throws(MPIError) in
            guard isPersistent, state.handle != cmpich_request_null() else {
                throw MPIError(errorClass: cmpich_err_request(), function: "MPI_Start",
                               message: isPersistent ? "the persistent request was freed" : "only persistent requests can be started")
            }
            guard state.status != nil else {
                throw MPIError(errorClass: cmpich_err_request(), function: "MPI_Start",
                               message: "the request is still active; complete it before starting it again")
            }
            try mpiCall("MPI_Start") { MPI_Start(&state.handle) }
            state.status = nil
        }
    }

    /// Starts a run of each persistent request, in order (mpi4py's `Prequest.Startall`, as
    /// `MPI_Startall` does, one `MPI_Start` each so that every request's state stays behind its own
    /// lock).
    ///
    /// - Throws: ``MPIError`` for the first that cannot start; those before it have started.
    public static func startAll(_ requests: [Request]) throws {
        for request in requests { try request.start() }
    }

    /// Runs `body` under the request's lock if no run is in flight and it was not freed.
    internal func whileInactive<R>(_ function: StaticString, _ body: () throws -> R) throws -> R {
        try state.withLock { state in
            guard state.status != nil, state.handle != cmpich_request_null() else {
                throw MPIError(errorClass: cmpich_err_request(), function: "\(function)",
                               message: state.status == nil ? "a run is in flight; complete it first" : "the request was freed")
            }
            return try body()
        }
    }

    /// Frees an inactive persistent request (`MPI_Request_free`); later starts throw.
    internal func freePersistent() throws {
        try state.withLock { state throws(MPIError) in
            guard state.status != nil else {
                throw MPIError(errorClass: cmpich_err_request(), function: "MPI_Request_free",
                               message: "a run is in flight; complete it first")
            }
            guard state.handle != cmpich_request_null() else {
                throw MPIError(errorClass: cmpich_err_request(), function: "MPI_Request_free",
                               message: "the persistent request was already freed")
            }
            try mpiCall("MPI_Request_free") { MPI_Request_free(&state.handle) }
            state.handle = cmpich_request_null()
        }
    }
}
