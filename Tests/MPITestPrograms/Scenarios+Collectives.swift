// Scenarios for the collectives, reduction operations, datatypes and communicators of issue 14:
// every call with exact results at any number of ranks (the tests run 2 and 4), and the articles'
// collective programs written with them.

import MPI
import Synchronization

/// The scenarios of this file, merged into `scenarios` in main.swift.
@MainActor let collectiveScenarios: [String: (Communicator) throws -> Void] = [
    "coll-typed": typedScatterGather,
    "coll-v": vectorCollectives,
    "coll-scan": scansAndInPlace,
    "coll-codable": codableCollectives,
    "coll-nonblocking": nonBlockingCollectives,
    "coll-ops": reductionOperations,
    "coll-datatypes": datatypes,
    "coll-comms": communicatorsAndGroups,
    "coll-cart": cartesianTopologies,
    "coll-articles": articleCollectives,
]

// MARK: - Typed scatter, gather, all-gather, all-to-all

func typedScatterGather(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    // Scatter: rank r gets [10r, 10r+1, 10r+2].
    let all = (0..<size).flatMap { r in (0..<3).map { Int32(10 * r + $0) } }
    let mine = try world.scatter(buffer: rank == 1 % size ? all : nil, count: 3, root: 1 % size)
    try expect(mine == [Int32(10 * rank), Int32(10 * rank + 1), Int32(10 * rank + 2)], "scatter \(mine)")
    // Gather back at the last rank.
    let root = size - 1
    let gathered = try world.gather(buffer: mine.map { Double($0) / 2 }, root: root)
    if rank == root {
        try expect(gathered == all.map { Double($0) / 2 }, "gather \(String(describing: gathered))")
    } else {
        try expect(gathered == nil, "gather away from the root")
    }
    // All-gather of two elements each.
    let everyone = try world.allGather(buffer: [UInt16(rank), UInt16(rank * rank)])
    try expect(everyone == (0..<size).flatMap { [UInt16($0), UInt16($0 * $0)] }, "allGather \(everyone)")
    // In place: each fills its own block.
    var blocks = [Int64](repeating: -1, count: 2 * size)
    blocks[2 * rank] = Int64(rank)
    blocks[2 * rank + 1] = Int64(100 + rank)
    try world.allGather(inPlace: &blocks)
    try expect(blocks == (0..<size).flatMap { [Int64($0), Int64(100 + $0)] }, "allGather in place \(blocks)")
    // Gather in place at the root (the last rank): its own block is already there.
    let gatherRoot = size - 1
    var gatherBlocks = rank == gatherRoot ? [Int32](repeating: -1, count: 2 * size) : [Int32(rank), Int32(-rank)]
    if rank == gatherRoot {
        gatherBlocks[2 * rank] = Int32(rank)
        gatherBlocks[2 * rank + 1] = Int32(-rank)
    }
    try world.gather(inPlace: &gatherBlocks, root: gatherRoot)
    if rank == gatherRoot {
        try expect(gatherBlocks == (0..<size).flatMap { [Int32($0), Int32(-$0)] }, "gather in place at the root \(gatherBlocks)")
    } else {
        try expect(gatherBlocks == [Int32(rank), Int32(-rank)], "gather in place changed a non-root buffer \(gatherBlocks)")
    }
    // Scatter in place at the root (rank 0): the root keeps its buffer, the others get their block.
    let scatterSource = (0..<(3 * size)).map { Double($0) + 0.5 }
    var scatterBlocks = rank == 0 ? scatterSource : [Double](repeating: -1, count: 3)
    try world.scatter(inPlace: &scatterBlocks, root: 0)
    if rank == 0 {
        try expect(scatterBlocks == scatterSource, "scatter in place changed the root's buffer \(scatterBlocks)")
    } else {
        try expect(scatterBlocks == (0..<3).map { Double(3 * rank + $0) + 0.5 }, "scatter in place \(scatterBlocks)")
    }
    if size > 1, rank == 0 {
        var uneven = [Int](repeating: 0, count: size + 1)
        try expectMPIError(MPIError.Class.argument) { try world.scatter(inPlace: &uneven, root: 0) }
    }
    // All-to-all: block j of rank r holds 100r + j; rank r receives 100i + r from each i.
    let outgoing = (0..<size).map { 100 * rank + $0 }
    let incoming = try world.allToAll(buffer: outgoing)
    try expect(incoming == (0..<size).map { 100 * $0 + rank }, "allToAll \(incoming)")
    // Mismatched arguments are refused before MPI is called (every rank checks its own).
    if size > 1 {
        try expectMPIError(MPIError.Class.argument) { _ = try world.allToAll(buffer: [Int](repeating: 0, count: size + 1)) }
    }
    try world.barrier()
}

// MARK: - The v forms

