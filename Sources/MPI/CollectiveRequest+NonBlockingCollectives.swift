#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// A non-blocking collective in flight (`MPI_Ibcast`, `MPI_Iallreduce`…, mpi4py's `Ibcast`,
/// `Iallreduce`…) that owns its buffers until it completes.
///
/// The call that starts it takes the arrays (`consuming`: pass them with `consume`, or as
/// temporaries, and no copy is made), so nothing else can read or write them while MPI does;
/// ``wait()`` consumes the request and hands the result back. The request is non-copyable: it
/// cannot be waited for twice, and the result cannot be read before completion.
///
/// ```swift
/// let request = try world.iallReduce(consume partial, op: .sum)
/// doOtherWork()                       // overlaps with the reduction
/// let total = try request.wait()      // the buffer comes back
/// print(total)
/// ```
///
/// Dropping a request that has not completed waits for it (`MPI_Wait`) before its buffers are
/// freed: MPI forbids cancelling or freeing a collective's request, and the buffers must outlive
/// the operation. Every process must still take part in the collective for that wait to end.
public struct CollectiveRequest<Result>: ~Copyable {
    /// The MPI request, the buffers and how to make the result.
    private let pending: PendingCollective<Result>

    /// Wraps a started collective.
    fileprivate init(_ pending: PendingCollective<Result>) {
        self.pending = pending
    }

    /// Whether the collective has completed, without waiting (`MPI_Test`).
    public func test() throws -> Bool {
        try pending.test()
    }

    /// Waits until the collective completes (`MPI_Wait`, polled with a back-off like
    /// ``Request/wait()``) and returns its result, such as the reduced buffer.
    public consuming func wait() throws -> Result {
        var backoff = Backoff()
        while try !pending.test() {
            backoff.pause()
        }
        return pending.finish()
    }
}

extension CollectiveRequest: Sendable where Result: Sendable {}

/// The shared part of a ``CollectiveRequest``.
///
/// `@unchecked Sendable` because its only owner is one non-copyable ``CollectiveRequest``: it is
/// never reachable from two threads at once, the buffers in `keep` are only touched by MPI until
/// completion, and by `finish` after it.
private final class PendingCollective<Result>: @unchecked Sendable {
    /// The MPI request; null once complete.
    private var handle: MPIHandle<MPI_Request>
    /// Whether MPI reported completion.
    private var completed = false
    /// The buffers MPI reads and writes, kept alive until completion.
    private let keep: [AnyObject]
    /// Makes the result from the buffers once complete.
    let finish: () -> Result

    init(handle: MPIHandle<MPI_Request>, keep: [AnyObject], finish: @escaping () -> Result) {
        self.handle = handle
        self.keep = keep
        self.finish = finish
    }

    deinit {
        if !completed && handle != cmpich_request_null() && MPI.isInitialized && !MPI.isFinalized {
            _ = MPI_Wait(&handle, cmpich_status_ignore())
        }
    }

    /// `MPI_Test`, remembering completion.
    func test() throws -> Bool {
        if completed { return true }
        var flag: Int32 = 0
        do {
            try mpiCall("MPI_Test") { MPI_Test(&handle, &flag, cmpich_status_ignore()) }
        } catch {
            completed = true
            throw error
        }
        if flag != 0 { completed = true }
        return completed
    }
}

/// An array MPI reads or writes during a non-blocking collective, at a fixed address.
///
/// The address is the array's own storage, which stays put because nothing changes the box's
/// array until the collective completes: a buffer MPI writes is first made unique, so the caller's
/// copy (if any) never sees the writes; one MPI only reads may stay shared, as any change the caller
/// makes to its copy copies the storage first.
private final class BufferBox<T> {
    /// The array.
    var array: [T]
    /// Its storage's address (nil when empty).
    let address: UnsafeMutableRawPointer?

    /// A box MPI writes into: its storage is made unique first (copied only if the caller kept
    /// another reference to it).
    init(_ array: consuming [T]) {
        self.array = consume array
        self.address = self.array.withUnsafeMutableBytes { $0.baseAddress }
    }

    /// A box MPI only reads: the storage may stay shared with the caller's copy, since a change
    /// there copies it first, so nothing is copied here.
    init(readOnly array: consuming [T]) {
        self.array = consume array
        self.address = self.array.withUnsafeBytes { $0.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } }
    }

    /// A new box of `count` zeroed elements.
    static func zeroed(_ count: Int) -> BufferBox<T> where T: MPIScalar {
        let array = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
            initialized = count
        }
        return BufferBox(array)
    }
}

extension Communicator {
    /// Starts a barrier (`MPI_Ibarrier`, mpi4py's `Ibarrier`): it completes once every process has
    /// started one.
    public func ibarrier() throws -> CollectiveRequest<Void> {
        try start("MPI_Ibarrier", keep: [], finish: {}) { MPI_Ibarrier(handle, $0) }
    }

