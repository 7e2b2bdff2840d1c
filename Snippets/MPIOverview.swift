import MPI

@main
enum Program {
    static func main() throws {
        try MPI.initialize()
        let world = Communicator.world
        // Each rank sums its own slice, and every rank gets the total.
        let slice = stride(from: world.rank, to: 1_000_000, by: world.size)
        let total = try world.allReduce(slice.reduce(0, +), op: .sum)
        if world.rank == 0 { print("sum over \(world.size) ranks: \(total)") }
        try MPI.finalize()
    }
}
