#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// An MPI datatype for a fixed-size value, such as `MPI_DOUBLE`.
///
/// `@unchecked Sendable` because under Open MPI the handle is a pointer (see `MPIHandle`): it is
/// never written through, only passed to MPI, whose thread level governs use from several threads.
public struct Datatype: @unchecked Sendable, Hashable {
    /// The MPI handle.
    internal let handle: MPIHandle<MPI_Datatype>

    /// `MPI_BYTE`.
    public static var byte: Datatype { Datatype(handle: cmpich_byte()) }
    /// `MPI_INT8_T`.
    public static var int8: Datatype { Datatype(handle: cmpich_int8()) }
    /// `MPI_INT16_T`.
    public static var int16: Datatype { Datatype(handle: cmpich_int16()) }
    /// `MPI_INT32_T`.
    public static var int32: Datatype { Datatype(handle: cmpich_int32()) }
    /// `MPI_INT64_T`.
    public static var int64: Datatype { Datatype(handle: cmpich_int64()) }
    /// `MPI_UINT8_T`.
    public static var uint8: Datatype { Datatype(handle: cmpich_uint8()) }
    /// `MPI_UINT16_T`.
    public static var uint16: Datatype { Datatype(handle: cmpich_uint16()) }
    /// `MPI_UINT32_T`.
    public static var uint32: Datatype { Datatype(handle: cmpich_uint32()) }
    /// `MPI_UINT64_T`.
    public static var uint64: Datatype { Datatype(handle: cmpich_uint64()) }
    /// `MPI_FLOAT`.
    public static var float: Datatype { Datatype(handle: cmpich_float()) }
    /// `MPI_DOUBLE`.
    public static var double: Datatype { Datatype(handle: cmpich_double()) }
}

/// A fixed-size number MPI can send without encoding, straight from an array's storage (like a
/// NumPy buffer with mpi4py's upper-case `Send`/`Recv`), and combine with ``ReductionOperation``.
public protocol MPIScalar: BitwiseCopyable, Sendable {
    /// The MPI datatype of one value.
    static var mpiDatatype: Datatype { get }
}

/// `Int8` in typed buffers and reductions, as `MPI_INT8_T`.
extension Int8: MPIScalar {
    /// `MPI_INT8_T`.
    public static var mpiDatatype: Datatype { .int8 }
}

/// `Int16` in typed buffers and reductions, as `MPI_INT16_T`.
extension Int16: MPIScalar {
    /// `MPI_INT16_T`.
    public static var mpiDatatype: Datatype { .int16 }
}

/// `Int32` in typed buffers and reductions, as `MPI_INT32_T`.
extension Int32: MPIScalar {
    /// `MPI_INT32_T`.
    public static var mpiDatatype: Datatype { .int32 }
}

/// `Int64` in typed buffers and reductions, as `MPI_INT64_T`.
extension Int64: MPIScalar {
    /// `MPI_INT64_T`.
    public static var mpiDatatype: Datatype { .int64 }
}

/// `Int` in typed buffers and reductions, as `MPI_INT64_T` on 64-bit platforms, `MPI_INT32_T` on 32-bit ones.
extension Int: MPIScalar {
    /// `MPI_INT64_T` (or `MPI_INT32_T` where `Int` has 32 bits).
    public static var mpiDatatype: Datatype { MemoryLayout<Int>.size == 8 ? .int64 : .int32 }
}

/// `UInt8` in typed buffers and reductions, as `MPI_UINT8_T`.
extension UInt8: MPIScalar {
    /// `MPI_UINT8_T`.
    public static var mpiDatatype: Datatype { .uint8 }
}

/// `UInt16` in typed buffers and reductions, as `MPI_UINT16_T`.
extension UInt16: MPIScalar {
    /// `MPI_UINT16_T`.
    public static var mpiDatatype: Datatype { .uint16 }
}

/// `UInt32` in typed buffers and reductions, as `MPI_UINT32_T`.
extension UInt32: MPIScalar {
    /// `MPI_UINT32_T`.
    public static var mpiDatatype: Datatype { .uint32 }
}

/// `UInt64` in typed buffers and reductions, as `MPI_UINT64_T`.
extension UInt64: MPIScalar {
    /// `MPI_UINT64_T`.
    public static var mpiDatatype: Datatype { .uint64 }
}

/// `UInt` in typed buffers and reductions, as `MPI_UINT64_T` on 64-bit platforms, `MPI_UINT32_T` on 32-bit ones.
extension UInt: MPIScalar {
    /// `MPI_UINT64_T` (or `MPI_UINT32_T` where `UInt` has 32 bits).
    public static var mpiDatatype: Datatype { MemoryLayout<UInt>.size == 8 ? .uint64 : .uint32 }
}

/// `Float` in typed buffers and reductions, as `MPI_FLOAT`.
extension Float: MPIScalar {
    /// `MPI_FLOAT`.
    public static var mpiDatatype: Datatype { .float }
}

/// `Double` in typed buffers and reductions, as `MPI_DOUBLE`.
extension Double: MPIScalar {
    /// `MPI_DOUBLE`.
    public static var mpiDatatype: Datatype { .double }
}

/// An MPI reduction for typed buffers, applied element by element (`MPI_Op`, mpi4py's `MPI.SUM`,
/// `MPI.MAX`…). The predefined ones are static members (``sum``, ``maxLocation``, ``bitwiseXor``…;
/// see `ReductionOperation+Predefined.swift`); ``UserOperation`` makes one from a Swift function.
///
/// `@unchecked Sendable` because under Open MPI the handle is a pointer (see `MPIHandle`): it is
/// never written through, only passed to MPI, whose thread level governs use from several threads;
/// `owner` is `Sendable`.
public struct ReductionOperation: @unchecked Sendable, Hashable {
    /// The MPI handle.
    internal let handle: MPIHandle<MPI_Op>
    /// What keeps a user-defined operation alive while this value exists (nil for predefined ones).
    internal let owner: (any AnyObject & Sendable)?

    /// Wraps an MPI handle, kept alive by `owner` if it is a user-defined operation.
    internal init(handle: MPIHandle<MPI_Op>, owner: (any AnyObject & Sendable)? = nil) {
        self.handle = handle
        self.owner = owner
    }

    /// Equal when they name the same MPI operation.
    public static func == (lhs: ReductionOperation, rhs: ReductionOperation) -> Bool {
        lhs.handle == rhs.handle
    }

    /// Hashes the MPI handle.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(handle)
    }

    /// `MPI_SUM`, mpi4py's `MPI.SUM`.
    public static var sum: ReductionOperation { ReductionOperation(handle: cmpich_op_sum()) }
    /// `MPI_PROD`, mpi4py's `MPI.PROD`.
    public static var product: ReductionOperation { ReductionOperation(handle: cmpich_op_prod()) }
    /// `MPI_MIN`, mpi4py's `MPI.MIN`.
    public static var min: ReductionOperation { ReductionOperation(handle: cmpich_op_min()) }
    /// `MPI_MAX`, mpi4py's `MPI.MAX`.
    public static var max: ReductionOperation { ReductionOperation(handle: cmpich_op_max()) }
}