    /// Starts copying the root's buffer into every process's (`MPI_Ibcast`, mpi4py's `Ibcast`).
    /// Every process passes a buffer of the same length; ``CollectiveRequest/wait()`` hands it back
    /// filled with the root's elements.
    public func ibroadcast<T: MPIScalar>(buffer: consuming [T], root: Int = 0) throws -> CollectiveRequest<[T]> {
        let box = BufferBox(consume buffer)
        let count = try Self.int32(box.array.count, "MPI_Ibcast")
        return try start("MPI_Ibcast", keep: [box], finish: { box.array }) {
            MPI_Ibcast(box.address, count, T.mpiDatatype.handle, Int32(clamping: root), handle, $0)
        }
    }

    /// Starts an element-by-element reduction at the root (`MPI_Ireduce`, mpi4py's `Ireduce`);
    /// the result is the reduced buffer at the root and nil elsewhere.
    public func ireduce<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOperation, root: Int = 0) throws -> CollectiveRequest<[T]?> {
        let isRoot = rank == root
        let source = BufferBox(readOnly: consume buffer)
        let count = source.array.count
        let mpiCount = try Self.int32(count, "MPI_Ireduce")
        let target = BufferBox<T>.zeroed(isRoot ? count : 0)
        return try start("MPI_Ireduce", keep: [source, target] + Self.keepAlive(op), finish: { isRoot ? target.array : nil }) {
            MPI_Ireduce(source.address, isRoot ? target.address : nil, mpiCount, T.mpiDatatype.handle, op.handle,
                        Int32(clamping: root), handle, $0)
        }
    }

    /// Starts an element-by-element reduction whose result every process gets (`MPI_Iallreduce`,
    /// mpi4py's `Iallreduce`). In place: the buffer taken is the one handed back, reduced.
    public func iallReduce<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOperation) throws -> CollectiveRequest<[T]> {
        let box = BufferBox(consume buffer)
        let count = try Self.int32(box.array.count, "MPI_Iallreduce")
        return try start("MPI_Iallreduce", keep: [box] + Self.keepAlive(op), finish: { box.array }) {
            MPI_Iallreduce(UnsafeRawPointer(cmpich_in_place()), box.address, count, T.mpiDatatype.handle, op.handle, handle, $0)
        }
    }

    /// Starts collecting every process's buffer at the root, in rank order (`MPI_Igather`,
    /// mpi4py's `Igather`). Every process passes the same number of elements; the result is the
    /// `size * count` elements at the root and nil elsewhere.
    public func igather<T: MPIScalar>(buffer: consuming [T], root: Int = 0) throws -> CollectiveRequest<[T]?> {
        let isRoot = rank == root
        let source = BufferBox(readOnly: consume buffer)
        let count = try Self.int32(source.array.count, "MPI_Igather")
        let target = BufferBox<T>.zeroed(isRoot ? source.array.count * size : 0)
        return try start("MPI_Igather", keep: [source, target], finish: { isRoot ? target.array : nil }) {
            MPI_Igather(source.address, count, T.mpiDatatype.handle, target.address, count, T.mpiDatatype.handle,
                        Int32(clamping: root), handle, $0)
        }
    }

    /// Starts giving process `i` elements `i*count ..< (i+1)*count` of the root's buffer
    /// (`MPI_Iscatter`, mpi4py's `Iscatter`). The root passes `count * size` elements, the others nil.
    public func iscatter<T: MPIScalar>(buffer: consuming [T]?, count: Int, root: Int = 0) throws -> CollectiveRequest<[T]> {
        let isRoot = rank == root
        let mpiCount = try Self.int32(count, "MPI_Iscatter")
        let source = BufferBox(readOnly: isRoot ? (buffer ?? []) : [])
        if isRoot, source.array.count != count * size {
            throw Self.argumentError("MPI_Iscatter", "the root must pass count * size = \(count * size) elements, got \(source.array.count)")
        }
        let target = BufferBox<T>.zeroed(count)
        return try start("MPI_Iscatter", keep: [source, target], finish: { target.array }) {
            MPI_Iscatter(isRoot ? source.address : nil, mpiCount, T.mpiDatatype.handle, target.address, mpiCount,
                         T.mpiDatatype.handle, Int32(clamping: root), handle, $0)
        }
    }

    /// Starts collecting every process's buffer on every process, in rank order (`MPI_Iallgather`,
    /// mpi4py's `Iallgather`). Every process passes the same number of elements.
    public func iallGather<T: MPIScalar>(buffer: consuming [T]) throws -> CollectiveRequest<[T]> {
        let source = BufferBox(readOnly: consume buffer)
        let count = try Self.int32(source.array.count, "MPI_Iallgather")
        let target = BufferBox<T>.zeroed(source.array.count * size)
        return try start("MPI_Iallgather", keep: [source, target], finish: { target.array }) {
            MPI_Iallgather(source.address, count, T.mpiDatatype.handle, target.address, count, T.mpiDatatype.handle, handle, $0)
        }
    }

    /// Starts sending block `j` of this process's buffer to process `j` (`MPI_Ialltoall`, mpi4py's
    /// `Ialltoall`); the result is the blocks received, in rank order. The buffer holds `size`
    /// blocks of equal length.
    public func iallToAll<T: MPIScalar>(buffer: consuming [T]) throws -> CollectiveRequest<[T]> {
        let source = BufferBox(readOnly: consume buffer)
        let size = self.size
        guard source.array.count % size == 0 else {
            throw Self.argumentError("MPI_Ialltoall", "a buffer of \(source.array.count) elements is not \(size) equal blocks")
        }
        let count = try Self.int32(source.array.count / size, "MPI_Ialltoall")
        let target = BufferBox<T>.zeroed(source.array.count)
        return try start("MPI_Ialltoall", keep: [source, target], finish: { target.array }) {
            MPI_Ialltoall(source.address, count, T.mpiDatatype.handle, target.address, count, T.mpiDatatype.handle, handle, $0)
        }
    }

    /// Starts an inclusive prefix reduction (`MPI_Iscan`, mpi4py's `Iscan`): element by element,
    /// the result on process `rank` combines the buffers of processes `0...rank` with `op`. Every
    /// process passes the same number of elements; ``CollectiveRequest/wait()`` gives the result.
    public func iscan<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOperation) throws -> CollectiveRequest<[T]> {
        let source = BufferBox(readOnly: consume buffer)
        let count = try Self.int32(source.array.count, "MPI_Iscan")
        let target = BufferBox<T>.zeroed(source.array.count)
        return try start("MPI_Iscan", keep: [source, target] + Self.keepAlive(op), finish: { target.array }) {
            MPI_Iscan(source.address, target.address, count, T.mpiDatatype.handle, op.handle, handle, $0)
        }
    }

    /// Starts an exclusive prefix reduction (`MPI_Iexscan`, mpi4py's `Iexscan`): element by
    /// element, the result on process `rank` combines the buffers of processes `0..<rank` with
    /// `op`. The result is nil on rank 0, where MPI leaves it undefined.
    public func iexclusiveScan<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOperation) throws -> CollectiveRequest<[T]?> {
        let isFirst = rank == 0
        let source = BufferBox(readOnly: consume buffer)
        let count = try Self.int32(source.array.count, "MPI_Iexscan")
        let target = BufferBox<T>.zeroed(source.array.count)
        return try start("MPI_Iexscan", keep: [source, target] + Self.keepAlive(op), finish: { isFirst ? nil : target.array }) {
            MPI_Iexscan(source.address, target.address, count, T.mpiDatatype.handle, op.handle, handle, $0)
        }
    }

    /// Starts reducing the buffers element by element with `op` and giving process `i` block `i`
    /// of the result (`MPI_Ireduce_scatter_block`, mpi4py's `Ireduce_scatter_block`). The buffer
    /// holds `size` blocks of equal length; the result is this process's block.
    public func ireduceScatterBlock<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOperation) throws -> CollectiveRequest<[T]> {
        let source = BufferBox(readOnly: consume buffer)
        let size = self.size
        guard source.array.count % size == 0 else {
            throw Self.argumentError("MPI_Ireduce_scatter_block",
                                     "a buffer of \(source.array.count) elements is not \(size) equal blocks")
        }
        let count = try Self.int32(source.array.count / size, "MPI_Ireduce_scatter_block")
        let target = BufferBox<T>.zeroed(source.array.count / size)
        return try start("MPI_Ireduce_scatter_block", keep: [source, target] + Self.keepAlive(op), finish: { target.array }) {
            MPI_Ireduce_scatter_block(source.address, target.address, count, T.mpiDatatype.handle, op.handle, handle, $0)
        }
    }

    /// What keeps a user-defined operation alive while a collective uses it.
    private static func keepAlive(_ op: ReductionOperation) -> [AnyObject] {
        guard let owner = op.owner else { return [] }
        return [owner]
    }

    /// Starts a collective with `call`, which gets the request to fill in.
    private func start<Result>(_ function: StaticString, keep: [AnyObject], finish: @escaping () -> Result,
                               _ call: (UnsafeMutablePointer<MPIHandle<MPI_Request>>) -> Int32) throws -> CollectiveRequest<Result> {
        var request: MPIHandle<MPI_Request> = cmpich_request_null()
        try mpiCall(function) { call(&request) }
        return CollectiveRequest(PendingCollective(handle: request, keep: keep, finish: finish))
    }
}