func vectorCollectives(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    // Rank i gets i+1 elements; the root's buffer has a gap of 2 before each block.
    let counts = (0..<size).map { $0 + 1 }
    var displacements: [Int] = []
    var offset = 0
    for count in counts {
        offset += 2
        displacements.append(offset)
        offset += count
    }
    let source = (0..<offset).map { Int32($0) }
    let piece = try world.scatter(buffer: rank == 0 ? source : nil, counts: counts, displacements: displacements, root: 0)
    try expect(piece == (0..<(rank + 1)).map { Int32(displacements[rank] + $0) }, "scatterv \(piece)")
    // Gatherv into the same layout at the root: the gaps stay zero.
    let back = try world.gather(buffer: piece, counts: counts, displacements: displacements, root: 0)
    if rank == 0 {
        let expected = (0..<offset).map { index in displacements.indices.contains { displacements[$0] <= index && index < displacements[$0] + counts[$0] } ? Int32(index) : 0 }
        try expect(back == expected, "gatherv \(String(describing: back))")
    } else {
        try expect(back == nil, "gatherv away from the root")
    }
    // Allgatherv packed: rank i contributes i+1 copies of i.
    let packed = try world.allGather(buffer: [Double](repeating: Double(rank), count: rank + 1), counts: counts)
    try expect(packed == (0..<size).flatMap { [Double](repeating: Double($0), count: $0 + 1) }, "allgatherv \(packed)")
    // Alltoallv: rank r sends j+1 copies of 10r+j to rank j, so it receives r+1 copies of 10i+r
    // from each i, placed with a gap of one.
    let sendCounts = (0..<size).map { $0 + 1 }
    let outgoing = (0..<size).flatMap { j in [Int](repeating: 10 * rank + j, count: j + 1) }
    let receiveCounts = [Int](repeating: rank + 1, count: size)
    let receiveDisplacements = (0..<size).map { $0 * (rank + 2) }
    let incoming = try world.allToAll(buffer: outgoing, sendCounts: sendCounts, receiveCounts: receiveCounts,
                                      receiveDisplacements: receiveDisplacements)
    var expected: [Int] = []
    for i in 0..<size {
        expected += [Int](repeating: 10 * i + rank, count: rank + 1)
        if i < size - 1 { expected.append(0) }
    }
    try expect(incoming == expected, "alltoallv \(incoming), expected \(expected)")
    try expectMPIError(MPIError.Class.argument) { _ = try world.allGather(buffer: [1, 2, 3, 4, 5, 6, 7], counts: counts) }
    try world.barrier()
}

// MARK: - Scans, reduce-scatter, in place

func scansAndInPlace(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let inclusive = try world.scan([rank + 1, 1], op: .sum)
    try expect(inclusive == [(rank + 1) * (rank + 2) / 2, rank + 1], "scan \(inclusive)")
    try expect(try world.scan(Int32(rank + 1), op: .product) == Int32((1...(rank + 1)).reduce(1, *)), "scalar scan")
    let exclusive = try world.exclusiveScan([rank + 1], op: .sum)
    if rank == 0 {
        try expect(exclusive == nil, "exscan on rank 0 \(String(describing: exclusive))")
    } else {
        try expect(exclusive == [rank * (rank + 1) / 2], "exscan \(String(describing: exclusive))")
    }
    try expect(try world.exclusiveScan(Double(rank), op: .max) == (rank == 0 ? nil : Double(rank - 1)), "scalar exscan")
    var prefix = [Int64(rank), 2]
    try world.scan(inPlace: &prefix, op: .sum)
    try expect(prefix == [Int64(rank * (rank + 1) / 2), Int64(2 * (rank + 1))], "scan in place \(prefix)")
    // Reduce-scatter: element k of every buffer is k + rank; rank i gets i+1 elements.
    let counts = (0..<size).map { $0 + 1 }
    let total = counts.reduce(0, +)
    let buffer = (0..<total).map { $0 + rank }
    let mine = try world.reduceScatter(buffer, counts: counts, op: .sum)
    let start = rank * (rank + 1) / 2
    let rankSum = size * (size - 1) / 2
    try expect(mine == (start..<(start + rank + 1)).map { $0 * size + rankSum }, "reduce_scatter \(mine)")
    let block = try world.reduceScatterBlock((0..<(2 * size)).map { Int32($0 * (rank + 1)) }, op: .sum)
    let factor = Int32(size * (size + 1) / 2)
    try expect(block == [Int32(2 * rank) * factor, Int32(2 * rank + 1) * factor], "reduce_scatter_block \(block)")
    // In place.
    var values = [Double(rank), 1, -Double(rank)]
    try world.allReduce(inPlace: &values, op: .sum)
    try expect(values == [Double(rankSum), Double(size), -Double(rankSum)], "allReduce in place \(values)")
    var maxima = [UInt8(rank), UInt8(10 - rank)]
    try world.reduce(inPlace: &maxima, op: .max, root: size - 1)
    if rank == size - 1 {
        try expect(maxima == [UInt8(size - 1), 10], "reduce in place at the root \(maxima)")
    } else {
        try expect(maxima == [UInt8(rank), UInt8(10 - rank)], "reduce in place changed a non-root buffer \(maxima)")
    }
    try world.barrier()
}

