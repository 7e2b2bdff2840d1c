import Benchmark
import ClusterFuturesWire

/// A record typical of batch data: a station's reading, with a string, numbers, an optional and a
/// small array.
struct Reading: Codable, Equatable {
    var station: String
    var time: Double
    var celsius: Double
    var humidity: Double?
    var flags: [Int]
}

/// A thousand readings, the value the codec benchmarks encode and decode.
let readings = (0..<1_000).map { n in
    Reading(station: "station-\(n % 40)", time: 1_700_000_000 + Double(n) * 60, celsius: Double(n % 50) / 2 - 10,
            humidity: n.isMultiple(of: 3) ? nil : Double(n % 100), flags: [n % 2, n % 5])
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

    Benchmark("WireEncode1000Readings") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try WireEncoder().encode(readings))
        }
    }

    let encoded = (try? WireEncoder().encode(readings)) ?? []
    Benchmark("WireDecode1000Readings") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try WireDecoder().decode([Reading].self, from: encoded))
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
