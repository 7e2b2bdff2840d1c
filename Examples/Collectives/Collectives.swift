import ExampleSupport
import MPI

/// `cf-collectives`: the MPI module's collectives, on every rank of the world, each checking that
/// every rank got exactly what it should, and printing one line per check (`OK ...` or
/// `FAIL ...`); the exit status is 1 if any check failed.
///
///     mpiexec -n 4 cf-collectives
///     cf-collectives              # alone: a world of one rank, where nothing moves
///
/// Broadcast, scatter and gather of Codable values and of typed buffers, all-gather, all-reduce
/// and reduce. The values depend on the rank, so a value delivered to the wrong rank fails.
@main
enum Collectives {
    static func main() {
        Checklist.run(program: "cf-collectives") { world, checks in
            if world.rank == 0 {
                print(world.size == 1
                    ? "a world of 1 rank: each collective runs, but nothing moves between processes (run under mpiexec -n 4)"
                    : "collectives over \(world.size) ranks, rank 0 the root")
            }
            try broadcasts(world, &checks)
            try scatters(world, &checks)
            try gathers(world, &checks)
            try reductions(world, &checks)
        }
    }

    /// A Codable value, and a typed buffer in place, from rank 0 to every rank.
    static func broadcasts(_ world: Communicator, _ checks: inout Checklist) throws {
        let settings = ["slices": 50, "terms": 1_000_000, "seed": 42]
        let received = try world.broadcast(world.rank == 0 ? settings : nil, root: 0)
        checks.check("broadcast of a [String: Int] from rank 0", received == settings, "received \(received)")

        let table = (0..<100).map { Double($0) / 3 }
        var buffer = world.rank == 0 ? table : [Double](repeating: .nan, count: 100)
        try world.broadcast(buffer: &buffer, root: 0)
        checks.check("broadcast of a typed buffer of 100 Double, in place", buffer == table, "received \(buffer.prefix(3))...")
    }

    /// Rank 0's values, one (or one block) to each rank.
    static func scatters(_ world: Communicator, _ checks: inout Checklist) throws {
        let items = world.rank == 0 ? (0..<world.size).map { "item \($0) of \(world.size)" } : nil
        let mine = try world.scatter(items, root: 0)
        checks.check("scatter of one String to each rank", mine == "item \(world.rank) of \(world.size)", "received \(mine.debugDescription)")

        let blocks = world.rank == 0 ? (0..<(3 * world.size)).map { Int32($0) } : nil
        let block = try world.scatter(buffer: blocks, count: 3, root: 0)
        let expected = (0..<3).map { Int32(3 * world.rank + $0) }
        checks.check("scatter of a typed buffer, 3 Int32 to each rank", block == expected, "received \(block)")
    }

    /// Every rank's value at rank 0, in rank order, and on every rank.
    static func gathers(_ world: Communicator, _ checks: inout Checklist) throws {
        let squares = try world.gather(world.rank * world.rank, root: 0)
        let expected = (0..<world.size).map { $0 * $0 }
        checks.check("gather of each rank's square at rank 0, in rank order",
                     world.rank == 0 ? squares == expected : squares == nil, "received \(String(describing: squares))")

        let pairs = try world.gather(buffer: [Int64(world.rank), -Int64(world.rank)], root: 0)
        let expectedPairs = (0..<world.size).flatMap { [Int64($0), -Int64($0)] }
        checks.check("gather of a typed buffer, 2 Int64 from each rank",
                     world.rank == 0 ? pairs == expectedPairs : pairs == nil, "received \(String(describing: pairs))")

        let everyone = try world.allGather("rank \(world.rank)")
        checks.check("all-gather of each rank's name", everyone == (0..<world.size).map { "rank \($0)" }, "received \(everyone)")
    }

    /// Sums everywhere and at the root, and a combination that shows the rank order.
    static func reductions(_ world: Communicator, _ checks: inout Checklist) throws {
        let total = try world.allReduce(world.rank + 1, op: .sum)
        checks.check("all-reduce (sum) of rank + 1", total == world.size * (world.size + 1) / 2, "received \(total)")

        let sums = try world.reduce(buffer: [Int64(world.rank), 1], op: .sum, root: 0)
        let expected = [Int64(world.size * (world.size - 1) / 2), Int64(world.size)]
        checks.check("reduce (sum) of a typed buffer at rank 0",
                     world.rank == 0 ? sums == expected : sums == nil, "received \(String(describing: sums))")

        // Joining strings is associative but not commutative: the result shows the order.
        let joined = try world.reduce(String(world.rank), root: 0) { $0 + "," + $1 }
        let order = (0..<world.size).map(String.init).joined(separator: ",")
        checks.check("reduce of Codable values with a closure, in rank order",
                     world.rank == 0 ? joined == order : joined == nil, "received \(String(describing: joined))")
    }
}