// MARK: - Codable all-to-all and the tree reduce

/// A thrown error for the failing-combine check.
struct CombineFailed: Error {}

func codableCollectives(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let outgoing = (0..<size).map { "from \(rank) to \($0)" }
    let incoming = try world.allToAll(outgoing)
    try expect(incoming == (0..<size).map { "from \($0) to \(rank)" }, "alltoall \(incoming)")
    let messages = try world.allToAll((0..<size).map { Message(rank: rank, text: "\($0)", values: [Double(rank * $0)]) })
    try expect(messages == (0..<size).map { Message(rank: $0, text: "\(rank)", values: [Double(rank * $0)]) }, "alltoall messages")
    // A wrong count on one rank makes every rank throw.
    let wrong = rank == size - 1 ? ["only one"] + (size == 1 ? ["extra"] : []) : (0..<size).map { "\($0)" }
    try expectMPIError { _ = try world.allToAll(wrong) }
    // Only rank 0 would receive more than the count limit: every rank throws, none waits.
    if size > 1 {
        let saved = MPI.countLimit
        MPI.countLimit = 100
        defer { MPI.countLimit = saved }
        let lopsided = (0..<size).map { $0 == 0 ? String(repeating: "x", count: 60) : "y" }
        try expectMPIError(MPIError.Class.count) { _ = try world.allToAll(lopsided) }
    }
    // The tree reduce keeps rank order: concatenation is associative, not commutative.
    // Every rank must use the same roots in the same order (a Set's order differs between processes).
    for root in [0, size - 1, size / 2] {
        let joined = try world.reduce([rank], root: root) { $0 + $1 }
        if rank == root {
            try expect(joined == Array(0..<size), "reduce at \(root): \(String(describing: joined))")
        } else {
            try expect(joined == nil, "reduce returned a value away from the root")
        }
    }
    let text = try world.allReduce(String(rank)) { $0 + $1 }
    try expect(text == (0..<size).map(String.init).joined(), "allReduce \(text)")
    let sum = try world.allReduce(Message(rank: rank, text: "", values: [1])) {
        Message(rank: $0.rank + $1.rank, text: $0.text + "+" + $1.text, values: [$0.values[0] + $1.values[0]])
    }
    try expect(sum.rank == size * (size - 1) / 2 && sum.values == [Double(size)] && sum.text.count == size - 1, "allReduce \(sum)")
    // A combine that throws on one rank: the root throws, nobody hangs.
    if size > 1 {
        var thrownHere = false
        do {
            let result = try world.reduce(rank, root: 0) { a, b in
                if b == size - 1 { thrownHere = true; throw CombineFailed() }
                return a + b
            }
            try expect(rank != 0, "the root returned \(String(describing: result)) after a failed combine")
        } catch is CombineFailed {
            try expect(thrownHere, "CombineFailed thrown where combine did not fail")
        } catch let error as MPIError {
            try expect(rank == 0, "a non-root rank threw \(error)")
        }
        do {
            _ = try world.allReduce(rank) { a, b in
                if b == size - 1 { throw CombineFailed() }
                return a + b
            }
            throw Failure(description: "allReduce with a failing combine returned")
        } catch is CombineFailed, is MPIError {}
    }
    try world.barrier()
}

// MARK: - Non-blocking collectives

