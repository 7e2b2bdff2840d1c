#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

extension Communicator {
    /// Combines the buffers of every process element by element with `op` and returns the result
    /// on every process (`MPI_Allreduce`, mpi4py's upper-case `Allreduce`). Every process passes the
    /// same number of elements; any number, split into calls of at most ``MPI/countLimit``.
    public func allReduce<T: MPIScalar>(_ buffer: [T], op: ReductionOperation) throws -> [T] {
        let count = buffer.count
        let datatype = T.mpiDatatype.handle
        return try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: count) { result, initialized in
                try forEachChunk(of: count) { offset, length in
                    try mpiCall("MPI_Allreduce") {
                        MPI_Allreduce(source.baseAddress.map { $0 + offset }, result.baseAddress.map { $0 + offset },
                                      length, datatype, op.handle, handle)
                    }
                }
                initialized = count
            }
        }
    }

    /// Combines one number from every process with `op` and returns the result everywhere.
    public func allReduce<T: MPIScalar>(_ value: T, op: ReductionOperation) throws -> T {
        try allReduce([value], op: op)[0]
    }

    /// Combines the buffers of every process element by element with `op` at the root (`MPI_Reduce`,
    /// mpi4py's upper-case `Reduce`). Returns the result at the root and nil elsewhere.
    public func reduce<T: MPIScalar>(buffer: [T], op: ReductionOperation, root: Int = 0) throws -> [T]? {
        let count = buffer.count
        let datatype = T.mpiDatatype.handle
        let isRoot = rank == root
        let result = try buffer.withUnsafeBufferPointer { source in
            try [T](unsafeUninitializedCapacity: isRoot ? count : 0) { result, initialized in
                try forEachChunk(of: count) { offset, length in
                    let target: UnsafeMutablePointer<T>? = isRoot ? result.baseAddress.map { $0 + offset } : nil
                    try mpiCall("MPI_Reduce") {
                        MPI_Reduce(source.baseAddress.map { $0 + offset }, target,
                                   length, datatype, op.handle, Int32(clamping: root), handle)
                    }
                }
                initialized = isRoot ? count : 0
            }
        }
        return isRoot ? result : nil
    }

    /// Copies the root's buffer into every process's `buffer`, in place (`MPI_Bcast`, mpi4py's
    /// upper-case `Bcast`). Every process passes a buffer of the same length.
    public func broadcast<T: MPIScalar>(buffer: inout [T], root: Int = 0) throws {
        let count = buffer.count
        let datatype = T.mpiDatatype.handle
        try buffer.withUnsafeMutableBufferPointer { pointer in
            try forEachChunk(of: count) { offset, length in
                try mpiCall("MPI_Bcast") {
                    MPI_Bcast(pointer.baseAddress.map { $0 + offset }, length, datatype, Int32(clamping: root), handle)
                }
            }
        }
    }
}
