#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// Typed (zero-copy) scatter, gather, all-gather and all-to-all with their `v` forms, scans,
/// reduce-scatter and the in-place reductions: mpi4py's upper-case collectives over NumPy buffers.
///
/// As in MPI, every process must pass matching counts; a process that finds its own arguments
/// inconsistent throws ``MPIError`` (class ``MPIError/Class/argument``) before calling MPI, and the
/// others then wait for it, as they would in C.
extension Communicator {
    // MARK: Scatter and gather

    /// Gives process `i` elements `i*count ..< (i+1)*count` of the root's buffer (`MPI_Scatter`,
    /// mpi4py's upper-case `Scatter`). The root passes exactly `count * size` elements; the others
    /// pass nil (or anything: only the root's buffer is read).
    public func scatter<T: MPIScalar>(buffer: [T]?, count: Int, root: Int = 0) throws -> [T] {
        let isRoot = rank == root
        let mpiCount = try Self.int32(count, "MPI_Scatter")
        if isRoot, buffer?.count != count * size {
            throw Self.argumentError("MPI_Scatter", "the root must pass count * size = \(count * size) elements, got \(buffer?.count ?? 0)")
        }
        let datatype = T.mpiDatatype.handle
        return try [T](unsafeUninitializedCapacity: count) { result, initialized in
            try Self.withPointer(isRoot ? buffer : nil) { source in
                try mpiCall("MPI_Scatter") {
                    MPI_Scatter(source, mpiCount, datatype, result.baseAddress, mpiCount, datatype, Int32(clamping: root), handle)
                }
            }
            initialized = count
        }
    }