func nonBlockingCollectives(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let root = size - 1
    let barrier = try world.ibarrier()
    try barrier.wait()
    // Broadcast: the buffer goes in, comes back with the root's data.
    var buffer = rank == root ? [1.5, 2.5, 3.5] : [Double](repeating: 0, count: 3)
    let broadcast = try world.ibroadcast(buffer: consume buffer, root: root)
    _ = try broadcast.test()
    buffer = try broadcast.wait()
    try expect(buffer == [1.5, 2.5, 3.5], "ibcast \(buffer)")
    let reduce = try world.ireduce([Int32(rank), 1], op: .sum, root: 0)
    let reduced = try reduce.wait()
    try expect(reduced == (rank == 0 ? [Int32(size * (size - 1) / 2), Int32(size)] : nil), "ireduce \(String(describing: reduced))")
    // Several in flight at once, completed in another order.
    let allReduce = try world.iallReduce([rank, 2 * rank], op: .max)
    let gather = try world.igather(buffer: [UInt8(rank)], root: 0)
    let scatter = try world.iscatter(buffer: rank == 0 ? (0..<(2 * size)).map { Int16($0) } : nil, count: 2, root: 0)
    let allGather = try world.iallGather(buffer: [Int64(rank * 3)])
    let allToAll = try world.iallToAll(buffer: (0..<size).map { Float(rank * 10 + $0) })
    try expect(try allToAll.wait() == (0..<size).map { Float($0 * 10 + rank) }, "ialltoall")
    try expect(try allGather.wait() == (0..<size).map { Int64($0 * 3) }, "iallgather")
    try expect(try scatter.wait() == [Int16(2 * rank), Int16(2 * rank + 1)], "iscatter")
    let gathered = try gather.wait()
    try expect(gathered == (rank == 0 ? (0..<size).map { UInt8($0) } : nil), "igather \(String(describing: gathered))")
    try expect(try allReduce.wait() == [size - 1, 2 * (size - 1)], "iallreduce")
    // Scans and reduce-scatter-block, non-blocking, completed in another order.
    let scan = try world.iscan([rank + 1, 1], op: .sum)
    let exclusiveScan = try world.iexclusiveScan([Int32(rank + 1)], op: .sum)
    let reduceScatterBlock = try world.ireduceScatterBlock((0..<(2 * size)).map { Int64($0 * (rank + 1)) }, op: .sum)
    let factor = Int64(size * (size + 1) / 2)
    let block = try reduceScatterBlock.wait()
    try expect(block == [Int64(2 * rank) * factor, Int64(2 * rank + 1) * factor], "ireduce_scatter_block \(block)")
    let exclusive = try exclusiveScan.wait()
    try expect(exclusive == (rank == 0 ? nil : [Int32(rank * (rank + 1) / 2)]), "iexscan \(String(describing: exclusive))")
    let inclusive = try scan.wait()
    try expect(inclusive == [(rank + 1) * (rank + 2) / 2, rank + 1], "iscan \(inclusive)")
    // Zero-copy: a consumed buffer comes back in the same storage. A buffer the caller keeps a
    // copy of is copied instead, and the caller's copy never sees MPI's writes.
    var storage = [Int](repeating: rank, count: 1000)
    let before = storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    let inPlace = try world.iallReduce(consume storage, op: .sum)
    storage = try inPlace.wait()
    let after = storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    try expect(storage == [Int](repeating: size * (size - 1) / 2, count: 1000), "iallreduce miscomputed")
    try expect(before == after, "iallreduce copied the buffer it consumed")
    let kept = [Int](repeating: rank + 1, count: 10)
    let shared = try world.iallReduce(kept, op: .sum)
    try expect(try shared.wait() == [Int](repeating: size * (size + 1) / 2, count: 10), "iallreduce of a shared buffer")
    try expect(kept == [Int](repeating: rank + 1, count: 10), "the caller's copy changed: \(kept)")
    // A request dropped before completion waits for it (every rank starts the same one).
    do {
        _ = try world.iallReduce([1], op: .sum)
    }
    try world.barrier()
}

// MARK: - Reduction operations

/// Concatenates decimal numbers: associative, not commutative.
func concatenate(_ a: Int64, _ b: Int64) -> Int64 {
    var scale: Int64 = 10
    while scale <= b { scale *= 10 }
    return a * scale + b
}

