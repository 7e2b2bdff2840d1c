// The MPI scenarios the tests in `Tests/MPITests` run with `mpiexec -n N mpi-test-programs NAME...`.
// Every rank runs each named scenario and prints `rank R/N ok NAME`; the first failure prints
// `rank R/N FAIL NAME: why` to standard error and exits with status 1.

import Dispatch
import MPI
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes `text` to a file descriptor in one `write`, so lines from different ranks do not mix.
func report(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress, $0.count) }
}

/// A failed check.
struct Failure: Error, CustomStringConvertible {
    let description: String
}

/// Fails the scenario unless `condition` holds.
func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
    if !condition { throw Failure(description: "line \(line): \(message())") }
}

/// Runs `body`, which must throw an `MPIError` of `errorClass`; returns it.
@discardableResult
func expectMPIError(_ errorClass: Int32? = nil, line: Int = #line, _ body: () throws -> Void) throws -> MPIError {
    do {
        try body()
    } catch let error as MPIError {
        if let errorClass, error.errorClass != errorClass {
            throw Failure(description: "line \(line): expected error class \(errorClass), got \(error)")
        }
        return error
    }
    throw Failure(description: "line \(line): expected an MPIError, nothing was thrown")
}

/// A Codable value with a bit of everything.
struct Message: Codable, Equatable {
    var rank: Int
    var text: String
    var values: [Double]
}

/// Needs at least `count` processes.
func require(_ world: Communicator, atLeast count: Int) throws {
    try expect(world.size >= count, "this scenario needs at least \(count) processes, got \(world.size)")
}

// MARK: - Scenarios

func environment(_ world: Communicator) throws {
    try expect(MPI.isInitialized && !MPI.isFinalized, "MPI should be running")
    try expect(try MPI.initialize() == .multiple, "initialize again should report MPI_THREAD_MULTIPLE")
    try expect(world.rank >= 0 && world.rank < world.size, "rank \(world.rank) outside 0..<\(world.size)")
    if let size = getenv("PMI_SIZE").flatMap({ Int(String(cString: $0)) }) {
        try expect(size == world.size, "PMI_SIZE \(size) but size \(world.size)")
    }
    if let rank = getenv("PMI_RANK").flatMap({ Int(String(cString: $0)) }) {
        try expect(rank == world.rank, "PMI_RANK \(rank) but rank \(world.rank)")
    }
    let me = Communicator.selfCommunicator
    try expect(me.size == 1 && me.rank == 0, "self communicator should hold only this process")
    try expect(!MPI.processorName.isEmpty, "processor name is empty")
    let start = MPI.wtime()
    usleep(2000)
    let elapsed = MPI.wtime() - start
    try expect(elapsed > 0.001 && elapsed < 5, "wtime measured \(elapsed) s for a 2 ms sleep")
    try expect(ThreadLevel.single < .funneled && .serialized < .multiple, "thread levels out of order")
    try world.barrier()
}

