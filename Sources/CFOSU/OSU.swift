import Foundation
import MPI

/// `cf-osu`: the loops of the OSU micro-benchmarks osu_latency, osu_bw and osu_bibw, written with
/// the Swift MPI module, line for line as `Benchmarks/OSU/osu.c` writes them in C. `cf-bench osu`
/// runs the two in turns and prints the ratio per message size.
///
///     mpiexec -n 2 cf-osu latency|bw|bibw [MAX_SIZE]
///
/// Rank 0 prints one line per message size, `SIZE VALUE`: microseconds for latency, MB/s
/// (10^6 bytes) for the bandwidths.
@main
enum OSU {
    /// Messages in flight at once in the bandwidth tests, as in the OSU benchmarks.
    static let window = 64
    /// Sizes above this use fewer iterations.
    static let large = 8192

    static func iterations(_ test: String, _ size: Int) -> (loop: Int, skip: Int) {
        test == "latency" ? (size > large ? (1000, 10) : (10000, 100)) : (size > large ? (20, 2) : (100, 10))
    }

    static func main() {
        do {
            _ = try MPI.initialize(threadLevel: .single)
            let world = Communicator.world
            let arguments = CommandLine.arguments.dropFirst()
            guard let test = arguments.first, ["latency", "bw", "bibw"].contains(test), world.size == 2 else {
                if world.rank == 0 {
                    FileHandle.standardError.write(Data("usage: mpiexec -n 2 cf-osu latency|bw|bibw [MAX_SIZE]\n".utf8))
                }
                MPI.abort(2)
            }
            let maxSize = arguments.dropFirst().first.flatMap { Int($0) } ?? 4 << 20
            try run(test, maxSize: maxSize, on: world)
            try MPI.finalize(exitStatus: 0)
        } catch {
            FileHandle.standardError.write(Data("cf-osu: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(_ test: String, maxSize: Int, on world: Communicator) throws {
        let peer = 1 - world.rank
        var send = [UInt8](repeating: UInt8(ascii: "a"), count: maxSize)
        var receive = [UInt8](repeating: UInt8(ascii: "b"), count: maxSize)
        var size = 1
        while size <= maxSize {
            let (loop, skip) = iterations(test, size)
            var messages = test == "latency" ? Window(size: 0) : Window(size: size)
            var start = 0.0
            try world.barrier()
            for iteration in 0..<(loop + skip) {
                if iteration == skip { start = MPI.wtime() }
                switch test {
                case "latency":
                    try latencyRound(size: size, peer: peer, send: &send, receive: &receive, on: world)
                case "bw":
                    try bandwidthRound(window: &messages, peer: peer, on: world)
                default:
                    try bidirectionalRound(window: &messages, peer: peer, on: world)
                }
            }
            let elapsed = MPI.wtime() - start
            if world.rank == 0 {
                let value = switch test {
                case "latency": elapsed * 1e6 / Double(2 * loop)
                case "bw": Double(size * loop * window) / 1e6 / elapsed
                default: Double(size * loop * window * 2) / 1e6 / elapsed
                }
                print("\(size) \(String(format: "%.3f", value))")
                fflush(nil)
            }
            size *= 2
        }
    }
}
