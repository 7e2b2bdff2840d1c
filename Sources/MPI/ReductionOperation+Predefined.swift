#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import Synchronization

extension ReductionOperation {
    /// `MPI_LAND`, mpi4py's `MPI.LAND`: logical and, for `Bool` and integers (non-zero is true).
    public static var logicalAnd: ReductionOperation { ReductionOperation(handle: cmpich_op_land()) }
    /// `MPI_LOR`, mpi4py's `MPI.LOR`: logical or, for `Bool` and integers.
    public static var logicalOr: ReductionOperation { ReductionOperation(handle: cmpich_op_lor()) }
    /// `MPI_LXOR`, mpi4py's `MPI.LXOR`: logical exclusive or, for `Bool` and integers.
    public static var logicalXor: ReductionOperation { ReductionOperation(handle: cmpich_op_lxor()) }
    /// `MPI_BAND`, mpi4py's `MPI.BAND`: bitwise and, for integers.
    public static var bitwiseAnd: ReductionOperation { ReductionOperation(handle: cmpich_op_band()) }
    /// `MPI_BOR`, mpi4py's `MPI.BOR`: bitwise or, for integers.
    public static var bitwiseOr: ReductionOperation { ReductionOperation(handle: cmpich_op_bor()) }
    /// `MPI_BXOR`, mpi4py's `MPI.BXOR`: bitwise exclusive or, for integers.
    public static var bitwiseXor: ReductionOperation { ReductionOperation(handle: cmpich_op_bxor()) }
    /// `MPI_MAXLOC`, mpi4py's `MPI.MAXLOC`: the largest value and the smallest rank (location)
    /// holding it, for ``ValueAndRank`` buffers only.
    public static var maxLocation: ReductionOperation { ReductionOperation(handle: cmpich_op_maxloc()) }
    /// `MPI_MINLOC`, mpi4py's `MPI.MINLOC`: the smallest value and the smallest rank (location)
    /// holding it, for ``ValueAndRank`` buffers only.
    public static var minLocation: ReductionOperation { ReductionOperation(handle: cmpich_op_minloc()) }
}

// MARK: - Value and rank pairs for MAXLOC and MINLOC

/// A value that MPI pairs with an `int` location for `MPI_MAXLOC` and `MPI_MINLOC`: `Int32`
/// (`MPI_2INT`), `Float` (`MPI_FLOAT_INT`), `Double` (`MPI_DOUBLE_INT`) and `Int` (`MPI_LONG_INT`,
/// where `Int` is a C `long`).
public protocol MPILocatable: MPIScalar, Hashable, Comparable {
    /// The MPI pair datatype of `(Self, int)`, such as `MPI_DOUBLE_INT`.
    static var mpiPairDatatype: Datatype { get }
}

/// `Int32` values paired with a rank for `.maxLocation` and `.minLocation`, as `MPI_2INT`.
extension Int32: MPILocatable {
    /// `MPI_2INT`.
    public static var mpiPairDatatype: Datatype { Datatype(handle: cmpich_2int()) }
}

/// `Float` values paired with a rank for `.maxLocation` and `.minLocation`, as `MPI_FLOAT_INT`.
extension Float: MPILocatable {
    /// `MPI_FLOAT_INT`.
    public static var mpiPairDatatype: Datatype { Datatype(handle: cmpich_float_int()) }
}

/// `Double` values paired with a rank for `.maxLocation` and `.minLocation`, as `MPI_DOUBLE_INT`.
extension Double: MPILocatable {
    /// `MPI_DOUBLE_INT`.
    public static var mpiPairDatatype: Datatype { Datatype(handle: cmpich_double_int()) }
}

/// `Int` values paired with a rank for `.maxLocation` and `.minLocation`, as `MPI_LONG_INT`.
extension Int: MPILocatable {
    /// `MPI_LONG_INT` (a C `long` is a Swift `Int` on Linux).
    public static var mpiPairDatatype: Datatype { Datatype(handle: cmpich_long_int()) }
}