func pointToPoint(_ world: Communicator) throws {
    try require(world, atLeast: 2)
    let rank = world.rank
    if rank == 0 {
        // Any source, any tag: one message from each other rank, in whatever order they come.
        var seen = Set<Int>()
        for _ in 1..<world.size {
            var status = Status()
            let message = try world.receive(Message.self, status: &status)
            try expect(status.source == message.rank, "status source \(status.source) for a message from \(message.rank)")
            try expect(status.tag == 100 + message.rank, "status tag \(status.tag) from rank \(message.rank)")
            let encodedSize = try Self_encodedSize(message)
            try expect(status.count == encodedSize, "status count \(status.count), encoded size \(encodedSize)")
            try expect(message == Message(rank: message.rank, text: "hello from \(message.rank)", values: [1, 2, Double(message.rank)]), "message \(message)")
            seen.insert(message.rank)
        }
        try expect(seen == Set(1..<world.size), "heard from \(seen)")
        try world.send("go", to: 1, tag: 3)
        // Receiving by tag picks the later message first.
        var secondStatus = Status()
        let second = try world.receive(String.self, from: 1, tag: 2, status: &secondStatus)
        var firstStatus = Status()
        let first = try world.receive(String.self, from: .rank(1), tag: .value(1), status: &firstStatus)
        try expect(first == "tag one" && second == "tag two", "got \(first), \(second)")
        try expect(firstStatus.tag == 1 && secondStatus.tag == 2, "tags \(firstStatus.tag), \(secondStatus.tag)")
        // Raw bytes out to everyone.
        for destination in 1..<world.size {
            try world.send(bytes: [UInt8](repeating: UInt8(destination), count: destination * 10), to: destination, tag: 5)
        }
        try world.send(bytes: [], to: 1, tag: 6)
    } else {
        try world.send(Message(rank: rank, text: "hello from \(rank)", values: [1, 2, Double(rank)]), to: 0, tag: 100 + rank)
        if rank == 1 {
            // Only after rank 0 has received every Message with any source and any tag.
            let go = try world.receive(String.self, from: 0, tag: 3)
            try expect(go == "go", "go message \(go)")
            try world.send("tag one", to: 0, tag: 1)
            try world.send("tag two", to: 0, tag: 2)
        }
        var status = Status()
        let bytes = try world.receiveBytes(from: 0, tag: 5, status: &status)
        try expect(bytes == [UInt8](repeating: UInt8(rank), count: rank * 10), "bytes \(bytes)")
        try expect(status.source == 0 && status.tag == 5 && status.count == rank * 10, "status \(status)")
        if rank == 1 {
            var emptyStatus = Status()
            let empty = try world.receiveBytes(from: 0, status: &emptyStatus)
            try expect(empty.isEmpty && emptyStatus.count == 0 && emptyStatus.tag == 6, "empty message \(empty) \(emptyStatus)")
        }
    }
    try world.barrier()
}

/// The size of a value encoded for sending.
func Self_encodedSize(_ message: Message) throws -> Int {
    // Same encoding as Communicator.send: measure it with a message to this process. (A blocking
    // send to oneself may wait for its own receive, so the send is non-blocking.)
    let me = Communicator.selfCommunicator
    let request = try me.isend(message, to: 0, tag: 0)
    let status = try me.probe(from: 0, tag: 0)
    _ = try me.receiveBytes(from: 0, tag: 0)
    try request.wait()
    return status.count
}