    /// Collects every process's buffer at the root, in rank order (`MPI_Gather`, mpi4py's
    /// upper-case `Gather`). Every process passes the same number of elements. Returns the
    /// `size * buffer.count` elements at the root and nil elsewhere.
    public func gather<T: MPIScalar>(buffer: [T], root: Int = 0) throws -> [T]? {
        let isRoot = rank == root
        let count = buffer.count
        let mpiCount = try Self.int32(count, "MPI_Gather")
        let total = isRoot ? count * size : 0
        let datatype = T.mpiDatatype.handle
        let result = try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: total) { result, initialized in
                try mpiCall("MPI_Gather") {
                    MPI_Gather(source.baseAddress, mpiCount, datatype, result.baseAddress, mpiCount, datatype,
                               Int32(clamping: root), handle)
                }
                initialized = total
            }
        }
        return isRoot ? result : nil
    }

    /// Collects every process's buffer on every process, in rank order (`MPI_Allgather`, mpi4py's
    /// upper-case `Allgather`). Every process passes the same number of elements.
    public func allGather<T: MPIScalar>(buffer: [T]) throws -> [T] {
        let count = buffer.count
        let mpiCount = try Self.int32(count, "MPI_Allgather")
        let total = count * size
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: total) { result, initialized in
                try mpiCall("MPI_Allgather") {
                    MPI_Allgather(source.baseAddress, mpiCount, datatype, result.baseAddress, mpiCount, datatype, handle)
                }
                initialized = total
            }
        }
    }

    /// Collects every process's block in place (`MPI_Allgather` with `MPI_IN_PLACE`, mpi4py's
    /// `Allgather(MPI.IN_PLACE, buffer)`): `buffer` holds `size` blocks of equal length, and this
    /// process's block (number `rank`) is filled in; afterwards every block is.
    public func allGather<T: MPIScalar>(inPlace buffer: inout [T]) throws {
        let size = self.size
        guard buffer.count % size == 0 else {
            throw Self.argumentError("MPI_Allgather", "an in-place buffer of \(buffer.count) elements is not \(size) equal blocks")
        }
        let mpiCount = try Self.int32(buffer.count / size, "MPI_Allgather")
        let datatype = T.mpiDatatype.handle
        try buffer.withUnsafeMutableBufferPointer { target in
            try mpiCall("MPI_Allgather") {
                MPI_Allgather(UnsafeRawPointer(cmpich_in_place()), 0, datatype, target.baseAddress, mpiCount, datatype, handle)
            }
        }
    }

    /// Sends block `j` of this process's buffer to process `j` and returns the blocks received, in
    /// rank order (`MPI_Alltoall`, mpi4py's upper-case `Alltoall`). The buffer holds `size` blocks of
    /// equal length, the same on every process.
    public func allToAll<T: MPIScalar>(buffer: [T]) throws -> [T] {
        let size = self.size
        guard buffer.count % size == 0 else {
            throw Self.argumentError("MPI_Alltoall", "a buffer of \(buffer.count) elements is not \(size) equal blocks")
        }
        let mpiCount = try Self.int32(buffer.count / size, "MPI_Alltoall")
        let total = buffer.count
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: total) { result, initialized in
                try mpiCall("MPI_Alltoall") {
                    MPI_Alltoall(source.baseAddress, mpiCount, datatype, result.baseAddress, mpiCount, datatype, handle)
                }
                initialized = total
            }
        }
    }

    // MARK: The v forms

    /// Gives process `i` the `counts[i]` elements of the root's buffer that start at
    /// `displacements[i]` (`MPI_Scatterv`, mpi4py's `Scatterv([buffer, counts, displacements,
    /// type])`). Every process passes the same `counts`; `displacements` defaults to packed blocks
    /// (the running sums of `counts`). Only the root's buffer is read.
    public func scatter<T: MPIScalar>(buffer: [T]?, counts: [Int], displacements: [Int]? = nil, root: Int = 0) throws -> [T] {
        let isRoot = rank == root
        var (mpiCounts, mpiDisplacements, extent) = try layout(counts, displacements, "MPI_Scatterv")
        if isRoot, (buffer?.count ?? 0) < extent {
            throw Self.argumentError("MPI_Scatterv", "the root's buffer has \(buffer?.count ?? 0) elements; counts and displacements need \(extent)")
        }
        let count = counts[rank]
        let datatype = T.mpiDatatype.handle
        return try [T](unsafeUninitializedCapacity: count) { result, initialized in
            try Self.withPointer(isRoot ? buffer : nil) { source in
                try mpiCall("MPI_Scatterv") {
                    MPI_Scatterv(source, &mpiCounts, &mpiDisplacements, datatype, result.baseAddress, mpiCounts[rank], datatype,
                                 Int32(clamping: root), handle)
                }
            }
            initialized = count
        }
    }

    /// Collects `counts[i]` elements from process `i` at offset `displacements[i]` of the root's
    /// result (`MPI_Gatherv`, mpi4py's `Gatherv`). Process `i` passes exactly `counts[i]` elements;
    /// every process passes the same `counts`. `displacements` defaults to packed blocks. Returns
    /// the result at the root (as long as the furthest block's end; gaps are zero) and nil elsewhere.
    public func gather<T: MPIScalar>(buffer: [T], counts: [Int], displacements: [Int]? = nil, root: Int = 0) throws -> [T]? {
        let isRoot = rank == root
        var (mpiCounts, mpiDisplacements, extent) = try layout(counts, displacements, "MPI_Gatherv")
        guard buffer.count == counts[rank] else {
            throw Self.argumentError("MPI_Gatherv", "rank \(rank) passed \(buffer.count) elements but counts[\(rank)] is \(counts[rank])")
        }
        let total = isRoot ? extent : 0
        let datatype = T.mpiDatatype.handle
        let result = try buffer.withUnsafeBufferPointer { source in
            try Self.zeroed(T.self, count: total) { target in
                try mpiCall("MPI_Gatherv") {
                    MPI_Gatherv(source.baseAddress, mpiCounts[rank], datatype, target, &mpiCounts, &mpiDisplacements, datatype,
                                Int32(clamping: root), handle)
                }
            }
        }
        return isRoot ? result : nil
    }

    /// Collects `counts[i]` elements from process `i` at offset `displacements[i]`, on every process
    /// (`MPI_Allgatherv`, mpi4py's `Allgatherv`). Process `i` passes exactly `counts[i]` elements.
    public func allGather<T: MPIScalar>(buffer: [T], counts: [Int], displacements: [Int]? = nil) throws -> [T] {
        var (mpiCounts, mpiDisplacements, extent) = try layout(counts, displacements, "MPI_Allgatherv")
        let me = rank
        guard buffer.count == counts[me] else {
            throw Self.argumentError("MPI_Allgatherv", "rank \(me) passed \(buffer.count) elements but counts[\(me)] is \(counts[me])")
        }
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try Self.zeroed(T.self, count: extent) { target in
                try mpiCall("MPI_Allgatherv") {
                    MPI_Allgatherv(source.baseAddress, mpiCounts[me], datatype, target, &mpiCounts, &mpiDisplacements, datatype, handle)
                }
            }
        }
    }

    /// Sends `sendCounts[j]` elements starting at `sendDisplacements[j]` to process `j`, and puts the
    /// `receiveCounts[i]` elements from process `i` at `receiveDisplacements[i]` of the result
    /// (`MPI_Alltoallv`, mpi4py's `Alltoallv`). Displacements default to packed blocks.
    public func allToAll<T: MPIScalar>(buffer: [T], sendCounts: [Int], sendDisplacements: [Int]? = nil,
                                       receiveCounts: [Int], receiveDisplacements: [Int]? = nil) throws -> [T] {
        var (sCounts, sDisplacements, sExtent) = try layout(sendCounts, sendDisplacements, "MPI_Alltoallv")
        var (rCounts, rDisplacements, rExtent) = try layout(receiveCounts, receiveDisplacements, "MPI_Alltoallv")
        guard buffer.count >= sExtent else {
            throw Self.argumentError("MPI_Alltoallv", "the buffer has \(buffer.count) elements; send counts and displacements need \(sExtent)")
        }
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try Self.zeroed(T.self, count: rExtent) { target in
                try mpiCall("MPI_Alltoallv") {
                    MPI_Alltoallv(source.baseAddress, &sCounts, &sDisplacements, datatype,
                                  target, &rCounts, &rDisplacements, datatype, handle)
                }
            }
        }
    }

    // MARK: Scans and reduce-scatter

    /// Element by element, combines the buffers of processes `0...rank` with `op` (`MPI_Scan`,
    /// mpi4py's upper-case `Scan`): an inclusive prefix reduction.
    public func scan<T: MPIScalar>(_ buffer: [T], op: ReductionOperation) throws -> [T] {
        try reduction(buffer, "MPI_Scan") { source, target, count, datatype in
            MPI_Scan(source, target, count, datatype, op.handle, handle)
        }
    }

    /// The inclusive prefix reduction of one value (`MPI_Scan`).
    public func scan<T: MPIScalar>(_ value: T, op: ReductionOperation) throws -> T {
        try scan([value], op: op)[0]
    }

    /// Replaces `buffer` with the inclusive prefix reduction (`MPI_Scan` with `MPI_IN_PLACE`).
    public func scan<T: MPIScalar>(inPlace buffer: inout [T], op: ReductionOperation) throws {
        try inPlace(&buffer, "MPI_Scan") { target, count, datatype in
            MPI_Scan(UnsafeRawPointer(cmpich_in_place()), target, count, datatype, op.handle, handle)
        }
    }

    /// Element by element, combines the buffers of processes `0..<rank` with `op` (`MPI_Exscan`,
    /// mpi4py's upper-case `Exscan`): an exclusive prefix reduction. Nil on rank 0, where MPI
    /// leaves the result undefined.
    public func exclusiveScan<T: MPIScalar>(_ buffer: [T], op: ReductionOperation) throws -> [T]? {
        let result = try reduction(buffer, "MPI_Exscan") { source, target, count, datatype in
            MPI_Exscan(source, target, count, datatype, op.handle, handle)
        }
        return rank == 0 ? nil : result
    }

    /// The exclusive prefix reduction of one value (`MPI_Exscan`); nil on rank 0.
    public func exclusiveScan<T: MPIScalar>(_ value: T, op: ReductionOperation) throws -> T? {
        try exclusiveScan([value], op: op)?.first
    }

    /// Reduces the buffers element by element with `op`, then gives process `i` the `counts[i]`
    /// elements of the result that follow those of lower ranks (`MPI_Reduce_scatter`, mpi4py's
    /// `Reduce_scatter`). Every process passes `counts.reduce(0, +)` elements and the same `counts`.
    public func reduceScatter<T: MPIScalar>(_ buffer: [T], counts: [Int], op: ReductionOperation) throws -> [T] {
        var (mpiCounts, _, extent) = try layout(counts, nil, "MPI_Reduce_scatter")
        guard buffer.count == extent else {
            throw Self.argumentError("MPI_Reduce_scatter", "the buffer has \(buffer.count) elements; counts add up to \(extent)")
        }
        let count = counts[rank]
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: count) { result, initialized in
                try mpiCall("MPI_Reduce_scatter") {
                    MPI_Reduce_scatter(source.baseAddress, result.baseAddress, &mpiCounts, datatype, op.handle, handle)
                }
                initialized = count
            }
        }
    }

    /// Reduces the buffers element by element with `op`, then gives process `i` block `i` of the
    /// result (`MPI_Reduce_scatter_block`, mpi4py's `Reduce_scatter_block`). The buffer holds `size`
    /// blocks of equal length.
    public func reduceScatterBlock<T: MPIScalar>(_ buffer: [T], op: ReductionOperation) throws -> [T] {
        let size = self.size
        guard buffer.count % size == 0 else {
            throw Self.argumentError("MPI_Reduce_scatter_block", "a buffer of \(buffer.count) elements is not \(size) equal blocks")
        }
        let count = buffer.count / size
        let mpiCount = try Self.int32(count, "MPI_Reduce_scatter_block")
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: count) { result, initialized in
                try mpiCall("MPI_Reduce_scatter_block") {
                    MPI_Reduce_scatter_block(source.baseAddress, result.baseAddress, mpiCount, datatype, op.handle, handle)
                }
                initialized = count
            }
        }
    }

    // MARK: In place

    /// Replaces `buffer`, on every process, with the element-by-element reduction of every
    /// process's buffer (`MPI_Allreduce` with `MPI_IN_PLACE`, mpi4py's `Allreduce(MPI.IN_PLACE,
    /// buffer)`): no second array.
    public func allReduce<T: MPIScalar>(inPlace buffer: inout [T], op: ReductionOperation) throws {
        try inPlace(&buffer, "MPI_Allreduce") { target, count, datatype in
            MPI_Allreduce(UnsafeRawPointer(cmpich_in_place()), target, count, datatype, op.handle, handle)
        }
    }

    /// Replaces the root's `buffer` with the element-by-element reduction of every process's buffer
    /// (`MPI_Reduce` with `MPI_IN_PLACE` at the root); other processes' buffers are only read.
    public func reduce<T: MPIScalar>(inPlace buffer: inout [T], op: ReductionOperation, root: Int = 0) throws {
        let isRoot = rank == root
        let datatype = T.mpiDatatype.handle
        let count = buffer.count
        try buffer.withUnsafeMutableBufferPointer { target in
            try forEachChunk(of: count) { offset, length in
                let pointer = target.baseAddress.map { $0 + offset }
                try mpiCall("MPI_Reduce") {
                    MPI_Reduce(isRoot ? UnsafeRawPointer(cmpich_in_place()) : UnsafeRawPointer(pointer),
                               isRoot ? UnsafeMutableRawPointer(pointer) : nil, length, datatype, op.handle,
                               Int32(clamping: root), handle)
                }
            }
        }
    }

    /// The length of one block of an in-place gather or scatter: at the root, whose buffer holds
    /// `size` blocks of equal length, a `size`th of it; elsewhere the whole buffer.
    ///
    /// - Throws: ``MPIError`` (class `argument`) when the root's buffer does not split into `size`
    ///   equal blocks, or a block is too long for MPI's count.
    private func inPlaceBlockCount(_ count: Int, isRoot: Bool, _ function: StaticString) throws -> Int32 {
        let size = self.size
        if isRoot, count % size != 0 {
            throw Self.argumentError(function, "a root buffer of \(count) elements is not \(size) equal blocks")
        }
        return try Self.int32(isRoot ? count / size : count, function)
    }

    /// Collects every process's block at the root, in rank order, with the root's own block
    /// already in place (`MPI_Gather` with `MPI_IN_PLACE` at the root, mpi4py's
    /// `Gather(MPI.IN_PLACE, buffer)`). At the root, `buffer` holds `size` blocks of equal length,
    /// block `root` being the root's own, and is filled with the others; elsewhere `buffer` is the
    /// process's block, only read.
    public func gather<T: MPIScalar>(inPlace buffer: inout [T], root: Int = 0) throws {
        let isRoot = rank == root
        let mpiCount = try inPlaceBlockCount(buffer.count, isRoot: isRoot, "MPI_Gather")
        let datatype = T.mpiDatatype.handle
        try buffer.withUnsafeMutableBytes { raw in
            try mpiCall("MPI_Gather") {
                isRoot
                    ? MPI_Gather(UnsafeRawPointer(cmpich_in_place()), 0, datatype, raw.baseAddress, mpiCount, datatype,
                                 Int32(clamping: root), handle)
                    : MPI_Gather(UnsafeRawPointer(raw.baseAddress), mpiCount, datatype, nil, 0, datatype,
                                 Int32(clamping: root), handle)
            }
        }
    }

    /// Gives process `i` block `i` of the root's buffer, the root keeping its own block in place
    /// (`MPI_Scatter` with `MPI_IN_PLACE` at the root, mpi4py's `Scatter(buffer, MPI.IN_PLACE)`).
    /// At the root, `buffer` holds `size` blocks of equal length and is left as it is; elsewhere
    /// `buffer` has the length of one block and is filled with this process's block.
    public func scatter<T: MPIScalar>(inPlace buffer: inout [T], root: Int = 0) throws {
        let isRoot = rank == root
        let mpiCount = try inPlaceBlockCount(buffer.count, isRoot: isRoot, "MPI_Scatter")
        let datatype = T.mpiDatatype.handle
        try buffer.withUnsafeMutableBytes { raw in
            try mpiCall("MPI_Scatter") {
                isRoot
                    ? MPI_Scatter(UnsafeRawPointer(raw.baseAddress), mpiCount, datatype, cmpich_in_place(), 0, datatype,
                                  Int32(clamping: root), handle)
                    : MPI_Scatter(nil, 0, datatype, raw.baseAddress, mpiCount, datatype, Int32(clamping: root), handle)
            }
        }
    }

    // MARK: Helpers

    /// A reduction from `buffer` into a new array of the same length, in chunks of at most
    /// ``MPI/countLimit`` elements.
    private func reduction<T: MPIScalar>(
        _ buffer: [T], _ function: StaticString,
        _ call: (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, MPIHandle<MPI_Datatype>) -> Int32
    ) throws -> [T] {
        let count = buffer.count
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try Self.zeroed(T.self, count: count) { target in
                try forEachChunk(of: count) { offset, length in
                    try mpiCall(function) {
                        call(source.baseAddress.map { UnsafeRawPointer($0 + offset) },
                             target.map { $0 + offset * MemoryLayout<T>.stride }, length, datatype)
                    }
                }
            }
        }
    }

    /// An in-place reduction over `buffer`, in chunks of at most ``MPI/countLimit`` elements.
    private func inPlace<T: MPIScalar>(
        _ buffer: inout [T], _ function: StaticString, _ call: (UnsafeMutableRawPointer?, Int32, MPIHandle<MPI_Datatype>) -> Int32
    ) throws {
        let count = buffer.count
        let datatype = T.mpiDatatype.handle
        try buffer.withUnsafeMutableBufferPointer { target in
            try forEachChunk(of: count) { offset, length in
                try mpiCall(function) { call(target.baseAddress.map { UnsafeMutableRawPointer($0 + offset) }, length, datatype) }
            }
        }
    }

    /// Checks `counts` (one per process, none negative) and `displacements` (default: packed), and
    /// returns them as MPI wants them with the number of elements they span.
    private func layout(_ counts: [Int], _ displacements: [Int]?, _ function: StaticString) throws
        -> (counts: [Int32], displacements: [Int32], extent: Int) {
        let size = self.size
        guard counts.count == size else {
            throw Self.argumentError(function, "\(counts.count) counts for \(size) processes")
        }
        var offsets: [Int]
        if let displacements {
            guard displacements.count == size else {
                throw Self.argumentError(function, "\(displacements.count) displacements for \(size) processes")
            }
            offsets = displacements
        } else {
            var offset = 0
            offsets = counts.map { count in defer { offset += count }; return offset }
        }
        var extent = 0
        for (count, offset) in zip(counts, offsets) {
            guard count >= 0, offset >= 0 else {
                throw Self.argumentError(function, "counts and displacements must not be negative")
            }
            extent = Swift.max(extent, offset + count)
        }
        return (try counts.map { try Self.int32($0, function) }, try offsets.map { try Self.int32($0, function) }, extent)
    }

    /// `value` as an MPI count, or ``MPIError`` (class ``MPIError/Class/count``).
    internal static func int32(_ value: Int, _ function: StaticString) throws -> Int32 {
        guard value >= 0, value <= MPI.countLimit, let count = Int32(exactly: value) else {
            throw MPIError(errorClass: cmpich_err_count(), function: "\(function)",
                           message: "\(value) elements is not a count MPI can take in one call (limit \(MPI.countLimit))")
        }
        return count
    }

    /// An ``MPIError`` of class ``MPIError/Class/argument``.
    internal static func argumentError(_ function: StaticString, _ message: String) -> MPIError {
        MPIError(errorClass: cmpich_err_arg(), function: "\(function)", message: message)
    }

    /// Calls `body` with the base address of `buffer`, or nil.
    internal static func withPointer<T, R>(_ buffer: [T]?, _ body: (UnsafeRawPointer?) throws -> R) throws -> R {
        guard let buffer else { return try body(nil) }
        return try buffer.withUnsafeBytes { try body($0.baseAddress) }
    }

    /// A new array of `count` elements whose bytes are zero before `body` writes into them.
    internal static func zeroed<T: MPIScalar>(_ type: T.Type, count: Int, _ body: (UnsafeMutableRawPointer?) throws -> Void) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { result, initialized in
            let raw = UnsafeMutableRawBufferPointer(result)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            try body(raw.baseAddress)
            initialized = count
        }
    }
}
