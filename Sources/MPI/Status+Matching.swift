#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

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

/// Which sender a receive or probe accepts, like mpi4py's `source=` argument: ``Source/any``
/// (`MPI_ANY_SOURCE`), a rank, or ``Source/processNull`` (`MPI_PROC_NULL`).
///
/// Receives and probes take ``SourceConvertible``, so a plain `Int` (a literal or a variable) means
/// that rank, and `.any` any sender: `receive(Int.self, from: left)`, `receive(Int.self, from: .any)`.
public struct Source: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The rank, or a negative MPI special value.
    private let kind: Kind

    /// What the source names.
    private enum Kind: Sendable, Hashable {
        case any
        case processNull
        case rank(Int)
    }

    private init(_ kind: Kind) { self.kind = kind }

    /// Any sender (`MPI_ANY_SOURCE`, mpi4py's `ANY_SOURCE`).
    public static var any: Source { Source(.any) }

    /// No process (`MPI_PROC_NULL`, mpi4py's `PROC_NULL`): a receive from it completes at once with
    /// no data, source `MPI.processNull` and tag `MPI_ANY_TAG`.
    public static var processNull: Source { Source(.processNull) }

    /// Only this rank.
    public static func rank(_ rank: Int) -> Source {
        rank == MPI.processNull ? Source(.processNull) : Source(.rank(rank))
    }

    /// The source for a rank written as an integer literal.
    public init(integerLiteral value: Int) {
        self = .rank(value)
    }

    /// `any`, `processNull` or the rank.
    public var description: String {
        switch kind {
        case .any: "any"
        case .processNull: "processNull"
        case .rank(let rank): "\(rank)"
        }
    }

    /// The value MPI takes for this source.
    internal var mpiValue: Int32 {
        switch kind {
        case .any: cmpich_any_source()
        case .processNull: cmpich_proc_null()
        case .rank(let rank): Int32(clamping: rank)
        }
    }
}

/// Which tag a receive or probe accepts, like mpi4py's `tag=` argument: ``Tag/any``
/// (`MPI_ANY_TAG`) or one tag.
///
/// Receives and probes take ``TagConvertible``, so a plain `Int` (a literal or a variable) means
/// that tag, and `.any` any tag.
public struct Tag: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The tag, or nil for any.
    private let tag: Int?

    private init(tag: Int?) { self.tag = tag }

    /// Any tag (`MPI_ANY_TAG`, mpi4py's `ANY_TAG`).
    public static var any: Tag { Tag(tag: nil) }

    /// Only this tag.
    public static func value(_ tag: Int) -> Tag { Tag(tag: tag) }

    /// The tag written as an integer literal.
    public init(integerLiteral value: Int) {
        self.tag = value
    }

    /// `any` or the tag.
    public var description: String { tag.map { "\($0)" } ?? "any" }

    /// The value MPI takes for this tag.
    internal var mpiValue: Int32 {
        tag.map { Int32(clamping: $0) } ?? cmpich_any_tag()
    }
}

/// What a receive or probe takes as its source: a ``Source`` (`.any`, `.rank(r)`,
/// `.processNull`) or a plain `Int` rank, literal or variable.
public protocol SourceConvertible: Sendable {
    /// The source this value names.
    var asSource: Source { get }
}

/// What a receive or probe takes as its tag: a ``Tag`` (`.any`, `.value(t)`) or a plain `Int`.
public protocol TagConvertible: Sendable {
    /// The tag this value names.
    var asTag: Tag { get }
}

extension Source: SourceConvertible {
    /// Itself.
    public var asSource: Source { self }
}

extension Tag: TagConvertible {
    /// Itself.
    public var asTag: Tag { self }
}

/// A rank or a tag given as a plain `Int`: `from: 0, tag: 7`.
extension Int: SourceConvertible, TagConvertible {
    /// This rank (``MPI/processNull`` means `MPI_PROC_NULL`).
    public var asSource: Source { .rank(self) }
    /// This tag.
    public var asTag: Tag { .value(self) }
}

extension SourceConvertible where Self == Source {
    /// Any sender (`MPI_ANY_SOURCE`): lets `.any` stand where a ``SourceConvertible`` is expected.
    public static var any: Source { Source.any }
    /// No process (`MPI_PROC_NULL`).
    public static var processNull: Source { Source.processNull }
    /// Only this rank.
    public static func rank(_ rank: Int) -> Source { Source.rank(rank) }
}

extension TagConvertible where Self == Tag {
    /// Any tag (`MPI_ANY_TAG`): lets `.any` stand where a ``TagConvertible`` is expected.
    public static var any: Tag { Tag.any }
    /// Only this tag.
    public static func value(_ tag: Int) -> Tag { Tag.value(tag) }
}

extension SourceConvertible {
    /// The value MPI takes for this source.
    internal var mpiValue: Int32 { asSource.mpiValue }
}

extension TagConvertible {
    /// The value MPI takes for this tag.
    internal var mpiValue: Int32 { asTag.mpiValue }
}