/// A value and the rank (or any `int` location) it came from, laid out as C's `struct { T value;
/// int location; }`: the element of ``ReductionOperation/maxLocation`` and
/// ``ReductionOperation/minLocation`` reductions (`MPI_DOUBLE_INT`, `MPI_2INT`…; mpi4py's lower-case
/// `allreduce((value, rank), op=MPI.MAXLOC)`).
@frozen
public struct ValueAndRank<Value: MPILocatable>: MPIScalar, Hashable {
    /// The value compared.
    public var value: Value
    /// The rank (location) that goes with it; ties keep the smallest.
    public var rank: Int32

    /// A pair of `value` and `rank`.
    public init(_ value: Value, rank: Int) {
        self.value = value
        self.rank = Int32(truncatingIfNeeded: rank)
    }

    /// The MPI pair datatype, such as `MPI_DOUBLE_INT`.
    public static var mpiDatatype: Datatype { Value.mpiPairDatatype }

}

extension Communicator {
    /// Combines one `(value, rank)` pair from every process with ``ReductionOperation/maxLocation``
    /// or ``ReductionOperation/minLocation`` and returns the winning pair everywhere (`MPI_Allreduce`
    /// on `MPI_DOUBLE_INT` and friends, mpi4py's `allreduce((value, rank), op=MPI.MAXLOC)`).
    ///
    /// Ties go to the smallest rank. `rank` is any `Int32` location; usually this process's rank.
    public func allReduce<Value: MPILocatable>(location: (value: Value, rank: Int), op: ReductionOperation)
        throws -> (value: Value, rank: Int) {
        let result = try allReduce([ValueAndRank(location.value, rank: location.rank)], op: op)[0]
        return (result.value, Int(result.rank))
    }

    /// Like ``allReduce(location:op:)``, with the result at `root` only (`MPI_Reduce`).
    public func reduce<Value: MPILocatable>(location: (value: Value, rank: Int), op: ReductionOperation, root: Int = 0)
        throws -> (value: Value, rank: Int)? {
        guard let result = try reduce(buffer: [ValueAndRank(location.value, rank: location.rank)], op: op, root: root)?.first
        else { return nil }
        return (result.value, Int(result.rank))
    }
}

// MARK: - Bool and complex

/// `Bool` in typed buffers and logical reductions, as `MPI_C_BOOL`.
extension Bool: MPIScalar {
    /// `MPI_C_BOOL`: use with ``ReductionOperation/logicalAnd``, ``ReductionOperation/logicalOr``
    /// and ``ReductionOperation/logicalXor``.
    public static var mpiDatatype: Datatype { Datatype(handle: cmpich_c_bool()) }
}

/// The real parts ``MPIComplex`` may have: `Float` (`MPI_C_FLOAT_COMPLEX`) and `Double`
/// (`MPI_C_DOUBLE_COMPLEX`).
public protocol MPIComplexReal: MPIScalar, BinaryFloatingPoint, Hashable {
    /// The MPI datatype of a complex number with this real type.
    static var mpiComplexDatatype: Datatype { get }
}

/// `Float` as the parts of ``MPIComplex``, as `MPI_C_FLOAT_COMPLEX`.
extension Float: MPIComplexReal {
    /// `MPI_C_FLOAT_COMPLEX`.
    public static var mpiComplexDatatype: Datatype { Datatype(handle: cmpich_c_float_complex()) }
}

/// `Double` as the parts of ``MPIComplex``, as `MPI_C_DOUBLE_COMPLEX`.
extension Double: MPIComplexReal {
    /// `MPI_C_DOUBLE_COMPLEX`.
    public static var mpiComplexDatatype: Datatype { Datatype(handle: cmpich_c_double_complex()) }
}

/// A complex number laid out as C's `float _Complex` or `double _Complex` (real part, then
/// imaginary part), sent as `MPI_C_FLOAT_COMPLEX` or `MPI_C_DOUBLE_COMPLEX` (NumPy's `complex64` and
/// `complex128` with mpi4py). ``ReductionOperation/sum`` and ``ReductionOperation/product`` work on
/// it. It has the layout of swift-numerics' `Complex<Real>`, which can be converted field by field.
@frozen
public struct MPIComplex<Real: MPIComplexReal>: MPIScalar, Hashable {
    /// The real part.
    public var real: Real
    /// The imaginary part.
    public var imaginary: Real

