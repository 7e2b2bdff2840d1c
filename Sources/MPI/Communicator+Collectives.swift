#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire

/// Lengths below zero that collectives exchange to tell every process that a call cannot go on, so
/// that all of them throw instead of some waiting forever.
private enum Refusal: Int64 {
    /// The root passed nil (or the wrong number of values).
    case missingValue = -1
    /// Encoding failed.
    case encodingFailed = -2
    /// The encoded data is larger than ``MPI/countLimit``.
    case tooLarge = -3
}

extension Communicator {
    /// Sends the root's value to every process (mpi4py's lower-case `bcast`) and returns it.
    ///
    /// Collective. Other processes pass anything (usually nil). If the root passes nil, every
    /// process throws ``MPIError``.
    public func broadcast<T: Codable>(_ value: T?, root: Int = 0) throws -> T {
        let isRoot = rank == root
        var (bytes, length, encodingError): ([UInt8], Int64, (any Error)?) = ([], Refusal.missingValue.rawValue, nil)
        if isRoot, let value { (bytes, length, encodingError) = encodeOrRefuse(value) }
        try mpiCall("MPI_Bcast") { MPI_Bcast(&length, 1, cmpich_int64(), Int32(clamping: root), handle) }
        if let encodingError { throw encodingError }
        try refuse(length, "broadcast", root: root)
        if !isRoot { bytes = [UInt8](repeating: 0, count: Int(length)) }
        try bytes.withUnsafeMutableBytes { raw in
            try forEachChunk(of: raw.count) { offset, count in
                try mpiCall("MPI_Bcast") {
                    MPI_Bcast(raw.baseAddress.map { $0 + offset }, count, cmpich_byte(), Int32(clamping: root), handle)
                }
            }
        }
        if isRoot, let value { return value }
        return try WireDecoder().decode(T.self, from: bytes)
    }

    /// Gives process `i` the root's `values[i]` (mpi4py's lower-case `scatter`).
    ///
    /// Collective. Only the root's `values` matter; it must hold exactly `size` values, or every
    /// process throws ``MPIError``.
    public func scatter<T: Codable>(_ values: [T]?, root: Int = 0) throws -> T {
        let isRoot = rank == root
        let size = self.size
        var lengths = [Int64](repeating: Refusal.missingValue.rawValue, count: isRoot ? size : 0)
        var counts: [Int32] = []
        var displacements: [Int32] = []
        var bytes: [UInt8] = []
        var encodingError: (any Error)?
        if isRoot, let values, values.count == size {
            do {
                for (index, value) in values.enumerated() {
                    let start = bytes.count
                    try WireEncoder().encode(value, appendingTo: &bytes)
                    lengths[index] = Int64(bytes.count - start)
                }
                if bytes.count > MPI.countLimit {
                    lengths = [Int64](repeating: Refusal.tooLarge.rawValue, count: size)
                } else {
                    counts = lengths.map { Int32($0) }
                    var offset: Int32 = 0
                    displacements = counts.map { count in defer { offset += count }; return offset }
                }
            } catch {
                encodingError = error
                lengths = [Int64](repeating: Refusal.encodingFailed.rawValue, count: size)
            }
        }
        var length: Int64 = 0
        try mpiCall("MPI_Scatter") {
            MPI_Scatter(&lengths, 1, cmpich_int64(), &length, 1, cmpich_int64(), Int32(clamping: root), handle)
        }
        if let encodingError { throw encodingError }
        try refuse(length, "scatter", root: root)
        var mine = [UInt8](repeating: 0, count: Int(length))
        try mpiCall("MPI_Scatterv") {
            MPI_Scatterv(&bytes, &counts, &displacements, cmpich_byte(), &mine, Int32(length), cmpich_byte(),
                         Int32(clamping: root), handle)
        }
        if isRoot, let values { return values[root] }
        return try WireDecoder().decode(T.self, from: mine)
    }

    /// Collects every process's value at the root, in rank order (mpi4py's lower-case `gather`).
    ///
    /// Collective. Returns the values at the root and nil elsewhere.
    public func gather<T: Codable>(_ value: T, root: Int = 0) throws -> [T]? {
        let isRoot = rank == root
        let (bytes, lengths) = try exchangeLengths(of: value, "gather")
        var counts = lengths.map { Int32($0) }
        var displacements = Self.displacements(counts)
        let total = lengths.reduce(0, +)
        var all = [UInt8](repeating: 0, count: isRoot ? Int(total) : 0)
        var mine = bytes
        try mpiCall("MPI_Gatherv") {
            MPI_Gatherv(&mine, Int32(mine.count), cmpich_byte(), &all, &counts, &displacements, cmpich_byte(),
                        Int32(clamping: root), handle)
        }
        guard isRoot else { return nil }
        return try decodeAll(T.self, all, counts: counts, displacements: displacements, own: value)
    }

    /// Collects every process's value on every process, in rank order (mpi4py's `allgather`).
    public func allGather<T: Codable>(_ value: T) throws -> [T] {
        let (bytes, lengths) = try exchangeLengths(of: value, "allGather")
        var counts = lengths.map { Int32($0) }
        var displacements = Self.displacements(counts)
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        var mine = bytes
        try mpiCall("MPI_Allgatherv") {
            MPI_Allgatherv(&mine, Int32(mine.count), cmpich_byte(), &all, &counts, &displacements, cmpich_byte(), handle)
        }
        return try decodeAll(T.self, all, counts: counts, displacements: displacements, own: value)
    }

