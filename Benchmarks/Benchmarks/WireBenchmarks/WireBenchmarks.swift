import Benchmark
import ClusterFuturesWire

/// A record typical of a task's input or output: numbers, a string, an optional, small arrays.
struct Particle: Codable, Equatable {
    var id: Int
    var name: String
    var position: [Double]
    var charge: Double?
    var tags: [String]
}

/// A thousand particles, the value the codec benchmarks encode and decode.
let particles = (0..<1_000).map { n in
    Particle(id: n, name: "particle-\(n)", position: [Double(n), Double(n) / 2, -Double(n)],
             charge: n.isMultiple(of: 3) ? nil : Double(n) * 0.1, tags: ["a", "b\(n % 7)"])
}

/// One mebibyte of bytes, which the MPI pool sends beside a message rather than inside it.
let mebibyte = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }

/// Names have no spaces: the harness names threshold files after them, and reads them back only
/// when they do not change on the way.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(2),
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5], absolute: [.p90: 2])]
    )

    Benchmark("WireEncode1000Records") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try WireEncoder().encode(particles))
        }
    }

    let encoded = (try? WireEncoder().encode(particles)) ?? []
    Benchmark("WireDecode1000Records") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try WireDecoder().decode([Particle].self, from: encoded))
        }
    }

    Benchmark("WireOutOfBand1MiBBothWays") { benchmark in
        for _ in benchmark.scaledIterations {
            var message: [UInt8] = []
            var buffers: [WireBuffer] = []
            try WireEncoder().encode(mebibyte, appendingTo: &message, outOfBand: &buffers, minimumBytes: 1 << 16)
            blackHole(try WireDecoder().decode([UInt8].self, from: message[...], outOfBand: buffers))
        }
    }
}
