#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
import ClusterFuturesWire

extension Communicator {
    /// Sends `values[j]` to process `j` and returns the value each process sent this one, in rank
    /// order (mpi4py's lower-case `alltoall`).
    ///
    /// Collective. Every process passes exactly `size` values. If one passes another number, cannot
    /// encode a value, or would receive more than ``MPI/countLimit`` bytes, every process throws
    /// ``MPIError``. Cost: an `MPI_Alltoall` of the lengths, an `MPI_Allreduce` of one number, and
    /// an `MPI_Alltoallv` of the encoded values.
    public func allToAll<T: Codable>(_ values: [T]) throws -> [T] {
        let size = self.size
        let me = rank
        var bytes: [UInt8] = []
        var lengths = [Int64](repeating: 0, count: size)
        var localError: (any Error)?
        if values.count == size {
            do {
                for (index, value) in values.enumerated() {
                    let start = bytes.count
                    try WireEncoder().encode(value, appendingTo: &bytes)
                    lengths[index] = Int64(bytes.count - start)
                }
            } catch {
                localError = error
            }
        } else {
            localError = Self.argumentError("Communicator.allToAll", "rank \(me) passed \(values.count) values for \(size) processes")
        }
        if localError != nil || bytes.count > MPI.countLimit {
            lengths = [Int64](repeating: -1, count: size)
            bytes = []
        }
        var received = [Int64](repeating: 0, count: size)
        try mpiCall("MPI_Alltoall") {
            MPI_Alltoall(&lengths, 1, cmpich_int64(), &received, 1, cmpich_int64(), handle)
        }
        if let localError { throw localError }
        if let failed = received.firstIndex(where: { $0 < 0 }) {
            throw MPIError(errorClass: cmpich_err_other(), function: "Communicator.allToAll",
                           message: failed == me ? "the encoded values are larger than MPI.countLimit (\(MPI.countLimit)) bytes"
                               : "rank \(failed) could not take part (wrong number of values, a value that does not encode, or too much data)")
        }
        // What one process receives may exceed the count limit while the others' does not: they
        // agree on the largest total first (8 bytes, logarithmic), so that all of them throw together.
        var largest = received.reduce(0, +)
        try mpiCall("MPI_Allreduce") {
            MPI_Allreduce(UnsafeRawPointer(cmpich_in_place()), &largest, 1, cmpich_int64(), cmpich_op_max(), handle)
        }
        guard largest <= Int64(MPI.countLimit) else {
            throw MPIError(errorClass: cmpich_err_count(), function: "Communicator.allToAll",
                           message: "a process would receive \(largest) bytes, more than MPI.countLimit (\(MPI.countLimit))")
        }
        var sendCounts = lengths.map { Int32($0) }
        var sendDisplacements = Self.packed(sendCounts)
        var receiveCounts = received.map { Int32($0) }
        var receiveDisplacements = Self.packed(receiveCounts)
        var all = [UInt8](repeating: 0, count: Int(received.reduce(0, +)))
        try mpiCall("MPI_Alltoallv") {
            MPI_Alltoallv(&bytes, &sendCounts, &sendDisplacements, cmpich_byte(),
                          &all, &receiveCounts, &receiveDisplacements, cmpich_byte(), handle)
        }
        let decoder = WireDecoder()
        return try (0..<size).map { index in
            if index == me { return values[me] }
            let start = Int(receiveDisplacements[index])
            return try decoder.decode(T.self, from: all[start..<(start + Int(receiveCounts[index]))])
        }
    }

