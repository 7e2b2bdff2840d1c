#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// How much threading a process asks MPI to support (`MPI_THREAD_*`), from least to most.
public enum ThreadLevel: Int32, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    /// `MPI_THREAD_SINGLE`: only one thread exists.
    case single = 0
    /// `MPI_THREAD_FUNNELED`: only the thread that initialized MPI calls it.
    case funneled = 1
    /// `MPI_THREAD_SERIALIZED`: any thread calls MPI, but never two at once.
    case serialized = 2
    /// `MPI_THREAD_MULTIPLE`: any thread calls MPI at any time.
    case multiple = 3

    /// Orders levels from ``single`` to ``multiple``.
    public static func < (lhs: ThreadLevel, rhs: ThreadLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The MPI name of the level, such as `MPI_THREAD_MULTIPLE`.
    public var description: String {
        switch self {
        case .single: "MPI_THREAD_SINGLE"
        case .funneled: "MPI_THREAD_FUNNELED"
        case .serialized: "MPI_THREAD_SERIALIZED"
        case .multiple: "MPI_THREAD_MULTIPLE"
        }
    }

    /// The value of the MPI constant for this level.
    internal var mpiValue: Int32 {
        switch self {
        case .single: cmpich_thread_single()
        case .funneled: cmpich_thread_funneled()
        case .serialized: cmpich_thread_serialized()
        case .multiple: cmpich_thread_multiple()
        }
    }

    /// The level for an MPI constant; unknown values count as ``single``.
    internal init(mpiValue: Int32) {
        self = ThreadLevel.allCases.first { $0.mpiValue == mpiValue } ?? .single
    }
}