func probing(_ world: Communicator) throws {
    try require(world, atLeast: 2)
    if world.rank == 1 {
        try world.send(Array(0..<10), to: 0, tag: 9)
    }
    if world.rank == 0 {
        try expect(try world.iprobe(from: .any, tag: 77) == nil, "iprobe found a message that was never sent")
        let deadline = MPI.wtime() + 10
        var found: Status?
        while found == nil && MPI.wtime() < deadline {
            found = try world.iprobe(from: 1, tag: 9)
        }
        guard let found else { throw Failure(description: "iprobe never saw the message") }
        let probed = try world.probe(from: .any, tag: 9)
        try expect(found == probed, "iprobe \(found) but probe \(probed)")
        try expect(found.source == 1 && found.tag == 9 && found.count > 10, "status \(found)")
        var status = Status()
        let values = try world.receive([Int].self, from: 1, tag: 9, status: &status)
        try expect(values == Array(0..<10) && status == found, "received \(values) \(status)")
        try expect(try world.iprobe(from: 1, tag: 9) == nil, "message still there after receive")
    }
    // A message that arrived while the receiver made no MPI call is found by the first look, with
    // either call (MPICH's ch4:ucx takes it in on one probe and reports it on the next; the calls
    // look twice). Only in a world of two: with more ranks, the next barrier's messages arrive in
    // the same sleep, each takes one more probe, and a probe for one tag may not find it at once.
    // Rank 1 then says when its send returned (the message was in rank 0's queue by then), on the
    // clock both ranks share on one host: a first look that missed is a failure only if it came
    // after that. An attempt where rank 1 was late (a loaded machine) proves nothing and is made
    // again, with a longer sleep.
    for tag in [10, 11] where world.size == 2 {
        var decided = false
        for attempt in 0..<20 where !decided {
            try world.barrier()
            if world.rank == 1 {
                try world.send(bytes: [UInt8(tag)], to: 0, tag: tag)
                try world.send(monotonicNanoseconds(), to: 0, tag: 100 + tag)
            }
            guard world.rank == 0 else {
                decided = try world.broadcast(nil as Bool?, root: 0)
                continue
            }
            usleep(50_000 << min(attempt, 4))
            let lookedAt = monotonicNanoseconds()
            let found: Bool
            if tag == 10 {
                found = try world.iprobe(from: 1, tag: .value(tag)) != nil
                _ = try world.receiveBytes(from: 1, tag: .value(tag))
            } else {
                let message = try world.receiveBytesIfAvailable(from: 1, tag: .value(tag))
                found = message != nil
                if let message {
                    try expect(message.0 == [UInt8(tag)], "receiveBytesIfAvailable gave \(message.0)")
                } else {
                    _ = try world.receiveBytes(from: 1, tag: .value(tag))
                }
            }
            let sentAt = try world.receive(UInt64.self, from: 1, tag: 100 + tag)
            let call = tag == 10 ? "iprobe" : "receiveBytesIfAvailable"
            try expect(found || sentAt > lookedAt, "the first \(call) after a sleep missed a message that had arrived")
            decided = try world.broadcast(found, root: 0)
        }
        try expect(decided, "in 20 attempts rank 1 never sent before rank 0 looked")
    }
    try world.barrier()
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on this host.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func collectives(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let root = size - 1
    let shared = try world.broadcast(rank == root ? Message(rank: root, text: "from the root", values: [3.5]) : nil, root: root)
    try expect(shared == Message(rank: root, text: "from the root", values: [3.5]), "broadcast \(shared)")

    let piece = try world.scatter(rank == 0 ? (0..<size).map { "piece \($0)" } : nil, root: 0)
    try expect(piece == "piece \(rank)", "scatter gave \(piece)")

    let gathered = try world.gather("r\(rank)", root: root)
    if rank == root {
        try expect(gathered == (0..<size).map { "r\($0)" }, "gather \(String(describing: gathered))")
    } else {
        try expect(gathered == nil, "gather returned values away from the root")
    }

    let everyone = try world.allGather([rank, rank * rank])
    try expect(everyone == (0..<size).map { [$0, $0 * $0] }, "allGather \(everyone)")

    // Concatenation is not commutative: the fold must go in rank order.
    let joined = try world.reduce(String(rank), root: 0) { $0 + "," + $1 }
    if rank == 0 {
        try expect(joined == (0..<size).map(String.init).joined(separator: ","), "reduce \(String(describing: joined))")
    } else {
        try expect(joined == nil, "reduce returned a value away from the root")
    }
    let total = try world.allReduce(rank + 1) { $0 + $1 }
    try expect(total == size * (size + 1) / 2, "allReduce \(total)")

    // Misuse at the root makes every process throw, instead of some hanging.
    try expectMPIError(MPIError.Class.argument) { _ = try world.broadcast(Int?.none, root: 0) }
    try expectMPIError(MPIError.Class.argument) { _ = try world.scatter(rank == 0 ? [1] + Array(repeating: 0, count: size) : nil, root: 0) }
    try world.barrier()
}

func typedCollectives(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let mine = (0..<5).map { Double(rank * 10 + $0) }
    let sums = try world.allReduce(mine, op: .sum)
    try expect(sums == (0..<5).map { index in (0..<size).reduce(0.0) { $0 + Double($1 * 10 + index) } }, "sum \(sums)")
    let maxima = try world.allReduce(mine, op: .max)
    try expect(maxima == (0..<5).map { Double((size - 1) * 10 + $0) }, "max \(maxima)")
    let minima = try world.allReduce(mine, op: .min)
    try expect(minima == (0..<5).map { Double($0) }, "min \(minima)")
    let products = try world.allReduce([Int64(rank + 1), 2], op: .product)
    try expect(products == [Int64((1...size).reduce(1, *)), Int64(1 << size)], "product \(products)")
    let count = try world.allReduce(UInt8(1), op: .sum)
    try expect(Int(count) == size, "scalar allReduce \(count)")
    let floatSum = try world.allReduce(Float(0.5), op: .sum)
    try expect(floatSum == Float(size) / 2, "float allReduce \(floatSum)")

    let reduced = try world.reduce(buffer: [Int32(rank), 1], op: .sum, root: 0)
    if rank == 0 {
        try expect(reduced == [Int32(size * (size - 1) / 2), Int32(size)], "reduce \(String(describing: reduced))")
    } else {
        try expect(reduced == nil, "reduce returned a buffer away from the root")
    }

    var buffer: [UInt64] = rank == size - 1 ? [7, 8, 9] : [0, 0, 0]
    try world.broadcast(buffer: &buffer, root: size - 1)
    try expect(buffer == [7, 8, 9], "broadcast buffer \(buffer)")
    var empty: [Double] = []
    try world.broadcast(buffer: &empty, root: 0)
    try expect(try world.allReduce([Int](), op: .sum).isEmpty, "empty allReduce")
    try world.barrier()
}

func typedBuffers(_ world: Communicator) throws {
    try require(world, atLeast: 2)
    let rank = world.rank
    let values = (0..<1000).map { Double($0) * 0.5 }
    if rank == 0 {
        try world.send(buffer: values, to: 1, tag: 3)
        try world.send(buffer: Array(values.prefix(10)), to: 1, tag: 4)
        try world.send(buffer: [Int16](repeating: -3, count: 17), to: 1, tag: 5)
        try world.send(buffer: [Float](repeating: 1, count: 10), to: 1, tag: 6)
        // Raw bytes, blocking and non-blocking, straight from memory the caller owns.
        let raw = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try raw.withUnsafeBytes { try world.send(bytes: $0, to: 1, tag: 9) }
        let pending = try raw.withUnsafeBytes { try world.isend(bytes: $0, to: 1, tag: 10) }
        _ = try pending.wait()
        try raw.withUnsafeBytes { try world.send(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(10)), to: 1, tag: 11) }
    } else if rank == 1 {
        var received = [Double](repeating: 0, count: 1000)
        let status = try world.receive(into: &received, from: 0, tag: 3)
        try expect(received == values, "received buffer differs")
        try expect(status.count == 8000 && status.source == 0 && status.tag == 3, "status \(status)")
        // A shorter message into a larger buffer: only the prefix changes.
        var larger = [Double](repeating: -1, count: 20)
        let shortStatus = try world.receive(into: &larger, from: 0, tag: 4)
        try expect(shortStatus.count == 80, "short status \(shortStatus)")
        try expect(Array(larger.prefix(10)) == Array(values.prefix(10)) && larger.suffix(10).allSatisfy { $0 == -1 }, "larger buffer \(larger)")
        var shortsStatus = Status()
        let shorts = try world.receiveBuffer(of: Int16.self, from: 0, tag: 5, status: &shortsStatus)
        try expect(shorts == [Int16](repeating: -3, count: 17) && shortsStatus.count == 34, "receiveBuffer \(shorts) \(shortsStatus)")
        // A longer message than the buffer is a truncation error, not a crash.
        var small = [Float](repeating: 0, count: 5)
        try expectMPIError(MPIError.Class.truncate) { try world.receive(into: &small, from: 0, tag: 6) }
        let raw = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        for tag in [9, 10] {
            var bytes = [UInt8](repeating: 0, count: raw.count)
            let rawStatus = try bytes.withUnsafeMutableBytes { try world.receive(intoBytes: $0, from: 0, tag: .value(tag)) }
            try expect(bytes == raw && rawStatus.count == raw.count, "raw bytes with tag \(tag)")
        }
        // Exactly the buffer's size or an error: a shorter message would leave part of it unwritten.
        var twenty = [UInt8](repeating: 0, count: 20)
        try expectMPIError(MPIError.Class.count) {
            _ = try twenty.withUnsafeMutableBytes { try world.receive(intoBytes: $0, from: 0, tag: .value(11)) }
        }
    }
    // Ring exchange with sendReceive(buffer:): everybody sends right and receives from the left.
    let (left, right) = ringNeighbours(world)
    var fromLeft = [Int](repeating: -1, count: 4)
    let status = try world.sendReceive(buffer: [rank, rank, rank, rank], to: right, sendTag: 8, into: &fromLeft, from: .rank(left), receiveTag: 8)
    try expect(fromLeft == [left, left, left, left] && status.source == left && status.count == 32, "ring \(fromLeft) \(status)")
    try world.barrier()
}