func reductionOperations(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    // Logical on Bool.
    let flags = [rank == 0, true, false, rank % 2 == 1]
    try expect(try world.allReduce(flags, op: .logicalAnd) == [size == 1, true, false, false], "land")
    try expect(try world.allReduce(flags, op: .logicalOr) == [true, true, false, size > 1], "lor")
    try expect(try world.allReduce(flags, op: .logicalXor) == [true, size % 2 == 1, false, (size / 2) % 2 == 1], "lxor")
    try expect(try world.allReduce(Int32(rank), op: .logicalOr) == (size > 1 ? 1 : 0), "lor on integers")
    try expect(try world.allReduce(Int32(rank + 1), op: .logicalAnd) == 1, "land on integers")
    // Bitwise on integers: bit r set by rank r.
    let bit = UInt32(1) << UInt32(rank)
    try expect(try world.allReduce(bit, op: .bitwiseOr) == (UInt32(1) << UInt32(size)) - 1, "bor")
    try expect(try world.allReduce(bit | 0x100, op: .bitwiseAnd) == (size == 1 ? 0x101 : 0x100), "band")
    try expect(try world.allReduce(UInt8(0b11), op: .bitwiseXor) == (size % 2 == 1 ? 0b11 : 0), "bxor")
    // MAXLOC and MINLOC: the values peak at rank size/2, ties go to the smaller rank.
    let peak = size / 2
    let value = Double(10 - abs(rank - peak))
    let maximum = try world.allReduce(location: (value, rank), op: .maxLocation)
    try expect(maximum.value == 10 && maximum.rank == peak, "maxloc \(maximum)")
    let minimum = try world.allReduce(location: (Int32(rank % 2), rank), op: .minLocation)
    try expect(minimum.value == 0 && minimum.rank == 0, "minloc \(minimum)")
    let tie = try world.allReduce(location: (Int(7), rank), op: .maxLocation)
    try expect(tie.value == 7 && tie.rank == 0, "maxloc tie \(tie)")
    let floats = try world.allReduce([ValueAndRank(Float(rank), rank: rank), ValueAndRank(Float(-rank), rank: rank)], op: .maxLocation)
    try expect(floats == [ValueAndRank(Float(size - 1), rank: size - 1), ValueAndRank(Float(0), rank: 0)], "maxloc floats \(floats)")
    let atRoot = try world.reduce(location: (Double(rank * rank), rank), op: .maxLocation, root: 0)
    try expect(rank == 0 ? (atRoot?.value == Double((size - 1) * (size - 1)) && atRoot?.rank == size - 1) : atRoot == nil, "reduce maxloc")
    // User-defined: commutative (largest absolute value) and not (concatenation in rank order).
    let largestMagnitude = try UserOperation<Int32> { a, b in abs(a) >= abs(b) ? a : b }
    let magnitudes = try world.allReduce([Int32(rank % 2 == 0 ? -rank : rank), 5], op: largestMagnitude.operation)
    try expect(magnitudes == [Int32(size - 1) * ((size - 1) % 2 == 0 ? -1 : 1), 5], "user op \(magnitudes)")
    let digits = try UserOperation<Int64>(commutative: false, concatenate)
    let ordered = try world.allReduce(Int64(rank + 1), op: digits.operation)
    let expected = (1...size).reduce(Int64(0)) { concatenate($0, Int64($1)) }
    try expect(ordered == expected, "non-commutative user op \(ordered), expected \(expected)")
    let scanned = try world.scan(Int64(rank + 1), op: digits.operation)
    try expect(scanned == (1...(rank + 1)).reduce(Int64(0)) { concatenate($0, Int64($1)) }, "user op scan \(scanned)")
    let nonBlocking = try world.iallReduce([Int64(rank + 1)], op: digits.operation)
    try expect(try nonBlocking.wait() == [expected], "user op iallreduce")
    // Applied to another datatype, it does nothing and counts the call (only ranks that combine).
    _ = try world.allReduce([Double(rank), 1], op: digits.operation)
    let mismatches = try world.allReduce(digits.mismatchedCalls, op: .sum)
    try expect(size == 1 || mismatches > 0, "mismatched user op calls \(mismatches)")
    // The table has a fixed size.
    var operations: [UserOperation<Int>] = []
    try expectMPIError(MPIError.Class.other) {
        for _ in 0...UserOperation<Int>.capacity { operations.append(try UserOperation<Int> { $0 + $1 }) }
    }
    operations.removeAll()
    let again = try UserOperation<Int> { $0 &+ $1 }
    try expect(try world.allReduce(1, op: again.operation) == size, "a slot released and used again")
    try world.barrier()
}

// MARK: - Datatypes

/// A struct sent with a derived datatype.
struct Particle: MPIScalar, Equatable {
    var position: Double
    var id: Int32
    var charge: Float

    /// Made once, after MPI is initialized, by the first use.
    static let datatypeStorage = Mutex<Datatype?>(nil)

    /// The struct's datatype (`MPI_Type_create_struct`).
    static var mpiDatatype: Datatype {
        datatypeStorage.withLock { stored in
            if let stored { return stored }
            // No force-unwrap on failure: fall back to bytes, which the test would catch.
            let made = (try? Datatype.structure(of: Particle.self, fields: [(\.position, .double), (\.id, .int32), (\.charge, .float)]))
                ?? .byte
            stored = made
            return made
        }
    }
}

