#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-blocking send or receive in flight (`MPI_Request`, mpi4py's `Request`), or a persistent
/// one made by ``Communicator/sendInit(_:to:tag:)`` or ``Communicator/receiveInit(into:from:tag:)``.
///
/// The request keeps alive the memory MPI reads or writes until the operation completes: an
/// `isend` of an array holds that array (copy-on-write storage, which nobody can change while it is
/// shared) and MPI sends straight from it; an `isend` from a raw pointer holds a copy; a receive
/// into an array (``ReceiveRequest``) owns the array until ``ReceiveRequest/wait()`` hands it back;
/// an ``Communicator/ireceiveBytes(capacity:from:tag:)`` lands in memory the request owns, read with
/// ``receivedBytes()``, ``received(as:)`` or ``receivedValue(_:)``. Completion is observed with
/// ``test()``, ``wait()``, or for many requests ``waitAll(_:)``, ``testAll(_:)``, ``waitAny(_:)``,
/// ``testAny(_:)``, ``waitSome(_:)`` and ``testSome(_:)``; once complete, its status is kept and
/// returned again. Waiting polls `MPI_Test` with a back-off instead of spinning in `MPI_Wait`.
///
/// Dropping a request before it completes is safe: a pending send is released to finish on its own
/// (`MPI_Request_free`, its memory deliberately leaked because MPI may still read it); a pending
/// receive is cancelled and completed first.
///
/// It is `Sendable`: all mutable state sits behind a `Mutex`, so two threads never pass the same
/// `MPI_Request` to MPI at once.
public final class Request: Sendable {
    /// What the request does.
    internal enum Kind {
        /// A send of `count` bytes to `destination` with `tag`.
        case send(destination: Int, tag: Int, count: Int)
        /// A receive.
        case receive
    }

    /// The memory MPI reads or writes for this request.
    internal enum Storage {
        /// Nothing (a zero-length operation, or a receive whose data went back to its owner).
        case none
        /// Memory allocated here and freed with the request.
        case owned(OwnedBuffer)
        /// An object holding an array MPI reads or writes in place (an ``ArrayBox``).
        case kept(AnyObject)
    }

    /// A receive that has not yet found its message: each ``test()`` looks for it with
    /// `MPI_Improbe`, and once found `post` receives it with `MPI_Imrecv` into memory of its size.
    ///
    /// `@unchecked Sendable` because the communicator handle is only passed to MPI (thread-safe at
    /// `MPI_THREAD_MULTIPLE`) and `post` only runs under the request's lock.
    internal struct PendingProbe: @unchecked Sendable {
        let source: Int32
        let tag: Int32
        let communicator: MPIHandle<MPI_Comm>
        /// Receives the matched message; returns the request and what it writes into.
        let post: (inout MPIHandle<MPI_Message>, inout MPI_Status) throws -> (MPIHandle<MPI_Request>, Storage)
    }

    /// The mutable part: the MPI handle, the status once complete, the memory in use.
    ///
    /// `@unchecked Sendable` because it only lives inside `state`'s `Mutex` and is only read or
    /// changed under its lock; the handle (a pointer in Open MPI) is only passed to MPI, which is
    /// thread-safe at `MPI_THREAD_MULTIPLE`.
    internal struct State: @unchecked Sendable {
        var handle: MPIHandle<MPI_Request>
        /// Set once complete; for a persistent request, also while inactive.
        var status: Status?
        var storage: Storage
        var probe: PendingProbe?
    }

    /// The memory MPI reads or writes for this request, allocated and freed by the request.
    ///
    /// `@unchecked Sendable` because it is only a pointer: it is only touched while `state`'s lock
    /// is held (or before the request is shared, in `init`), and MPI itself is thread-safe at
    /// `MPI_THREAD_MULTIPLE`.
    internal struct OwnedBuffer: @unchecked Sendable {
        /// The memory.
        let bytes: UnsafeMutableRawBufferPointer
    }

    /// Everything MPI may touch, behind one lock.
    internal let state: Mutex<State>
    /// Sends or receives.
    internal let kind: Kind
    /// The element datatype.
    private let datatype: Datatype
    /// The size of one element in bytes.
    private let stride: Int
    /// Whether it was made by `MPI_Send_init` or `MPI_Recv_init` (and so can be started again).
    public let isPersistent: Bool

    /// Wraps a request MPI has created (or, with `probe`, one still to be posted).
    internal init(handle: MPIHandle<MPI_Request>, kind: Kind, datatype: Datatype, stride: Int, storage: Storage,
                  persistent: Bool = false, probe: PendingProbe? = nil, completed: Status? = nil) {
        // An inactive persistent request completes at once with an empty status, as in MPI.
        let status: Status? = persistent ? Status() : completed
        self.state = Mutex(State(handle: handle, status: status, storage: storage, probe: probe))
        self.kind = kind
        self.datatype = datatype
        self.stride = stride
        self.isPersistent = persistent
    }