/// The ranks before and after this one in a ring over `world`.
func ringNeighbours(_ world: Communicator) -> (left: Int, right: Int) {
    ((world.rank + world.size - 1) % world.size, (world.rank + 1) % world.size)
}

func nonBlocking(_ world: Communicator) throws {
    let rank = world.rank
    let (left, right) = ringNeighbours(world)
    // A ring of typed buffers: receive posted before the send, waitAll on both.
    let receive = try world.ireceive(Int.self, count: 100, from: .rank(left), tag: 1)
    let send = try world.isend(buffer: Array(repeating: rank, count: 100), to: right, tag: 1)
    let statuses = try Request.waitAll([receive, send])
    try expect(try receive.received(as: Int.self) == Array(repeating: left, count: 100), "ring data")
    try expect(statuses[0].source == left && statuses[0].count == 800 && statuses[0].tag == 1, "receive status \(statuses[0])")
    try expect(statuses[1].source == right && statuses[1].count == 800, "send status \(statuses[1])")
    try expectMPIError(MPIError.Class.request) { _ = try send.receivedBytes() }

    // Bytes with a test() loop.
    let bytesIn = try world.ireceiveBytes(capacity: 64, from: .any, tag: 2)
    try expectMPIError(MPIError.Class.request) { _ = try bytesIn.receivedBytes() }
    let bytesOut = try world.isend(bytes: [UInt8(rank), 1, 2, 3], to: right, tag: 2)
    var status: Status?
    let deadline = MPI.wtime() + 20
    while status == nil && MPI.wtime() < deadline { status = try bytesIn.test() }
    try expect(status?.count == 4 && status?.source == left, "test status \(String(describing: status))")
    try expect(try bytesIn.test() == status, "test after completion should repeat the status")
    try expect(try bytesIn.receivedBytes() == [UInt8(left), 1, 2, 3], "bytes")
    try bytesOut.wait()

    // waitAny over two receives, only one of which will be matched first.
    let never = try world.ireceiveBytes(capacity: 8, from: .any, tag: 99)
    let value = try world.ireceiveBytes(capacity: 256, from: .rank(left), tag: 3)
    let valueOut = try world.isend(Message(rank: rank, text: "async", values: []), to: right, tag: 3)
    let (index, anyStatus) = try Request.waitAny([never, value])
    try expect(index == 1 && anyStatus.source == left, "waitAny \(index) \(anyStatus)")
    try expect(try value.receivedValue(Message.self) == Message(rank: left, text: "async", values: []), "decoded value")
    try valueOut.wait()
    try expectMPIError(MPIError.Class.request) { _ = try Request.waitAny([value, valueOut]) }

    // Cancel the receive nobody will match.
    try never.cancel()
    let cancelled = try never.wait()
    try expect(cancelled.isCancelled, "cancelled receive status \(cancelled)")
    try world.barrier()
}