func datatypes(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    // Bool and complex.
    var flags = rank == 0 ? [true, false, true] : [false, false, false]
    try world.broadcast(buffer: &flags, root: 0)
    try expect(flags == [true, false, true], "bool bcast \(flags)")
    let z = MPIComplex<Double>(Double(rank), 1)
    let sum = try world.allReduce([z], op: .sum)
    try expect(sum == [MPIComplex(Double(size * (size - 1) / 2), Double(size))], "complex sum \(sum)")
    // (i)^size: i, -1, -i, 1.
    let power = try world.allReduce(MPIComplex<Float>(0, 1), op: .product)
    let powers: [MPIComplex<Float>] = [MPIComplex(0, 1), MPIComplex(-1, 0), MPIComplex(0, -1), MPIComplex(1, 0)]
    try expect(power == powers[(size - 1) % 4], "complex product \(power)")
    try expect(MemoryLayout<MPIComplex<Double>>.stride == 16 && MemoryLayout<ValueAndRank<Double>>.stride == 16, "layouts")
    // Contiguous: three doubles as one element.
    let triple = try Datatype.contiguous(3, of: .double)
    defer { try? triple.free() }
    try expect(try triple.size() == 24 && triple.extent().extent == 24, "contiguous size")
    // Vector: a column of a 4 x 3 row-major matrix.
    let column = try Datatype.vector(count: 4, blockLength: 1, stride: 3, of: .int32)
    defer { try? column.free() }
    try expect(try column.size() == 16, "vector size")
    let right = (rank + 1) % size
    let left = (rank + size - 1) % size
    let matrix = (0..<12).map { Int32(100 * rank + $0) }
    var received = [Int32](repeating: -1, count: 12)
    if size > 1 {
        if rank % 2 == 0 {
            try world.send(matrix, count: 1, datatype: column, to: right, tag: 21)
            try world.receive(into: &received, count: 1, datatype: column, from: .rank(left), tag: 21)
        } else {
            try world.receive(into: &received, count: 1, datatype: column, from: .rank(left), tag: 21)
            try world.send(matrix, count: 1, datatype: column, to: right, tag: 21)
        }
        // The datatype starts at the array's first element: column 0.
        let expected = (0..<12).map { $0 % 3 == 0 ? Int32(100 * left + $0) : -1 }
        try expect(received == expected, "vector column \(received)")
        // Contiguous triples: two of them (six doubles) from the left.
        var doubles = [Double](repeating: 0, count: 7)
        let sent = (0..<6).map { Double(rank) + Double($0) / 10 }
        if rank % 2 == 0 {
            try world.send(sent, count: 2, datatype: triple, to: right, tag: 22)
            let status = try world.receive(into: &doubles, count: 2, datatype: triple, from: .rank(left), tag: 22)
            try expect(status.count == 48 && status.source == left, "contiguous status \(status)")
        } else {
            let status = try world.receive(into: &doubles, count: 2, datatype: triple, from: .rank(left), tag: 22)
            try expect(status.count == 48 && status.source == left, "contiguous status \(status)")
            try world.send(sent, count: 2, datatype: triple, to: right, tag: 22)
        }
        try expect(doubles == (0..<6).map { Double(left) + Double($0) / 10 } + [0], "contiguous \(doubles)")
    }
    // A datatype reaching beyond the array is refused (the column spans 10 elements).
    try expectMPIError(MPIError.Class.argument) { try world.send([Int32](repeating: 0, count: 9), count: 1, datatype: column, to: 0) }
    // A struct datatype, through the ordinary typed calls.
    let particle = Particle(position: Double(rank) * 1.5, id: Int32(rank), charge: -Float(rank))
    let particles = try world.allGather(buffer: [particle])
    try expect(particles == (0..<size).map { Particle(position: Double($0) * 1.5, id: Int32($0), charge: -Float($0)) }, "struct allgather \(particles)")
    try expect(try Particle.mpiDatatype.size() == 16 && Particle.mpiDatatype.extent().extent == MemoryLayout<Particle>.stride, "struct size")
    try world.barrier()
}

// MARK: - Communicators and groups