    /// Starts a send of `count` elements of `datatype` that are at `source` (copied first).
    internal convenience init(sendFrom source: UnsafeRawBufferPointer, count: Int, datatype: Datatype, stride: Int,
                              to destination: Int, tag: Int, communicator: MPIHandle<MPI_Comm>) throws {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 16)
        if source.count > 0, let base = source.baseAddress, let copy = storage.baseAddress {
            copy.copyMemory(from: base, byteCount: source.count)
        }
        var handle: MPIHandle<MPI_Request> = cmpich_request_null()
        do {
            try datatype.withCount(count, stride: stride) { mpiCount, mpiType in
                try mpiCall("MPI_Isend") {
                    MPI_Isend(storage.baseAddress, mpiCount, mpiType, Int32(clamping: destination),
                              Int32(clamping: tag), communicator, &handle)
                }
            }
        } catch {
            storage.deallocate()
            throw error
        }
        self.init(handle: handle, kind: .send(destination: destination, tag: tag, count: count * stride),
                  datatype: datatype, stride: stride, storage: .owned(OwnedBuffer(bytes: storage)))
    }

    /// Starts a receive of up to `capacity` elements of `datatype` into memory the request owns.
    internal convenience init(receiveCapacity capacity: Int, datatype: Datatype, stride: Int,
                              from source: Int32, tag: Int32, communicator: MPIHandle<MPI_Comm>) throws {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity * stride, 1), alignment: 16)
        var handle: MPIHandle<MPI_Request> = cmpich_request_null()
        do {
            try datatype.withCount(capacity, stride: stride) { mpiCount, mpiType in
                try mpiCall("MPI_Irecv") {
                    MPI_Irecv(storage.baseAddress, mpiCount, mpiType, source, tag, communicator, &handle)
                }
            }
        } catch {
            storage.deallocate()
            throw error
        }
        self.init(handle: handle, kind: .receive, datatype: datatype, stride: stride,
                  storage: .owned(OwnedBuffer(bytes: storage)))
    }

    deinit {
        state.withLock { state in
            let running = MPI.isInitialized && !MPI.isFinalized
            let active = state.status == nil && state.probe == nil && state.handle != cmpich_request_null()
            if running && active {
                switch kind {
                case .send:
                    // MPI may still read the memory: let the send finish by itself, and leak it.
                    _ = MPI_Request_free(&state.handle)
                    if case .kept(let object) = state.storage { _ = Unmanaged.passRetained(object) }
                    return
                case .receive:
                    _ = MPI_Cancel(&state.handle)
                    _ = MPI_Wait(&state.handle, cmpich_status_ignore())
                }
            }
            if running && isPersistent && state.handle != cmpich_request_null() {
                _ = MPI_Request_free(&state.handle)
            }
            if case .owned(let buffer) = state.storage { buffer.bytes.deallocate() }
        }
    }

    /// The status if the operation has completed, else nil, without waiting (`MPI_Test`, mpi4py's
    /// `Test`; a receive made without a size first looks for its message with `MPI_Improbe`).
    ///
    /// For a send, the status reports the destination as `source`, the tag, and the bytes sent.
    public func test() throws -> Status? {
        try state.withLock { state throws -> Status? in
            if let status = state.status { return status }
            if let probe = state.probe {
                var flag: Int32 = 0
                var message: MPIHandle<MPI_Message> = cmpich_message_null()
                var raw = MPI_Status()
                try mpiCall("MPI_Improbe") {
                    MPI_Improbe(probe.source, probe.tag, probe.communicator, &flag, &message, &raw)
                }
                guard flag != 0 else { return nil }
                (state.handle, state.storage) = try probe.post(&message, &raw)
                state.probe = nil
            }
            var flag: Int32 = 0
            var raw = MPI_Status()
            try mpiCall("MPI_Test") { MPI_Test(&state.handle, &flag, &raw) }
            guard flag != 0 else { return nil }
            let status = makeStatus(raw)
            state.status = status
            return status
        }
    }

    /// Waits until the operation completes and returns its status (`MPI_Wait`, mpi4py's `Wait`).
    @discardableResult
    public func wait() throws -> Status {
        var backoff = Backoff()
        while true {
            if let status = try test() { return status }
            backoff.pause()
        }
    }

    /// Asks MPI to cancel the operation (`MPI_Cancel`); it still has to be completed with
    /// ``wait()`` or ``test()``, whose status then says whether it was cancelled
    /// (``Status/isCancelled``) or had already completed. Cancelling receives is reliable;
    /// cancelling sends is not supported by every MPI.
    public func cancel() throws {
        try state.withLock { state throws in
            guard state.status == nil else { return }
            if state.probe != nil {
                // Nothing was posted yet: the receive simply never happens.
                state.probe = nil
                state.status = Status(source: Int(cmpich_any_source()), tag: Int(cmpich_any_tag()), count: 0,
                                      isCancelled: true)
                return
            }
            try mpiCall("MPI_Cancel") { MPI_Cancel(&state.handle) }
        }
    }

    /// Whether the operation is known to have completed (by an earlier ``test()`` or ``wait()``).
    public var isComplete: Bool {
        state.withLock { $0.status != nil }
    }

    /// Waits for every request (mpi4py's `Request.Waitall`) and returns their statuses in order.
    @discardableResult
    public static func waitAll(_ requests: [Request]) throws -> [Status] {
        try requests.map { try $0.wait() }
    }

    /// Waits until one of the requests that had not completed before this call completes, and
    /// returns its index and status (mpi4py's `Request.Waitany`).
    ///
    /// Requests already reported complete are skipped, as MPI skips null requests.
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if every request had completed.
    public static func waitAny(_ requests: [Request]) throws -> (index: Int, status: Status) {
        let pending = requests.indices.filter { !requests[$0].isComplete }
        guard !pending.isEmpty else {
            throw MPIError(errorClass: cmpich_err_request(), function: "Request.waitAny",
                           message: "every request has already completed")
        }
        var backoff = Backoff()
        while true {
            for index in pending {
                if let status = try requests[index].test() { return (index, status) }
            }
            backoff.pause()
        }
    }

    /// The bytes a completed ``Communicator/ireceiveBytes(capacity:from:tag:)`` received.
    ///
    /// - Throws: ``MPIError`` if this is a send or has not completed yet.
    public func receivedBytes() throws -> [UInt8] {
        try received(as: UInt8.self)
    }

    /// The elements a completed receive received, read as `T`s.
    ///
    /// - Throws: ``MPIError`` if this is a send or has not completed yet.
    public func received<T: MPIScalar>(as type: T.Type) throws -> [T] {
        guard case .receive = kind else {
            throw MPIError(errorClass: cmpich_err_request(), function: "Request.received",
                           message: "this request is a send; only receives have data")
        }
        if isPersistent {
            throw MPIError(errorClass: cmpich_err_request(), function: "Request.received",
                           message: "a persistent receive's data is in its buffer: use PersistentRequest.withBuffer")
        }
        return try state.withLock { state throws -> [T] in
            guard let status = state.status else {
                throw MPIError(errorClass: cmpich_err_request(), function: "Request.received",
                               message: "the receive has not completed; call wait() or test() first")
            }
            guard case .owned(let owned) = state.storage else {
                throw MPIError(errorClass: cmpich_err_request(), function: "Request.received",
                               message: "this receive wrote into an array that ReceiveRequest.wait() returns")
            }
            let count = status.count / MemoryLayout<T>.stride
            let storage = UnsafeRawBufferPointer(owned.bytes)
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<(count * MemoryLayout<T>.stride)]))
                }
                initialized = count
            }
        }
    }

    /// Decodes the value a completed receive of bytes received (sent with
    /// ``Communicator/isend(_:to:tag:)-(Encodable,_,_)`` or ``Communicator/send(_:to:tag:)-(Encodable,_,_)``).
    public func receivedValue<T: Decodable>(_ type: T.Type) throws -> T {
        try WireDecoder().decode(T.self, from: receivedBytes())
    }

    /// The public status for a completed MPI status.
    private func makeStatus(_ raw: MPI_Status) -> Status {
        switch kind {
        case .send(let destination, let tag, let count):
            var raw = raw
            var cancelled: Int32 = 0
            _ = MPI_Test_cancelled(&raw, &cancelled)
            return Status(source: destination, tag: tag, count: count, isCancelled: cancelled != 0)
        case .receive:
            return Status(raw, datatype: datatype.handle, stride: stride)
        }
    }
}

/// Spins briefly, then yields, then sleeps for growing intervals up to 100 µs: a waiting process
/// reacts within microseconds to a quick reply but does not keep a core busy during a long wait.
internal struct Backoff {
    /// Pauses so far.
    private var rounds = 0

    /// Pauses once.
    mutating func pause() {
        rounds += 1
        if rounds < 64 { return }
        if rounds < 256 {
            sched_yield()
            return
        }
        let micros = min(100, 1 << min(rounds - 256, 7))
        usleep(UInt32(micros))
    }
}