func sendReceive(_ world: Communicator) throws {
    let rank = world.rank
    let (left, right) = ringNeighbours(world)
    var status = Status()
    let message: Message = try world.sendReceive(Message(rank: rank, text: "ring", values: [Double(rank)]), to: right, sendTag: 4,
                                                 from: .rank(left), receiveTag: 4, status: &status)
    try expect(message.rank == left && status.source == left && status.tag == 4, "sendReceive \(message) \(status)")
    let bytes = try world.sendReceive(bytes: [UInt8(rank)], to: left, from: .rank(right))
    try expect(bytes == [UInt8(right)], "sendReceive bytes \(bytes)")
    try world.barrier()
}

func splitting(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let half = try world.split(color: rank % 2, key: -rank)
    let members = (0..<size).filter { $0 % 2 == rank % 2 }
    try expect(half.size == members.count, "split size \(half.size)")
    // Keys are minus the world rank, so the order is reversed.
    try expect(half.rank == members.count - 1 - members.firstIndex(of: rank)!, "split rank \(half.rank)")
    let sum = try half.allReduce(rank, op: .sum)
    try expect(sum == members.reduce(0, +), "sum within the half \(sum)")
    let names = try half.allGather(rank)
    try expect(names == members.reversed(), "members \(names)")
    try half.barrier()

    // One communicator per host: the world's ranks on this host (all of them on one machine),
    // ranked by key.
    let everyHost = try world.allGather(MPI.processorName)
    let neighbours = (0..<size).filter { everyHost[$0] == MPI.processorName }
    let host = try world.split(type: .sharedMemory, key: -rank)
    try expect(host.size == neighbours.count, "host size \(host.size), ranks on this host \(neighbours)")
    try expect(host.rank == neighbours.count - 1 - neighbours.firstIndex(of: rank)!, "host rank \(host.rank)")
    let processors = try host.allGather(MPI.processorName)
    try expect(Set(processors) == [MPI.processorName], "hosts \(processors)")
    try expect(try host.allGather(rank) == neighbours.reversed(), "host members")
    try host.free()

    // A duplicate has its own message space.
    let copy = try world.duplicate()
    try expect(copy.size == size && copy.rank == rank && copy != world, "duplicate \(copy)")
    let request = try copy.isend(rank, to: rank, tag: 12)
    _ = try copy.probe(from: .rank(rank), tag: 12)
    try expect(try world.iprobe(from: .any, tag: 12) == nil, "a message on the duplicate matched the original")
    let own = try copy.receive(Int.self, from: .rank(rank), tag: 12)
    try request.wait()
    try expect(own == rank, "self message \(own)")
    try half.free()
    try copy.free()
    try world.barrier()
}