    /// Combines every process's value with `combine`, in rank order, at the root (mpi4py's
    /// lower-case `reduce` with a Python function). Returns the result at the root, nil elsewhere.
    ///
    /// Implemented as a binomial tree of point-to-point messages on a private duplicate of the
    /// communicator: `⌈log₂ size⌉` rounds, and at most `⌈log₂ size⌉` receives and combinations at
    /// any process (rank 0), instead of gathering `size` values at one. `combine(a, b)` gets the
    /// combination of lower ranks as `a`: it must be associative, as mpi4py requires, but need not be
    /// commutative. If a process cannot encode, decode or combine, the root throws ``MPIError``.
    public func reduce<T: Codable>(_ value: T, root: Int = 0, _ combine: (T, T) throws -> T) throws -> T? {
        try treeReduce(value, root: root, combine)
    }

    /// Combines every process's value with `combine`, in rank order, and returns the result on every
    /// process (mpi4py's lower-case `allreduce`).
    ///
    /// Implemented as ``reduce(_:root:_:)`` to rank 0 (a binomial tree, `O(log size)` rounds) and a
    /// ``broadcast(_:root:)`` of the result, so all get equal results. `combine` must be associative.
    public func allReduce<T: Codable>(_ value: T, _ combine: (T, T) throws -> T) throws -> T {
        var result: T?
        var failure: (any Error)?
        do {
            result = try treeReduce(value, root: 0, combine)
        } catch {
            // Still take part in the broadcast: rank 0 sends nil, so that every process throws.
            failure = error
        }
        let shared: T
        do {
            shared = try broadcast(result, root: 0)
        } catch {
            throw failure ?? error
        }
        if let failure { throw failure }
        return shared
    }

    // MARK: Helpers

    /// Throws the ``MPIError`` a negative length stands for.
    private func refuse(_ length: Int64, _ function: String, root: Int) throws {
        guard length < 0 else { return }
        switch Refusal(rawValue: length) {
        case .tooLarge:
            throw MPIError(errorClass: cmpich_err_count(), function: "Communicator.\(function)",
                           message: "the encoded values are larger than MPI.countLimit (\(MPI.countLimit)) bytes")
        case .encodingFailed:
            throw MPIError(errorClass: cmpich_err_other(), function: "Communicator.\(function)",
                           message: "the root (rank \(root)) could not encode its value")
        default:
            throw MPIError(errorClass: cmpich_err_arg(), function: "Communicator.\(function)",
                           message: function == "scatter"
                               ? "the root (rank \(root)) must pass exactly one value per process"
                               : "the root (rank \(root)) passed nil")
        }
    }

    /// Encodes a value for a collective. A value that does not encode gives the refusal length that
    /// every process will see, and the error to throw once they have seen it.
    private func encodeOrRefuse<T: Encodable>(_ value: T) -> (bytes: [UInt8], length: Int64, error: (any Error)?) {
        do {
            let bytes = try WireEncoder().encode(value)
            return (bytes, Int64(bytes.count), nil)
        } catch {
            return ([], Refusal.encodingFailed.rawValue, error)
        }
    }

    /// Encodes `value` and shares every process's encoded length (`MPI_Allgather`), so that every
    /// process can refuse together when one could not encode or the total is too large.
    private func exchangeLengths<T: Encodable>(of value: T, _ function: String) throws -> ([UInt8], [Int64]) {
        var (bytes, length, encodingError) = encodeOrRefuse(value)
        var lengths = [Int64](repeating: 0, count: size)
        try mpiCall("MPI_Allgather") {
            MPI_Allgather(&length, 1, cmpich_int64(), &lengths, 1, cmpich_int64(), handle)
        }
        if let encodingError { throw encodingError }
        if let failed = lengths.firstIndex(where: { $0 < 0 }) {
            throw MPIError(errorClass: cmpich_err_other(), function: "Communicator.\(function)",
                           message: "rank \(failed) could not encode its value")
        }
        if lengths.reduce(0, +) > Int64(MPI.countLimit) {
            throw MPIError(errorClass: cmpich_err_count(), function: "Communicator.\(function)",
                           message: "the encoded values total \(lengths.reduce(0, +)) bytes, more than MPI.countLimit (\(MPI.countLimit))")
        }
        return (bytes, lengths)
    }

    /// Offsets of consecutive blocks of the given sizes.
    private static func displacements(_ counts: [Int32]) -> [Int32] {
        var offset: Int32 = 0
        return counts.map { count in defer { offset += count }; return offset }
    }

    /// Decodes one value per block, using `own` for this process's block.
    private func decodeAll<T: Decodable>(_ type: T.Type, _ all: [UInt8], counts: [Int32], displacements: [Int32],
                                         own: T) throws -> [T] {
        let me = rank
        let decoder = WireDecoder()
        return try counts.indices.map { index in
            if index == me { return own }
            let start = Int(displacements[index])
            return try decoder.decode(T.self, from: all[start..<(start + Int(counts[index]))])
        }
    }
}
