// Every Swift form of the table in "The MPI Module for mpi4py Users", compiled. Run it under
// `mpiexec -n 4`; each function is one section of the table.
import MPI

@main
enum MPIForMpi4pyUsers {
    static func main() throws {
        try MPI.initialize(threadLevel: .multiple)
        let world = Communicator.world
        print(world.rank, world.size, MPI.wtime(), MPI.processorName, MPI.libraryVersion)
        guard world.size == 4 else {
            if world.rank == 0 { print("run me under mpiexec -n 4") }
            try MPI.finalize()
            return
        }
        try objects(world)
        try buffers(world)
        try requests(world)
        try sendModes(world)
        try persistent(world)
        try matchedProbe(world)
        try collectives(world)
        try inPlace(world)
        try nonBlockingCollectives(world)
        try reductions(world)
        try datatypes(world)
        try groups(world)
        try cartesian(world)
        try MPI.finalize()
    }

    /// Never called: it ends the job.
    static func stop() -> Never {
        MPI.abort(1)
    }

    /// Lower-case calls: any `Codable` value, encoded (mpi4py pickles).
    static func objects(_ world: Communicator) throws {
        let data = ["a": 7, "b": 3]
        if world.rank == 0 {
            try world.send(data, to: 1, tag: 11)
            let request = try world.isend(data, to: 1, tag: 12)
            try request.wait()
            try world.send(5, to: 1, tag: 7)
        } else if world.rank == 1 {
            print(try world.receive([String: Int].self, from: 0, tag: 11))
            let incoming = try world.ireceiveBytes(from: 0, tag: 12)
            print(try incoming.waitValue([String: Int].self))
            let probed = try world.probe(from: 0, tag: 7)
            var status = Status()
            print(probed.count, try world.receive(Int.self, from: .any, tag: .any, status: &status), status.source, status.tag)
        }
        let (left, right) = ((world.rank + world.size - 1) % world.size, (world.rank + 1) % world.size)
        print(try world.sendReceive(world.rank, to: right, receiving: Int.self, from: left))
        if let waiting = try world.iprobe() { print("a message from \(waiting.source) is waiting") }
        try world.barrier()
    }

    /// Upper-case calls: typed buffers of numbers, moved as they are.
    static func buffers(_ world: Communicator) throws {
        let numbers: [Int32] = Array(0..<1_000)
        if world.rank == 0 {
            try world.send(numbers, to: 1, tag: 77)
            try world.send(numbers, to: 1, tag: 78)
        } else if world.rank == 1 {
            var buffer = [Int32](repeating: 0, count: 1_000)
            try world.receive(into: &buffer, from: 0, tag: 77)
            let sized = try world.receive([Int32].self, from: 0, tag: 78)
            print(buffer == sized)
        }
        let (left, right) = ((world.rank + world.size - 1) % world.size, (world.rank + 1) % world.size)
        var halo = [Double](repeating: 0, count: 8)
        try world.sendReceive(buffer: [Double](repeating: Double(world.rank), count: 8), to: right, into: &halo, from: left)
        print(halo[0])
    }

    /// Non-blocking point-to-point and completing many requests.
    static func requests(_ world: Communicator) throws {
        let numbers: [Int32] = Array(0..<1_000)
        if world.rank == 0 {
            let sends = [try world.isend(numbers, to: 1, tag: 1), try world.isend(numbers, to: 2, tag: 1)]
            _ = try Request.waitAll(sends)
            _ = try Request.waitAny([try world.isend(numbers, to: 1, tag: 2)])
            let third = [try world.isend(numbers, to: 1, tag: 3)]
            while try Request.testAll(third) == nil {}
            let fourth = [try world.isend(numbers, to: 1, tag: 4)]
            while try Request.testAny(fourth) == nil {}
            _ = try Request.waitSome([try world.isend(numbers, to: 1, tag: 5)])
            let sixth = [try world.isend(numbers, to: 1, tag: 6)]
            while try Request.testSome(sixth).isEmpty {}
        } else if world.rank <= 2 {
            let receive = try world.ireceive(into: [Int32](repeating: 0, count: 1_000), from: 0, tag: 1)
            while try receive.test() == nil {}
            let (received, status) = try receive.wait()
            print(received.count, status.count)
            if world.rank == 1 {
                for tag in 2...6 { _ = try world.ireceive([Int32].self, from: 0, tag: tag).wait() }
            }
        } else {
            let pending = try world.ireceive(into: [Int32](repeating: 0, count: 4), from: 0, tag: 99)
            try pending.request.cancel()
            print("cancelled:", try pending.wait().1.isCancelled)
        }
        try world.barrier()
    }