func large(_ world: Communicator) throws {
    try require(world, atLeast: 2)
    let count = 64 << 20
    if world.rank == 0 {
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
            initialized = count
        }
        try world.send(bytes: bytes, to: 1, tag: 1)
        try world.send(buffer: [Double](repeating: 2.5, count: count / 8), to: 1, tag: 2)
    } else if world.rank == 1 {
        var status = Status()
        let bytes = try world.receiveBytes(from: 0, tag: 1, status: &status)
        try expect(status.count == count && bytes.count == count, "status \(status)")
        try bytes.withUnsafeBufferPointer { buffer in
            for index in stride(from: 0, to: count, by: 4093) where buffer[index] != UInt8(truncatingIfNeeded: index &* 31 &+ 7) {
                throw Failure(description: "byte \(index) differs")
            }
        }
        var doubles = [Double](repeating: 0, count: count / 8)
        let typedStatus = try world.receive(into: &doubles, from: 0, tag: 2)
        try expect(typedStatus.count == count && doubles.allSatisfy { $0 == 2.5 }, "typed status \(typedStatus)")
    }
    try world.barrier()
}

/// More than `Int32.max` bytes in one message, at the real count limit. Not part of the test suite
/// (it needs about 5 GB of memory and a few seconds); run by hand:
/// `mpiexec -n 2 mpi-test-programs huge`.
func huge(_ world: Communicator) throws {
    try require(world, atLeast: 2)
    let count = Int(Int32.max) + 4099
    let sample = { (index: Int) in UInt8(truncatingIfNeeded: index >> 12 &+ index) }
    if world.rank == 0 {
        var bytes = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 65521) { bytes[index] = sample(index) }
        bytes[count - 1] = 42
        try world.send(bytes: bytes, to: 1, tag: 1)
    } else if world.rank == 1 {
        var status = Status()
        let bytes = try world.receiveBytes(from: 0, tag: 1, status: &status)
        try expect(status.count == count && bytes.count == count, "status \(status)")
        for index in stride(from: 0, to: count - 1, by: 65521) where bytes[index] != sample(index) {
            throw Failure(description: "byte \(index) differs")
        }
        try expect(bytes[count - 1] == 42, "last byte")
    }
    try world.barrier()
}