    /// `real + imaginary·i`.
    public init(_ real: Real, _ imaginary: Real = 0) {
        self.real = real
        self.imaginary = imaginary
    }

    /// `MPI_C_FLOAT_COMPLEX` or `MPI_C_DOUBLE_COMPLEX`.
    public static var mpiDatatype: Datatype { Real.mpiComplexDatatype }
}

// MARK: - User-defined operations

/// A reduction made from a Swift function (`MPI_Op_create`, mpi4py's `MPI.Op.Create`), for buffers
/// of `T`: use its ``operation`` wherever a ``ReductionOperation`` goes.
///
/// ```swift
/// let longest = try UserOperation<Int32> { a, b in Swift.max(a, b) }
/// let result = try world.allReduce(lengths, op: longest.operation)
/// print(result)
/// ```
///
/// Limits: MPI's callback cannot carry context, so the module has a fixed table of
/// ``UserOperation/capacity`` C trampolines; at most that many user operations exist at once (more
/// throw ``MPIError``, class ``MPIError/Class/other``). A slot is released, and `MPI_Op_free` called,
/// when the last copy of the operation (and of its ``operation``) goes away. The function runs on
/// MPI's thread inside the reduction, must not call MPI, and must be associative (and commutative
/// unless `commutative` is false, when MPI combines in rank order). Applied to a buffer whose
/// datatype is not `T`'s, it leaves the values unchanged and counts the call in
/// ``mismatchedCalls``.
///
/// `@unchecked Sendable` because its stored properties never change and under Open MPI the handle
/// is a pointer (see `MPIHandle`): it is never written through, only passed to MPI (by
/// ``operation``'s users, and to `MPI_Op_free` in `deinit`, when no other reference exists).
public final class UserOperation<T: MPIScalar>: @unchecked Sendable {
    /// The MPI handle.
    private let handle: MPIHandle<MPI_Op>
    /// The trampoline slot.
    private let slot: Int

    /// How many user-defined operations may exist at once.
    public static var capacity: Int { UserOperationTable.capacity }

    /// Registers `combine` as an MPI operation (`MPI_Op_create`). `combine(a, b)` gets `a` from a
    /// lower rank than `b` when the operation is not commutative.
    public init(commutative: Bool = true, _ combine: @escaping @Sendable (T, T) -> T) throws {
        let datatype = T.mpiDatatype
        let function: UserOperationTable.Function = { input, inout_, count, type in
            guard type == datatype.handle else { return false }
            let source = input.bindMemory(to: T.self, capacity: count)
            let target = inout_.bindMemory(to: T.self, capacity: count)
            for index in 0..<count {
                target[index] = combine(source[index], target[index])
            }
            return true
        }
        guard let slot = UserOperationTable.shared.register(function) else {
            throw MPIError(errorClass: cmpich_err_other(), function: "MPI_Op_create",
                           message: "all \(UserOperationTable.capacity) user-defined operation slots are in use")
        }
        var handle: MPIHandle<MPI_Op> = cmpich_op_null()
        do {
            try mpiCall("MPI_Op_create") { UserOperationTable.create(slot: slot, commute: commutative ? 1 : 0, &handle) }
        } catch {
            UserOperationTable.shared.release(slot)
            throw error
        }
        self.handle = handle
        self.slot = slot
    }

    deinit {
        if MPI.isInitialized && !MPI.isFinalized {
            var handle = self.handle
            _ = MPI_Op_free(&handle)
        }
        UserOperationTable.shared.release(slot)
    }

    /// The operation, for `allReduce(_:op:)`, `scan(_:op:)` and
    /// the other reductions; it keeps this object alive.
    public var operation: ReductionOperation { ReductionOperation(handle: handle, owner: self) }

    /// How many times the function was applied to a buffer of another datatype (and did nothing).
    public var mismatchedCalls: Int { UserOperationTable.shared.mismatches(slot) }
}