func communicatorsAndGroups(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    try expect(MPI.version.major >= 3, "MPI version \(MPI.version)")
    try expect(MPI.wtick() > 0 && MPI.wtick() < 1, "wtick \(MPI.wtick())")
    // Split with MPI_UNDEFINED: rank 0 stays out.
    let rest = try world.split(optionalColor: rank == 0 ? nil : 1, key: rank)
    if rank == 0 {
        try expect(rest == nil, "rank 0 opted out but got a communicator")
    } else {
        guard let rest else { throw Failure(description: "no communicator for rank \(rank)") }
        try expect(rest.size == size - 1 && rest.rank == rank - 1, "split size \(rest.size) rank \(rest.rank)")
        try expect(try rest.allReduce(rank, op: .sum) == size * (size - 1) / 2, "sum in the split")
        try rest.free()
    }
    // Groups.
    let everyone = try world.group
    try expect(try everyone.size() == size && everyone.rank() == rank, "world group")
    let evenRanks = Array(stride(from: 0, to: size, by: 2))
    let oddRanks = Array(stride(from: 1, to: size, by: 2))
    let evens = try everyone.including(evenRanks)
    let odds = try everyone.excluding(evenRanks)
    try expect(try evens.size() == evenRanks.count && odds.size() == oddRanks.count, "incl/excl sizes")
    try expect(try evens.rank() == (rank % 2 == 0 ? rank / 2 : nil), "rank in evens")
    try expect(try evens.translate(Array(0..<evenRanks.count), to: everyone) == evenRanks.map { $0 }, "translate to world")
    try expect(try everyone.translate(Array(0..<size), to: evens) == (0..<size).map { $0 % 2 == 0 ? $0 / 2 : nil }, "translate to evens")
    let union = try odds.union(evens)
    try expect(try union.translate(Array(0..<size), to: everyone) == (oddRanks + evenRanks).map { $0 }, "union order")
    let intersection = try everyone.intersection(evens)
    try expect(try intersection.translate(Array(0..<evenRanks.count), to: everyone) == evenRanks.map { $0 }, "intersection")
    let difference = try everyone.subtracting(evens)
    try expect(try difference.size() == oddRanks.count && difference.translate(Array(0..<oddRanks.count), to: everyone) == oddRanks.map { $0 }, "difference")
    try expect(try everyone.intersection(.empty).size() == 0, "intersection with the empty group")
    // Comm.Create: a communicator of the odd ranks.
    let oddCommunicator = try world.create(group: odds)
    if rank % 2 == 1 {
        guard let oddCommunicator else { throw Failure(description: "odd rank \(rank) got no communicator") }
        try expect(oddCommunicator.size == oddRanks.count && oddCommunicator.rank == rank / 2, "created communicator")
        try expect(try oddCommunicator.allReduce(rank, op: .sum) == oddRanks.reduce(0, +), "sum among odds")
        try oddCommunicator.free()
    } else {
        try expect(oddCommunicator == nil, "even rank \(rank) got a communicator of odd ranks")
    }
    for group in [evens, odds, union, intersection, difference, everyone] { try group.free() }
    // Intercommunicator between the evens and the odds, then merged.
    if size > 1 {
        let local = try world.split(color: rank % 2, key: rank)
        let inter = try local.intercommunicator(localLeader: 0, peer: world, remoteLeader: rank % 2 == 0 ? 1 : 0, tag: 33)
        try expect(try inter.isIntercommunicator() && !world.isIntercommunicator(), "intercommunicator test")
        try expect(inter.size == local.size && inter.rank == rank / 2, "intercommunicator local size and rank")
        let remote = try inter.remoteSize()
        try expect(remote == (rank % 2 == 0 ? oddRanks.count : evenRanks.count), "remote size \(remote)")
        // Leaders exchange across the intercommunicator: ranks name the remote group.
        if inter.rank == 0 {
            var answer = [Int32](repeating: -1, count: 1)
            if rank % 2 == 0 {
                try world_sendInter(inter, [Int32(rank + 1000)])
                try inter.receive(into: &answer, count: 1, datatype: .int32, from: .rank(0), tag: 34)
            } else {
                try inter.receive(into: &answer, count: 1, datatype: .int32, from: .rank(0), tag: 34)
                try world_sendInter(inter, [Int32(rank + 1000)])
            }
            try expect(answer == [Int32(rank % 2 == 0 ? 1001 : 1000)], "intercommunicator message \(answer)")
        }
        let merged = try inter.merge(high: rank % 2 == 1)
        try expect(merged.size == size && merged.rank == (rank % 2 == 0 ? rank / 2 : evenRanks.count + rank / 2), "merged rank \(merged.rank)")
        try expect(try merged.allGather(rank) == evenRanks + oddRanks, "merged order")
        try merged.free()
        try inter.free()
        try local.free()
    }
    // PROC_NULL: sends and receives complete at once and move nothing.
    var nothing = [Int32](repeating: 9, count: 2)
    try world.send([Int32(1), 2], count: 2, datatype: .int32, to: MPI.processNull)
    let status = try world.receive(into: &nothing, count: 2, datatype: .int32, from: .processNull)
    try expect(nothing == [9, 9] && status.source == MPI.processNull && status.count == 0, "PROC_NULL \(status)")
    try world.barrier()
}

/// Sends to rank 0 of the remote group of an intercommunicator.
func world_sendInter(_ inter: Communicator, _ values: [Int32]) throws {
    try inter.send(values, count: values.count, datatype: .int32, to: 0, tag: 34)
}

// MARK: - Cartesian topologies