    /// Synchronous, buffered and ready sends.
    static func sendModes(_ world: Communicator) throws {
        let numbers: [Int32] = Array(0..<100)
        if world.rank == 0 {
            try world.ssend(numbers, to: 1)
            try world.issend(numbers, to: 1).wait()
            try MPI.attachBuffer(byteCount: 400 + MPI.bufferedSendOverhead)
            try world.bsend(numbers, to: 1)
            _ = try MPI.detachBuffer()
        } else if world.rank == 1 {
            for _ in 0..<3 { _ = try world.receive([Int32].self, from: 0) }
        }
        try world.barrier()
        if world.rank == 1 {
            let ready = try world.ireceive([Int32].self, from: 0, tag: 5)
            try world.barrier()
            _ = try ready.wait()
        } else if world.rank == 0 {
            try world.barrier()
            try world.rsend(numbers, to: 1, tag: 5)
        } else {
            try world.barrier()
        }
    }

    /// Persistent requests, started again and again.
    static func persistent(_ world: Communicator) throws {
        if world.rank == 0 {
            let send = try world.sendInit([Double](repeating: 1, count: 64), to: 1, tag: 5)
            for _ in 0..<3 {
                try send.start()
                try send.wait()
            }
            _ = try send.free()
        } else if world.rank == 1 {
            let receive = try world.receiveInit(into: [Double](repeating: 0, count: 64), from: 0, tag: 5)
            for _ in 0..<3 {
                try Request.startAll([receive.request])
                try receive.wait()
            }
            print(try receive.free().reduce(0, +))
        }
    }

    /// Matched probe: find a message, then receive exactly that one.
    static func matchedProbe(_ world: Communicator) throws {
        if world.rank == 0 {
            try world.send([0.5, 1.5], to: 1, tag: 3)
        } else if world.rank == 1 {
            let message = try world.mprobe(from: 0, tag: 3)
            print(message.status.count, try message.receive([Double].self))
            if let another = try world.improbe(from: 0, tag: 4) { _ = try another.receive([Double].self) }
        }
    }

    /// Collectives on `Codable` values and on typed buffers.
    static func collectives(_ world: Communicator) throws {
        let config = try world.broadcast(world.rank == 0 ? ["steps": 100] : nil, root: 0)
        var buffer = [Double](repeating: Double(world.rank), count: 4)
        try world.broadcast(buffer: &buffer, root: 0)
        let chunks: [[Int]]? = world.rank == 0 ? (0..<world.size).map { [$0] } : nil
        let mine = try world.scatter(chunks, root: 0)
        let all: [Double]? = world.rank == 0 ? (0..<16).map(Double.init) : nil
        let slice = try world.scatter(buffer: all, count: 4, root: 0)
        let counts = [1, 2, 3, 4]
        let uneven = try world.scatter(buffer: world.rank == 0 ? (0..<10).map(Double.init) : nil, counts: counts, root: 0)
        let gathered = try world.gather(mine, root: 0)
        let gatheredBuffers = try world.gather(buffer: slice, root: 0)
        let gatheredUneven = try world.gather(buffer: uneven, counts: counts, root: 0)
        let everyone = try world.allGather(world.rank)
        let everyBuffer = try world.allGather(buffer: slice)
        let everyUneven = try world.allGather(buffer: uneven, counts: counts)
        let exchanged = try world.allToAll((0..<world.size).map { "to \($0)" })
        let exchangedBuffers = try world.allToAll(buffer: [Int32](repeating: Int32(world.rank), count: 4 * world.size))
        let ones = [Int32](repeating: 1, count: world.size)
        let exchangedUneven = try world.allToAll(buffer: ones, sendCounts: [1, 1, 1, 1], receiveCounts: [1, 1, 1, 1])
        print(config, gathered ?? [], gatheredBuffers?.count ?? 0, gatheredUneven?.count ?? 0, everyone, everyBuffer.count,
              everyUneven.count, exchanged, exchangedBuffers.count, exchangedUneven.count)
        try world.barrier()
    }