func chunking(_ world: Communicator) throws {
    try require(world, atLeast: 2)
    let rank = world.rank
    MPI.countLimit = 1000
    defer { MPI.countLimit = Int(Int32.max) }
    let bytes = (0..<10_007).map { UInt8(truncatingIfNeeded: $0 * 7) }
    let exact = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
    let ints = (0..<5003).map { Int32($0) }
    if rank == 0 {
        try world.send(bytes: bytes, to: 1, tag: 1)      // 10 blocks of 1000 and 7 more
        try world.send(bytes: exact, to: 1, tag: 2)      // exactly 3 blocks
        try world.send(buffer: ints, to: 1, tag: 3)
        try world.send(buffer: ints, to: 1, tag: 4)
        let request = try world.isend(buffer: ints, to: 1, tag: 5)
        try request.wait()
        try world.send(String(repeating: "x", count: 4321), to: 1, tag: 6)
    } else if rank == 1 {
        var firstStatus = Status()
        let first = try world.receiveBytes(from: 0, tag: 1, status: &firstStatus)
        try expect(first == bytes && firstStatus.count == 10_007, "chunked bytes \(firstStatus)")
        var secondStatus = Status()
        let second = try world.receiveBytes(from: 0, tag: 2, status: &secondStatus)
        try expect(second == exact && secondStatus.count == 3000, "exact blocks \(secondStatus)")
        var larger = [Int32](repeating: -1, count: 6000)
        let status = try world.receive(into: &larger, from: 0, tag: 3)
        try expect(status.count == 5003 * 4 && Array(larger.prefix(5003)) == ints && larger[5003] == -1, "typed chunks \(status)")
        let probed: [Int32] = try world.receiveBuffer(from: 0, tag: 4)
        try expect(probed == ints, "probed typed chunks")
        let request = try world.ireceive(Int32.self, count: 5003, from: 0, tag: 5)
        try request.wait()
        try expect(try request.received(as: Int32.self) == ints, "non-blocking chunks")
        let text = try world.receive(String.self, from: 0, tag: 6)
        try expect(text.count == 4321, "codable over the limit")
    }
    // Collectives split into calls of at most 1000 elements.
    let sums = try world.allReduce((0..<2500).map { Int64($0 + rank) }, op: .sum)
    let size = world.size
    try expect(sums == (0..<2500).map { Int64($0 * size + size * (size - 1) / 2) }, "chunked allReduce")
    let maxima = try world.reduce(buffer: (0..<2500).map { Double($0 * (rank + 1)) }, op: .max, root: 1)
    if rank == 1 { try expect(maxima == (0..<2500).map { Double($0 * size) }, "chunked reduce") }
    var buffer = rank == 0 ? (0..<2500).map { UInt16($0) } : [UInt16](repeating: 0, count: 2500)
    try world.broadcast(buffer: &buffer, root: 0)
    try expect(buffer == (0..<2500).map { UInt16($0) }, "chunked broadcast")
    let text = try world.broadcast(rank == 0 ? String(repeating: "y", count: 2999) : nil, root: 0)
    try expect(text.count == 2999, "chunked Codable broadcast")
    // Codable collectives that cannot be split throw on every process, with the count class.
    try expectMPIError(MPIError.Class.count) { _ = try world.allGather(String(repeating: "z", count: 900)) }
    try expectMPIError(MPIError.Class.count) { _ = try world.gather(String(repeating: "z", count: 900), root: 0) }
    try expectMPIError(MPIError.Class.count) {
        _ = try world.scatter(rank == 0 ? Array(repeating: String(repeating: "z", count: 900), count: size) : nil, root: 0)
    }
    try world.barrier()
}

/// Several threads of every rank exchange messages at once, each on its own tag
/// (`MPI_THREAD_MULTIPLE`, matched probes), and a request completes on another thread.
func threads(_ world: Communicator) throws {
    let rank = world.rank
    let (left, right) = ringNeighbours(world)
    let failures = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 4) { thread in
        do {
            for round in 0..<50 {
                var status = Status()
                let value = try world.sendReceive([rank, thread, round], to: right, sendTag: thread,
                                                  receiving: [Int].self, from: .rank(left), receiveTag: .value(thread), status: &status)
                if value != [left, thread, round] || status.tag != thread {
                    throw Failure(description: "thread \(thread) round \(round) got \(value) \(status)")
                }
            }
        } catch {
            failures.withLock { $0.append("\(error)") }
        }
    }
    try expect(failures.withLock { $0.isEmpty }, "threads: \(failures.withLock { $0 })")
    let request = try world.ireceive(Double.self, count: 3, from: .rank(left), tag: 20)
    let send = try world.isend(buffer: [1.0, 2.0, Double(rank)], to: right, tag: 20)
    let done = Mutex<Status?>(nil)
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) {
        let status = try? request.wait()
        done.withLock { $0 = status }
    }
    group.wait()
    try send.wait()
    try expect(done.withLock { $0 }?.count == 24 && (try request.received(as: Double.self)) == [1, 2, Double(left)], "request on another thread")
    try world.barrier()
}