/// The fixed table behind ``UserOperation``: slot `i` holds a Swift function, and the operation
/// `create(slot: i)` makes has a C function (a closure literal that captures nothing) that calls it.
internal final class UserOperationTable: Sendable {
    /// Applies an operation to `count` elements: `(in, inout, count, datatype)`; false on a
    /// datatype mismatch.
    typealias Function = @Sendable (UnsafeMutableRawPointer, UnsafeMutableRawPointer, Int, MPIHandle<MPI_Datatype>) -> Bool

    /// The number of slots.
    static let capacity = 16

    /// The table every trampoline reads.
    static let shared = UserOperationTable()

    /// The registered functions, and each slot's count of mismatched calls.
    private let slots = Mutex<[(function: Function?, mismatches: Int)]>(
        Array(repeating: (nil, 0), count: UserOperationTable.capacity))

    /// Puts `function` in a free slot; nil when none is free.
    func register(_ function: @escaping Function) -> Int? {
        slots.withLock { slots in
            guard let free = slots.firstIndex(where: { $0.function == nil }) else { return nil }
            slots[free] = (function, 0)
            return free
        }
    }

    /// Frees a slot.
    func release(_ slot: Int) {
        slots.withLock { $0[slot] = (nil, 0) }
    }

    /// The mismatched calls counted for a slot.
    func mismatches(_ slot: Int) -> Int {
        slots.withLock { $0[slot].mismatches }
    }

    /// Runs slot `slot`'s function (outside the lock).
    static func call(_ slot: Int, _ input: UnsafeMutableRawPointer?, _ inout_: UnsafeMutableRawPointer?,
                     _ count: UnsafeMutablePointer<Int32>?, _ datatype: UnsafeMutableRawPointer?) {
        guard let input, let inout_, let count, let datatype, count.pointee > 0 else { return }
        guard let function = shared.slots.withLock({ $0[slot].function }) else { return }
        if !function(input, inout_, Int(count.pointee), datatype.load(as: MPIHandle<MPI_Datatype>.self)) {
            shared.slots.withLock { $0[slot].mismatches += 1 }
        }
    }

    /// Creates the MPI operation of slot `slot` (`MPI_Op_create` with that slot's trampoline, a
    /// closure literal that captures nothing, so Swift makes it a C function). The trampolines' C
    /// types are inferred from `MPI_Op_create`, so they follow the MPI's own `MPI_Datatype`.
    static func create(slot: Int, commute: Int32, _ handle: inout MPIHandle<MPI_Op>) -> Int32 {
        switch slot {
        case 0: MPI_Op_create({ callUserOperation(0, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 1: MPI_Op_create({ callUserOperation(1, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 2: MPI_Op_create({ callUserOperation(2, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 3: MPI_Op_create({ callUserOperation(3, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 4: MPI_Op_create({ callUserOperation(4, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 5: MPI_Op_create({ callUserOperation(5, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 6: MPI_Op_create({ callUserOperation(6, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 7: MPI_Op_create({ callUserOperation(7, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 8: MPI_Op_create({ callUserOperation(8, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 9: MPI_Op_create({ callUserOperation(9, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 10: MPI_Op_create({ callUserOperation(10, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 11: MPI_Op_create({ callUserOperation(11, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 12: MPI_Op_create({ callUserOperation(12, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 13: MPI_Op_create({ callUserOperation(13, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        case 14: MPI_Op_create({ callUserOperation(14, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        default: MPI_Op_create({ callUserOperation(15, $0, $1, $2, UnsafeMutableRawPointer($3)) }, commute, &handle)
        }
    }
}

/// Runs user operation slot `slot`: what every trampoline calls (a free function, so that the
/// trampolines capture nothing).
private func callUserOperation(_ slot: Int, _ input: UnsafeMutableRawPointer?, _ inout_: UnsafeMutableRawPointer?,
                               _ count: UnsafeMutablePointer<Int32>?, _ datatype: UnsafeMutableRawPointer?) {
    UserOperationTable.call(slot, input, inout_, count, datatype)
}