    /// `MPI.IN_PLACE`: the buffer is both what is sent and what is received.
    static func inPlace(_ world: Communicator) throws {
        var buffer = [Int32](repeating: 1, count: 4 * world.size)
        try world.allReduce(inPlace: &buffer, op: .sum)
        try world.reduce(inPlace: &buffer, op: .sum, root: 0)
        // At the root the buffer holds every rank's block; elsewhere, one block.
        var blocks = world.rank == 0 ? buffer : Array(buffer.prefix(4))
        try world.gather(inPlace: &blocks, root: 0)
        try world.scatter(inPlace: &blocks, root: 0)
        try world.allGather(inPlace: &buffer)
        try world.scan(inPlace: &buffer, op: .sum)
        print(buffer.prefix(4))
    }

    /// Non-blocking collectives: start, overlap work, then wait for the result.
    static func nonBlockingCollectives(_ world: Communicator) throws {
        let numbers = [Int32](repeating: Int32(world.rank), count: 4 * world.size)
        try world.ibarrier().wait()
        let broadcast = try world.ibroadcast(buffer: numbers, root: 0)
        let reduced = try world.ireduce(numbers, op: .sum, root: 0)
        let allReduced = try world.iallReduce(numbers, op: .sum)
        let gathered = try world.igather(buffer: numbers, root: 0)
        let scattered = try world.iscatter(buffer: world.rank == 0 ? numbers : nil, count: 4, root: 0)
        let allGathered = try world.iallGather(buffer: numbers)
        let exchanged = try world.iallToAll(buffer: numbers)
        let scanned = try world.iscan(numbers, op: .sum)
        let exclusive = try world.iexclusiveScan(numbers, op: .sum)
        let reducedScattered = try world.ireduceScatterBlock(numbers, op: .sum)
        print(try broadcast.wait().count, try reduced.wait()?.count ?? 0, try allReduced.wait().count,
              try gathered.wait()?.count ?? 0, try scattered.wait().count, try allGathered.wait().count,
              try exchanged.wait().count, try scanned.wait().count, try exclusive.wait()?.count ?? 0,
              try reducedScattered.wait().count)
    }

    /// Reductions: on `Codable` values with a closure, on numbers with MPI's operations.
    static func reductions(_ world: Communicator) throws {
        let numbers = [Int32](repeating: Int32(world.rank), count: 4)
        let longest = try world.reduce("rank \(world.rank)", root: 0) { $0.count >= $1.count ? $0 : $1 }
        let total = try world.allReduce(world.rank, +)
        let sums = try world.reduce(buffer: numbers, op: .sum, root: 0)
        let maxima = try world.allReduce(numbers, op: .max)
        let largest = try world.allReduce(3.5 * Double(world.rank), op: .max)
        let prefix = try world.scan(numbers, op: .sum)
        let before = try world.exclusiveScan(numbers, op: .sum)
        let blocks = try world.reduceScatter([Int32](repeating: 1, count: 10), counts: [1, 2, 3, 4], op: .sum)
        let block = try world.reduceScatterBlock([Int32](repeating: 1, count: 4 * world.size), op: .sum)
        let operations: [ReductionOperation] = [.sum, .product, .min, .max, .logicalAnd, .logicalOr, .logicalXor,
                                                .bitwiseAnd, .bitwiseOr, .bitwiseXor]
        let best = try world.allReduce(location: (value: 2.5 * Double(world.rank), rank: world.rank), op: .maxLocation)
        let worst = try world.reduce(location: (value: Int32(world.rank), rank: world.rank), op: .minLocation, root: 0)
        let longestRun = try UserOperation<Int32> { a, b in Swift.max(a, b) }
        let runs = try world.allReduce(numbers, op: longestRun.operation)
        print(longest ?? "", total, sums ?? [], maxima, largest, prefix, before ?? [], blocks, block, operations.count,
              best.value, best.rank, worst?.rank ?? -1, runs)
    }

