import ArgumentParser
import ClusterFuturesWire
import Foundation

extension CFBench {
    /// `cf-bench codec`: throughput of the wire codec against Foundation's JSON.
    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "codec",
            abstract: "Encode+decode throughput of ClusterFuturesWire versus JSONEncoder/JSONDecoder."
        )

        /// Seconds to spend timing each of the four measurements.
        @Option(help: "Seconds to spend timing each measurement.")
        var seconds: Double = 0.5

        func run() throws {
            print(try CodecBenchmark.run(secondsPerMeasurement: seconds))
        }
    }
}

/// A small struct typical of function inputs and outputs.
struct Particle: Codable, Equatable {
    var id: Int
    var name: String
    var position: [Double]
    var charge: Double?
    var tags: [String]
}

/// The codec benchmark as a reusable function.
enum CodecBenchmark {
    /// Thrown when a decoded value differs from the encoded one.
    struct Mismatch: Error, CustomStringConvertible {
        var what: String
        var description: String { "codec benchmark: decoded \(what) differs from the input" }
    }

    /// Measures and returns the line
    /// `codec: bulk1mib_mb_per_s=.. json_bulk1mib_mb_per_s=.. struct_ops_per_s=.. json_struct_ops_per_s=..`
    /// `bulk1mib_fresh_buffers_mb_per_s=..`.
    static func run(secondsPerMeasurement seconds: Double = 0.5) throws -> String {
        let doubles = (0..<131_072).map { Double($0) * 0.5 + 0.25 }
        let particle = Particle(
            id: 42, name: "electron-7", position: [1.5, -2.25, 3.125], charge: -1.0,
            tags: ["lepton", "stable"])

        let wireEncoder = WireEncoder()
        let wireDecoder = WireDecoder()
        let jsonEncoder = JSONEncoder()
        let jsonDecoder = JSONDecoder()

        // The bulk figure encodes into a reused send buffer, as a transport does with
        // `encode(_:appendingTo:)`, and decodes into a new array each time. The fresh figure also
        // encodes into a new array each time; the difference is the allocator handing 1 MiB back
        // to the kernel and the kernel zero-filling it again on every round, not the codec.
        var sendBuffer: [UInt8] = []
        let bulkSeconds = try timePerOp(seconds: seconds) {
            sendBuffer.removeAll(keepingCapacity: true)
            try wireEncoder.encode(doubles, appendingTo: &sendBuffer)
            let back = try wireDecoder.decode([Double].self, from: sendBuffer)
            guard back == doubles else { throw Mismatch(what: "[Double]") }
        }
        let freshBulkSeconds = try timePerOp(seconds: seconds) {
            let bytes = try wireEncoder.encode(doubles)
            let back = try wireDecoder.decode([Double].self, from: bytes)
            guard back == doubles else { throw Mismatch(what: "[Double]") }
        }
        let jsonBulkSeconds = try timePerOp(seconds: seconds) {
            let data = try jsonEncoder.encode(doubles)
            let back = try jsonDecoder.decode([Double].self, from: data)
            guard back == doubles else { throw Mismatch(what: "JSON [Double]") }
        }
        let structSeconds = try timePerOp(seconds: seconds) {
            let bytes = try wireEncoder.encode(particle)
            let back = try wireDecoder.decode(Particle.self, from: bytes)
            guard back == particle else { throw Mismatch(what: "Particle") }
        }
        let jsonStructSeconds = try timePerOp(seconds: seconds) {
            let data = try jsonEncoder.encode(particle)
            let back = try jsonDecoder.decode(Particle.self, from: data)
            guard back == particle else { throw Mismatch(what: "JSON Particle") }
        }

        let bulkBytes = Double(doubles.count * MemoryLayout<Double>.stride)
        func rate(_ value: Double) -> String { String(Int(value.rounded())) }
        return "codec: bulk1mib_mb_per_s=\(rate(bulkBytes / bulkSeconds / 1e6))"
            + " json_bulk1mib_mb_per_s=\(rate(bulkBytes / jsonBulkSeconds / 1e6))"
            + " struct_ops_per_s=\(rate(1 / structSeconds))"
            + " json_struct_ops_per_s=\(rate(1 / jsonStructSeconds))"
            + " bulk1mib_fresh_buffers_mb_per_s=\(rate(bulkBytes / freshBulkSeconds / 1e6))"
    }

    /// Runs `body` for a short warm-up, then repeatedly for about `seconds`, and returns the mean
    /// seconds per call, measured with a monotonic clock.
    static func timePerOp(seconds: Double, _ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        // Warm up and estimate the cost of one call.
        var warmupCalls = 0
        let warmupStart = clock.now
        while warmupCalls < 3 || clock.now - warmupStart < .milliseconds(50) {
            try body()
            warmupCalls += 1
        }
        let estimate = max(elapsed(clock.now - warmupStart) / Double(warmupCalls), 1e-9)
        let iterations = max(1, Int(seconds / estimate))
        let start = clock.now
        for _ in 0..<iterations { try body() }
        return elapsed(clock.now - start) / Double(iterations)
    }

    private static func elapsed(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