func errors(_ world: Communicator) throws {
    let size = world.size
    let error = try expectMPIError(MPIError.Class.rank) { try world.send(bytes: [1], to: size, tag: 0) }
    try expect(error.function == "MPI_Send" && error.description.contains("MPI_Send") && !error.message.isEmpty, "error \(error)")
    try expectMPIError(MPIError.Class.rank) { try world.send(42, to: -5) }
    try expectMPIError(MPIError.Class.rank) { _ = try world.receiveBytes(from: .rank(size)) }
    try expectMPIError(MPIError.Class.tag) { try world.send(bytes: [1], to: 0, tag: -3) }
    try expectMPIError(MPIError.Class.rank) { _ = try world.isend(bytes: [1], to: size + 1) }
    // The communicator still works afterwards.
    try world.barrier()
    try expect(try world.allReduce(1, op: .sum) == size, "allReduce after errors")
}

/// Every rank learns every rank's host; rank 0 prints them in rank order (`hosts: a a b b b`).
func hosts(_ world: Communicator) throws {
    let names = try world.allGather(MPI.processorName)
    try expect(names.count == world.size && names[world.rank] == MPI.processorName, "allGather of names \(names)")
    if world.rank == 0 { report("hosts: \(names.joined(separator: " "))\n", to: 1) }
}

/// Rank 0 aborts the job while the others wait in a barrier that never completes.
func aborting(_ world: Communicator) throws {
    if world.rank == 0 {
        report("rank 0/\(world.size) aborting\n", to: 1)
        MPI.abort(3)
    }
    try world.barrier()
    throw Failure(description: "the barrier completed although rank 0 aborted")
}

let scenarios: [String: (Communicator) throws -> Void] = [
    "abort": aborting,
    "init": environment,
    "p2p": pointToPoint,
    "probe": probing,
    "collectives": collectives,
    "typed-collectives": typedCollectives,
    "typed": typedBuffers,
    "nonblocking": nonBlocking,
    "sendrecv": sendReceive,
    "split": splitting,
    "large": large,
    "chunking": chunking,
    "huge": huge,
    "errors": errors,
    "threads": threads,
    "hosts": hosts,
].merging(collectiveScenarios) { a, _ in a }.merging(pointToPointScenarios()) { existing, _ in existing }
    .merging(implementationScenarios) { a, _ in a }

// MARK: - Main

let names = Array(CommandLine.arguments.dropFirst())
guard !names.isEmpty, names.allSatisfy({ scenarios[$0] != nil || $0 == "uninitialized" }) else {
    report("usage: mpi-test-programs SCENARIO...\nscenarios: uninitialized \(scenarios.keys.sorted().joined(separator: " "))\n", to: 2)
    exit(2)
}

if names.contains("uninitialized") {
    // Before initialize, calls throw instead of letting MPICH abort the process.
    do {
        try expectMPIError(MPIError.Class.other) { try Communicator.world.send(bytes: [1], to: 0) }
        try expect(!MPI.isInitialized && !MPI.isFinalized, "MPI should not be running yet")
        try expect(MPI.processorName.isEmpty, "processor name before initialize")
    } catch {
        report("rank ?/? FAIL uninitialized: \(error)\n", to: 2)
        exit(1)
    }
}

let granted: ThreadLevel
do {
    granted = try MPI.initialize()
} catch {
    report("FAIL initialize: \(error)\n", to: 2)
    exit(1)
}
let world = Communicator.world
let label = "rank \(world.rank)/\(world.size)"
if granted != .multiple {
    report("\(label) FAIL init: granted \(granted)\n", to: 2)
    exit(1)
}
for name in names {
    if name == "uninitialized" {
        report("\(label) ok uninitialized\n", to: 1)
        continue
    }
    do {
        try scenarios[name]!(world)
        report("\(label) ok \(name)\n", to: 1)
    } catch {
        report("\(label) FAIL \(name): \(error)\n", to: 2)
        exit(1)
    }
}
do {
    try MPI.finalize()
    try MPI.finalize()
    if !MPI.isFinalized { throw Failure(description: "not finalized") }
    // After finalize, calls throw instead of letting MPICH abort the process.
    try expectMPIError(MPIError.Class.other) { try world.send(bytes: [1], to: 0) }
    do {
        try MPI.initialize()
        throw Failure(description: "initialize after finalize should throw")
    } catch is MPIError {}
} catch {
    report("\(label) FAIL finalize: \(error)\n", to: 2)
    exit(1)
}