    /// A pair of fields sent as one element.
    struct Particle: BitwiseCopyable { var position: Double; var id: Int32 }

    /// Datatypes: the predefined ones and derived ones.
    static func datatypes(_ world: Communicator) throws {
        let predefined: [Datatype] = [.byte, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float, .double]
        let triple = try Datatype.contiguous(3, of: .double)
        let column = try Datatype.vector(count: 4, blockLength: 1, stride: 4, of: .double)
        let particle = try Datatype.structure(of: Particle.self, fields: [(\.position, .double), (\.id, .int32)])
        print(predefined.count, try triple.size(), try column.extent(), try particle.size())
        if world.rank == 0 {
            try world.send([0.0, 1, 2, 3, 4, 5], count: 2, datatype: triple, to: 1)
        } else if world.rank == 1 {
            var received = [Double](repeating: 0, count: 6)
            try world.receive(into: &received, count: 2, datatype: triple, from: 0)
            print(received)
        }
        try triple.free()
        try column.free()
        try particle.free()
    }

    /// Groups and communicators made from them.
    static func groups(_ world: Communicator) throws {
        let group = try world.group
        let evens = try group.including([0, 2])
        let odds = try group.excluding([0, 2])
        print(try evens.size(), try odds.rank() ?? -1)
        let everyone = try evens.union(odds)
        let none = try evens.intersection(odds)
        let rest = try everyone.subtracting(evens)
        print(try evens.translate([0, 1], to: group), try none.size(), try rest.size())
        let evenCommunicator = try world.create(group: evens)
        let halves = try world.split(color: world.rank % 2, key: world.rank)
        let host = try world.split(type: .sharedMemory, key: 0)
        let copy = try world.duplicate()
        let inter = try halves.intercommunicator(localLeader: 0, peer: world, remoteLeader: world.rank % 2 == 0 ? 1 : 0, tag: 9)
        print(try inter.isIntercommunicator(), try inter.remoteSize())
        let merged = try inter.merge(high: world.rank % 2 == 1)
        print(evenCommunicator?.size ?? 0, host.size, merged.size)
        try merged.free()
        try inter.free()
        try copy.free()
        try host.free()
        try halves.free()
        try evenCommunicator?.free()
        try none.free()
        try rest.free()
        try everyone.free()
        try odds.free()
        try evens.free()
        try group.free()
    }

    /// Cartesian topologies.
    static func cartesian(_ world: Communicator) throws {
        let dims = try MPI.dimensions(for: world.size, [0, 0])
        guard let cart = try world.cartesian(dimensions: dims, periodic: [true, false]) else { return }
        let (dimensions, periodic, coordinates) = try cart.cartesianTopology()
        let mine = try cart.cartesianCoordinates(of: cart.rank)
        let corner = try cart.cartesianRank(of: [0, 0])
        let (source, destination) = try cart.cartesianShift(dimension: 0, by: 1)
        let rows = try cart.cartesianSubgrid(keeping: [false, true])
        print(dimensions, periodic, coordinates, mine, corner, source, destination, rows.size)
        try rows.free()
        try cart.free()
    }
}
