#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

extension Datatype {
    /// Calls `body` with a (count, datatype) pair that describes `count` consecutive elements of
    /// `self`, each `stride` bytes, even when `count` exceeds ``MPI/countLimit``.
    ///
    /// Up to the limit that is simply `(count, self)`. Beyond it, a derived datatype is built: `q`
    /// blocks of `limit` elements followed by the `r` remaining elements, as one struct type, and
    /// `body` gets `(1, thatType)`. The message is still one MPI message of plain elements, so its
    /// type signature matches any receive of the same element type, a receiver can size it with
    /// `MPI_Get_elements_x`, and any-source receives and probes behave as for small messages.
    internal func withCount<R>(_ count: Int, stride: Int, _ body: (Int32, MPIHandle<MPI_Datatype>) throws -> R) throws -> R {
        let limit = MPI.countLimit
        if count <= limit {
            return try body(Int32(count), handle)
        }
        let blocks = count / limit
        let rest = count % limit
        guard blocks <= Int(Int32.max) else {
            throw MPIError(errorClass: cmpich_err_count(), function: "MPI_Type_contiguous",
                           message: "\(count) elements are too many to describe with blocks of \(limit)")
        }
        var block: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        try mpiCall("MPI_Type_contiguous") { MPI_Type_contiguous(Int32(limit), handle, &block) }
        defer { _ = MPI_Type_free(&block) }
        var blocksType: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        try mpiCall("MPI_Type_contiguous") { MPI_Type_contiguous(Int32(blocks), block, &blocksType) }
        defer { _ = MPI_Type_free(&blocksType) }
        var whole: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        if rest == 0 {
            try mpiCall("MPI_Type_dup") { MPI_Type_dup(blocksType, &whole) }
        } else {
            var lengths: [Int32] = [1, Int32(rest)]
            var displacements: [MPI_Aint] = [0, MPI_Aint(blocks * limit * stride)]
            var types: [MPIHandle<MPI_Datatype>] = [blocksType, handle]
            try mpiCall("MPI_Type_create_struct") {
                MPI_Type_create_struct(2, &lengths, &displacements, &types, &whole)
            }
        }
        defer { _ = MPI_Type_free(&whole) }
        try mpiCall("MPI_Type_commit") { MPI_Type_commit(&whole) }
        return try body(1, whole)
    }
}

/// Runs `body` over consecutive ranges of `0..<count`, none longer than ``MPI/countLimit``: the
/// way typed-buffer collectives stay under MPI's `Int32` counts. Runs once for an empty range.
internal func forEachChunk(of count: Int, _ body: (_ offset: Int, _ length: Int32) throws -> Void) throws {
    let limit = MPI.countLimit
    var offset = 0
    repeat {
        let length = min(limit, count - offset)
        try body(offset, Int32(length))
        offset += length
    } while offset < count
}