    /// Combines every process's value with `combine` along a binomial tree, in rank order, and
    /// returns the result at `root`, nil elsewhere.
    ///
    /// Cost: `⌈log₂ size⌉` rounds of point-to-point messages on a private duplicate of the
    /// communicator (`MPI_Comm_dup`, itself a collective of logarithmic cost, made and freed in
    /// each call, so the messages never meet the caller's); each process sends one message, receives
    /// and combines at most `⌈log₂ size⌉`, so rank 0 does the most work at `O(log size)` instead of
    /// the `O(size)` of gathering everything at one rank. `combine(a, b)` always gets the
    /// combination of lower ranks as `a`, so it must be associative but need not be commutative
    /// (mpi4py's lower-case `reduce` makes the same demand).
    internal func treeReduce<T: Codable>(_ value: T, root: Int, _ combine: (T, T) throws -> T) throws -> T? {
        let size = self.size
        let me = rank
        guard root >= 0 && root < size else {
            throw MPIError(errorClass: cmpich_err_rank(), function: "Communicator.reduce", message: "root \(root) outside 0..<\(size)")
        }
        var privateHandle: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Comm_dup") { MPI_Comm_dup(handle, &privateHandle) }
        defer { _ = MPI_Comm_free(&privateHandle) }
        let tag: Int32 = 1
        // nil once this process, or one below it in the tree, failed: the tree still runs to the
        // end (so that nobody waits forever), carrying the failure to rank 0 and then the root.
        var accumulated: T? = value
        var localError: (any Error)?
        var step = 1
        while step < size {
            if me % (2 * step) == 0 {
                let partner = me + step
                if partner < size {
                    let theirs: T? = try Self.receiveTreeMessage(T.self, from: partner, tag: tag, communicator: privateHandle)
                    if let mine = accumulated, let theirs {
                        do {
                            accumulated = try combine(mine, theirs)
                        } catch {
                            localError = localError ?? error
                            accumulated = nil
                        }
                    } else {
                        accumulated = nil
                    }
                }
            } else {
                try Self.sendTreeMessage(accumulated, to: me - step, tag: tag, communicator: privateHandle)
                break
            }
            step *= 2
        }
        if root != 0 {
            if me == 0 { try Self.sendTreeMessage(accumulated, to: root, tag: tag, communicator: privateHandle) }
            if me == root { accumulated = try Self.receiveTreeMessage(T.self, from: 0, tag: tag, communicator: privateHandle) }
        }
        if let localError { throw localError }
        guard me == root else { return nil }
        guard let accumulated else {
            throw MPIError(errorClass: cmpich_err_other(), function: "Communicator.reduce",
                           message: "a process could not encode, decode or combine its part of the reduction")
        }
        return accumulated
    }

    /// Sends one step of the tree: a byte 1 and the encoded value, or a lone byte 0 for a failure.
    private static func sendTreeMessage<T: Encodable>(_ value: T?, to destination: Int, tag: Int32, communicator: MPIHandle<MPI_Comm>) throws {
        var bytes: [UInt8] = [0]
        if let value, let encoded = try? WireEncoder().encode(value), encoded.count < Int(Int32.max) {
            bytes = [1] + encoded
        }
        try mpiCall("MPI_Send") {
            MPI_Send(&bytes, Int32(bytes.count), cmpich_byte(), Int32(destination), tag, communicator)
        }
    }

    /// Receives one step of the tree: the value, or nil for a failure.
    private static func receiveTreeMessage<T: Decodable>(_ type: T.Type, from source: Int, tag: Int32, communicator: MPIHandle<MPI_Comm>) throws -> T? {
        var status = MPI_Status()
        try mpiCall("MPI_Probe") { MPI_Probe(Int32(source), tag, communicator, &status) }
        var count: Int32 = 0
        try mpiCall("MPI_Get_count") { MPI_Get_count(&status, cmpich_byte(), &count) }
        var bytes = [UInt8](repeating: 0, count: Int(max(count, 0)))
        try mpiCall("MPI_Recv") {
            MPI_Recv(&bytes, count, cmpich_byte(), Int32(source), tag, communicator, cmpich_status_ignore())
        }
        guard bytes.first == 1 else { return nil }
        return try? WireDecoder().decode(T.self, from: bytes[1...])
    }

    /// Offsets of consecutive blocks of the given sizes.
    private static func packed(_ counts: [Int32]) -> [Int32] {
        var offset: Int32 = 0
        return counts.map { count in defer { offset += count }; return offset }
    }
}