func cartesianTopologies(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    try expect(try MPI.dimensions(for: 12, [0, 0]) == [4, 3], "dims 12")
    try expect(try MPI.dimensions(for: 6, [0, 0, 0]) == [3, 2, 1], "dims 6")
    try expect(try MPI.dimensions(for: 8, [0, 2]) == [4, 2], "dims with a fixed one")
    let dims = try MPI.dimensions(for: size, [0, 0])
    try expect(dims == (size == 4 ? [2, 2] : size == 2 ? [2, 1] : [size, 1]), "dims \(dims)")
    guard let grid = try world.cartesian(dimensions: dims, periodic: [true, false]) else {
        throw Failure(description: "no Cartesian communicator")
    }
    let coordinates = [rank / dims[1], rank % dims[1]]
    try expect(try grid.cartesianCoordinates(of: grid.rank) == coordinates, "coords")
    try expect(try grid.cartesianRank(of: coordinates) == grid.rank, "cart rank")
    try expect(try grid.cartesianRank(of: [coordinates[0] + dims[0], coordinates[1]]) == grid.rank, "periodic wrap")
    let topology = try grid.cartesianTopology()
    try expect(topology.dimensions == dims && topology.periodic == [true, false] && topology.coordinates == coordinates, "topology \(topology)")
    // Along the periodic dimension: neighbours wrap around.
    let (up, down) = try grid.cartesianShift(dimension: 0, by: 1)
    try expect(up == ((coordinates[0] + dims[0] - 1) % dims[0]) * dims[1] + coordinates[1], "shift source \(up)")
    try expect(down == ((coordinates[0] + 1) % dims[0]) * dims[1] + coordinates[1], "shift destination \(down)")
    // Along the other: PROC_NULL at the edges.
    let (west, east) = try grid.cartesianShift(dimension: 1, by: 1)
    try expect(west == (coordinates[1] == 0 ? MPI.processNull : grid.rank - 1), "west \(west)")
    try expect(east == (coordinates[1] == dims[1] - 1 ? MPI.processNull : grid.rank + 1), "east \(east)")
    // A halo exchange along dimension 0 with sendReceive through the shifted neighbours.
    let row = try grid.cartesianSubgrid(keeping: [false, true])
    try expect(row.size == dims[1] && row.rank == coordinates[1], "row communicator")
    try expect(try row.allGather(grid.rank) == (0..<dims[1]).map { coordinates[0] * dims[1] + $0 }, "row members")
    let column = try grid.cartesianSubgrid(keeping: [true, false])
    try expect(column.size == dims[0] && column.rank == coordinates[0], "column communicator")
    try row.free()
    try column.free()
    try grid.free()
    // Processes beyond the grid get nil.
    let small = try world.cartesian(dimensions: [1])
    try expect((small == nil) == (rank > 0), "ranks outside a grid of one")
    try small?.free()
    try world.barrier()
}

// MARK: - The articles' collective programs

func articleCollectives(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    // Broadcast (mpi4py: data = {'key1': [7, 2.72, 2+3j], 'key2': ('abc', 'xyz')} if rank == 0; comm.bcast).
    struct Data: Codable, Equatable {
        var key1: [Double]
        var key2: [String]
    }
    let data = try world.broadcast(rank == 0 ? Data(key1: [7, 2.72], key2: ["abc", "xyz"]) : nil, root: 0)
    try expect(data == Data(key1: [7, 2.72], key2: ["abc", "xyz"]), "bcast \(data)")
    var numbers = rank == 0 ? (0..<10).map { Double($0) } : [Double](repeating: 0, count: 10)
    try world.broadcast(buffer: &numbers, root: 0)
    try expect(numbers == (0..<10).map { Double($0) }, "Bcast \(numbers)")
    // Scatter a list by rank (data = [(i+1)**2 for i in range(size)]), then gather it back.
    let squares = rank == 0 ? (0..<size).map { Int32(($0 + 1) * ($0 + 1)) } : nil
    let mine = try world.scatter(buffer: squares, count: 1, root: 0)
    try expect(mine == [Int32((rank + 1) * (rank + 1))], "scatter \(mine)")
    let doubled = try world.gather(buffer: mine.map { $0 * 2 }, root: 0)
    if rank == 0 {
        try expect(doubled == (0..<size).map { Int32(2 * ($0 + 1) * ($0 + 1)) }, "gather \(String(describing: doubled))")
    }
    // Pi: each rank integrates 4/(1+x²) over its share of the intervals; Reduce sums at the root.
    let intervals = 100_000
    var n = [intervals]
    try world.broadcast(buffer: &n, root: 0)
    let width = 1.0 / Double(n[0])
    var partial = 0.0
    for index in stride(from: rank, to: n[0], by: size) {
        let x = width * (Double(index) + 0.5)
        partial += 4 / (1 + x * x)
    }
    let pi = try world.reduce(buffer: [partial * width], op: .sum, root: 0)
    if rank == 0 {
        guard let pi else { throw Failure(description: "no pi at the root") }
        try expect(abs(pi[0] - Double.pi) < 1e-9, "pi \(pi[0]), off by \(abs(pi[0] - Double.pi))")
    }
    // The same with the non-blocking reduction and in-place all-reduce.
    var everywhere = [partial * width]
    try world.allReduce(inPlace: &everywhere, op: .sum)
    try expect(abs(everywhere[0] - Double.pi) < 1e-9, "allreduce pi \(everywhere[0])")
    let request = try world.iallReduce([partial * width], op: .sum)
    let pending = try request.wait()
    try expect(abs(pending[0] - Double.pi) < 1e-9, "iallreduce pi \(pending[0])")
    try world.barrier()
}
