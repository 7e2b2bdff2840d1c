internal import CMPICH

/// What a completed receive or probe says about a message (`MPI_Status`).
public struct Status: Sendable, Hashable, CustomStringConvertible {
    /// The rank that sent the message.
    public var source: Int
    /// The tag the message was sent with.
    public var tag: Int
    /// The size of the message in bytes (for typed buffers: elements times their size).
    public var count: Int
    /// Whether the operation was cancelled (``Request/cancel()``) instead of completing.
    public var isCancelled: Bool

    /// A status with the given fields.
    public init(source: Int, tag: Int, count: Int, isCancelled: Bool = false) {
        self.source = source
        self.tag = tag
        self.count = count
        self.isCancelled = isCancelled
    }

    /// A readable summary, such as `Status(source: 1, tag: 7, count: 16 bytes)`.
    public var description: String {
        "Status(source: \(source), tag: \(tag), count: \(count) bytes\(isCancelled ? ", cancelled" : ""))"
    }

    /// Reads an `MPI_Status`, counting elements of `datatype` that are `stride` bytes each.
    internal init(_ status: MPI_Status, datatype: MPIHandle<MPI_Datatype>, stride: Int) {
        var status = status
        var elements: MPI_Count = 0
        if MPI_Get_elements_x(&status, datatype, &elements) != cmpich_success() || elements < 0 {
            elements = 0
        }
        var cancelled: Int32 = 0
        _ = MPI_Test_cancelled(&status, &cancelled)
        self.init(source: Int(status.MPI_SOURCE), tag: Int(status.MPI_TAG),
                  count: Int(elements) * stride, isCancelled: cancelled != 0)
    }
}

/// Which sender a receive or probe accepts, like mpi4py's `source=` argument.
///
/// An integer literal means that rank: `receive(Int.self, from: 2)`.
public enum Source: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// Any sender (`MPI_ANY_SOURCE`).
    case any
    /// Only this rank.
    case rank(Int)

    /// The source for a rank written as an integer literal.
    public init(integerLiteral value: Int) {
        self = .rank(value)
    }

    /// The value MPI takes for this source.
    internal var mpiValue: Int32 {
        switch self {
        case .any: cmpich_any_source()
        case .rank(let rank): Int32(clamping: rank)
        }
    }
}

/// Which tag a receive or probe accepts, like mpi4py's `tag=` argument.
///
/// An integer literal means that tag: `receive(Int.self, tag: 7)`.
public enum Tag: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// Any tag (`MPI_ANY_TAG`).
    case any
    /// Only this tag.
    case value(Int)

    /// The tag written as an integer literal.
    public init(integerLiteral value: Int) {
        self = .value(value)
    }

    /// The value MPI takes for this tag.
    internal var mpiValue: Int32 {
        switch self {
        case .any: cmpich_any_tag()
        case .value(let tag): Int32(clamping: tag)
        }
    }
}
