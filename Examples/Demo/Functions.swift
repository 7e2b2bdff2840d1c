import ClusterFuturesMPI
import ExampleSupport

/// Counts the primes in a half-open range by trial division: deliberately CPU-heavy.
struct CountPrimes: RemoteFunction {
    func callAsFunction(_ range: Range<Int>) -> Int {
        range.count(where: isPrime)
    }
}

/// Throws darts at the unit square with a seeded generator and counts those inside the quarter circle.
struct MonteCarloPi: RemoteFunction {
    /// How many darts each call throws.
    var samples: Int

    func callAsFunction(_ seed: UInt64) -> Int {
        var state = seed
        var inside = 0
        for _ in 0..<samples {
            let x = Double(Self.next(&state) >> 11) / Double(1 << 53)
            let y = Double(Self.next(&state) >> 11) / Double(1 << 53)
            if x * x + y * y <= 1 { inside += 1 }
        }
        return inside
    }

    /// SplitMix64: small, fast, and the same in every process.
    private static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Parses a line of a data file: the everyday failure of batch work, a few bad records.
struct ParseReading: RemoteFunction {
    struct Reading: Codable, Sendable {
        var station: String
        var celsius: Double
    }

    /// The error a bad record produces. Registered, so it reaches the caller as itself.
    struct BadRecord: Error, Codable, CustomStringConvertible {
        var line: String
        var description: String { "bad record: \"\(line)\"" }
    }

    func callAsFunction(_ line: String) throws -> Reading {
        let fields = line.split(separator: ",")
        guard fields.count == 2, let celsius = Double(fields[1]) else { throw BadRecord(line: line) }
        return Reading(station: String(fields[0]), celsius: celsius)
    }
}
