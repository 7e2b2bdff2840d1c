import Foundation
import MPI

/// `cf-osu`: the loops of the OSU micro-benchmarks osu_latency, osu_bw and osu_bibw, written with
/// the Swift MPI module, line for line as `Benchmarks/OSU/osu.c` writes them in C: latency,
/// bandwidth and bidirectional bandwidth between two ranks. `cf-bench osu` runs the two in turns
/// and prints the ratio per message size.
///
///     mpiexec -n 2 cf-osu                         # all three, message sizes 1 B to 4 MiB
///     mpiexec -n 2 cf-osu all 65536               # all three, up to 64 KiB
///     mpiexec -n 2 cf-osu latency|bw|bibw [MAX_SIZE]
///
/// Rank 0 prints a table per test, as the OSU benchmarks do: `#` header lines, then one line per
/// message size, `SIZE VALUE`: microseconds for latency, MB/s (10^6 bytes) for the bandwidths.
/// Run with any other number of ranks (or alone), it says how to run it and exits with status 2.
@main
enum OSU {
    /// Messages in flight at once in the bandwidth tests, as in the OSU benchmarks.
    static let window = 64
    /// Sizes above this use fewer iterations.
    static let large = 8192

    /// The tests, in the order `all` runs them, named as on the command line.
    enum Test: String, CaseIterable {
        case latency, bw, bibw

        /// The header lines of the test's table.
        var header: String {
            switch self {
            case .latency: "# OSU MPI Latency Test (Swift MPI module)\n# Size          Latency (us)"
            case .bw: "# OSU MPI Bandwidth Test (Swift MPI module)\n# Size      Bandwidth (MB/s)"
            case .bibw: "# OSU MPI Bi-Directional Bandwidth Test (Swift MPI module)\n# Size      Bandwidth (MB/s)"
            }
        }

        /// The rounds timed, and the rounds run before them, for messages of `size` bytes.
        func iterations(_ size: Int) -> (loop: Int, skip: Int) {
            self == .latency ? (size > large ? (1000, 10) : (10000, 100)) : (size > large ? (20, 2) : (100, 10))
        }

        /// The figure for `loop` rounds of `size` bytes in `elapsed` seconds: microseconds one way,
        /// or MB/s (10^6 bytes).
        func figure(elapsed: Double, size: Int, loop: Int) -> Double {
            switch self {
            case .latency: elapsed * 1e6 / Double(2 * loop)
            case .bw: Double(size * loop * window) / 1e6 / elapsed
            case .bibw: Double(size * loop * window * 2) / 1e6 / elapsed
            }
        }
    }

    static let usage = "usage: mpiexec -n 2 cf-osu [latency|bw|bibw|all] [MAX_SIZE]"

    static func main() {
        do {
            _ = try MPI.initialize(threadLevel: .single)
            let world = Communicator.world
            var arguments = Array(CommandLine.arguments.dropFirst())
            var chosen = Test.allCases
            if let first = arguments.first, Int(first) == nil {
                chosen = first == "all" ? Test.allCases : Test(rawValue: first).map { [$0] } ?? []
                arguments.removeFirst()
            }
            let maxSize = arguments.isEmpty ? 4 << 20 : Int(arguments[0]) ?? 0
            guard !chosen.isEmpty, arguments.count <= 1, maxSize >= 1, world.size == 2 else {
                if world.rank == 0 {
                    let why = world.size == 2 ? "" : "cf-osu measures between exactly 2 ranks; this world has \(world.size).\n"
                    FileHandle.standardError.write(Data("\(why)\(usage)\n".utf8))
                }
                try MPI.finalize(exitStatus: 2)
                exit(2)
            }
            for (index, test) in chosen.enumerated() {
                if world.rank == 0 {
                    print((index == 0 ? "" : "\n") + test.header)
                }
                try run(test, maxSize: maxSize, on: world)
            }
            try MPI.finalize(exitStatus: 0)
        } catch {
            FileHandle.standardError.write(Data("cf-osu: \(error)\n".utf8))
            MPI.abort(1)
        }
    }

    static func run(_ test: Test, maxSize: Int, on world: Communicator) throws {
        let peer = 1 - world.rank
        var send = [UInt8](repeating: UInt8(ascii: "a"), count: maxSize)
        var receive = [UInt8](repeating: UInt8(ascii: "b"), count: maxSize)
        var size = 1
        while size <= maxSize {
            let (loop, skip) = test.iterations(size)
            var messages = test == .latency ? Window(size: 0) : Window(size: size)
            var start = 0.0
            try world.barrier()
            for iteration in 0..<(loop + skip) {
                if iteration == skip { start = MPI.wtime() }
                switch test {
                case .latency: try latencyRound(size: size, peer: peer, send: &send, receive: &receive, on: world)
                case .bw: try bandwidthRound(window: &messages, peer: peer, on: world)
                case .bibw: try bidirectionalRound(window: &messages, peer: peer, on: world)
                }
            }
            let elapsed = MPI.wtime() - start
            if world.rank == 0 {
                print(String(format: "%-10ld %17.3f", size, test.figure(elapsed: elapsed, size: size, loop: loop)))
                fflush(nil)
            }
            size *= 2
        }
    }
}
