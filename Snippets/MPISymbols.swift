// The examples in the doc comments of the MPI module's symbols, compiled. Run it under `mpiexec -n 2`.
import MPI

/// Stands in for work that overlaps with a reduction.
func doOtherWork() {}

@main
enum MPISymbols {
    static func main() throws {
        try examples()
        // MPI (initializing again only checks the thread level)
        try MPI.initialize()
        let world = Communicator.world
        print("rank \(world.rank) of \(world.size) on \(MPI.processorName)")
        try MPI.finalize()
    }

    static func examples() throws {
        try MPI.initialize()
        let world = Communicator.world
        try nonBlocking(world)
        try userOperation(world, lengths: [Int32(world.rank), 3])
        if world.size >= 2 {
            if world.rank == 0 { try sendParticle(world) }
            if world.rank == 1 { try receiveParticle(world) }
        }
    }

    static func nonBlocking(_ world: Communicator) throws {
        let partial = [Double](repeating: 1, count: 8)
        let request = try world.iallReduce(consume partial, op: .sum)
        doOtherWork()                       // overlaps with the reduction
        let total = try request.wait()      // the buffer comes back
        print(total)
    }

    static func userOperation(_ world: Communicator, lengths: [Int32]) throws {
        let longest = try UserOperation<Int32> { a, b in Swift.max(a, b) }
        let result = try world.allReduce(lengths, op: longest.operation)
        print(result)
    }

    static func sendParticle(_ world: Communicator) throws {
        struct Particle: BitwiseCopyable { var position: Double; var id: Int32 }
        let type = try Datatype.structure(of: Particle.self, fields: [(\.position, .double), (\.id, .int32)])
        try world.send([Particle(position: 0.5, id: 7)], count: 1, datatype: type, to: 1)
        try type.free()
    }

    static func receiveParticle(_ world: Communicator) throws {
        struct Particle: BitwiseCopyable { var position: Double; var id: Int32 }
        let type = try Datatype.structure(of: Particle.self, fields: [(\.position, .double), (\.id, .int32)])
        var received = [Particle(position: 0, id: 0)]
        try world.receive(into: &received, count: 1, datatype: type, from: 0)
        print(received[0].position, received[0].id)
        try type.free()
    }
}
