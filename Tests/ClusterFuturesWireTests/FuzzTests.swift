import ClusterFuturesTestSupport
import ClusterFuturesWire
import Foundation
import Testing

@Suite("Fuzz")
struct FuzzTests {
    /// Decodes `bytes` as several types; returns how many of those decodes threw.
    func decodeAll(_ bytes: [UInt8]) -> Int {
        let decoder = WireDecoder()
        var thrown = 0
        do { _ = try decoder.decode(FuzzRecord.self, from: bytes) } catch { thrown += 1 }
        do { _ = try decoder.decode([Double].self, from: bytes) } catch { thrown += 1 }
        do { _ = try decoder.decode(String.self, from: bytes) } catch { thrown += 1 }
        do { _ = try decoder.decode([Int: [String]].self, from: bytes) } catch { thrown += 1 }
        return thrown
    }

    @Test("random byte strings decode or throw, never crash")
    func randomBytes() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        var iterations = 0
        var thrown = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...256, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Most messages get a valid header and a plausible first tag, so decoding goes deeper.
            if length > 1 && rng.next() % 4 != 0 {
                bytes[0] = UInt8.random(in: 1...2, using: &rng)
                bytes[1] = UInt8.random(in: 0...0x0D, using: &rng)
            }
            thrown += decodeAll(bytes)
            iterations += 1
        }
        #expect(iterations == 20_000)
        #expect(thrown > 0)
    }

    @Test("mutated valid messages decode or throw, never crash")
    func mutations() throws {
        let seeds: [[UInt8]] = [
            try wire(FuzzRecord.sample),
            try wire(FuzzRecord(
                id: 1, name: nil, values: [], nested: [], map: [:], shape: .point, flags: [], box: nil)),
            try wire([1.0, 2.0, 3.0, -0.0]),
            try wire("mutate me ✂️"),
            try wire([7: ["seven", "sept"], -1: [], 100: ["a"]] as [Int: [String]]),
        ]
        var rng = SplitMix64(seed: 42)
        var iterations = 0
        var thrown = 0
        var succeeded = 0
        for _ in 0..<20_000 {
            var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
                switch rng.next() % 5 {
                case 0 where !bytes.isEmpty:
                    bytes[position] ^= 1 << UInt8(rng.next() % 8)  // bit flip
                case 1 where !bytes.isEmpty:
                    bytes[position] = UInt8(truncatingIfNeeded: rng.next())  // byte replacement
                case 2:
                    bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)  // insertion
                case 3 where !bytes.isEmpty:
                    bytes.remove(at: position)  // deletion
                default:
                    bytes.removeLast(bytes.count - position)  // truncation
                }
            }
            let failures = decodeAll(bytes)
            thrown += failures
            succeeded += 4 - failures
            iterations += 1
        }
        #expect(iterations == 20_000)
        #expect(thrown > 0)
        #expect(succeeded > 0)
    }
}
