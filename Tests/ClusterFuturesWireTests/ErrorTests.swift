import ClusterFuturesWire
import Foundation
import Testing

/// A recursive type for depth bombs: each level is one keyed container.
private struct Nest: Codable {
    var c: [Nest]?
}

/// Builds a message of `depth` keyed containers nested through key "c" (index 0), innermost nil.
private func nestedMessage(depth: Int) -> [UInt8] {
    // Sizes from the inside out: level i's body is key index + level i+1's value.
    var valueSize = [Int](repeating: 0, count: depth + 1)
    valueSize[depth] = 1  // nil
    var bodySize = [Int](repeating: 0, count: depth)
    for level in stride(from: depth - 1, through: 0, by: -1) {
        bodySize[level] = 1 + valueSize[level + 1]
        valueSize[level] = 1 + varintSize(bodySize[level]) + bodySize[level]
    }
    var bytes: [UInt8] = [0x02]
    bytes.reserveCapacity(valueSize[0] + 8)
    for level in 0..<depth {
        bytes.append(0x08)
        appendVarint(UInt64(bodySize[level]), to: &bytes)
        bytes.append(0x00)  // key index 0 = "c"
    }
    bytes.append(0x00)
    bytes += [0x01, 0x01, UInt8(ascii: "c")]  // key table: one key, "c"
    return bytes
}

/// Decodes nested keyed containers of any depth as plain structs.
private struct Chain: Decodable {
    var depth: Int
    enum Keys: String, CodingKey { case c }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        depth = (try container.decodeIfPresent(Chain.self, forKey: .c)?.depth ?? 0) + 1
    }
}

@Suite("Errors")
struct ErrorTests {
    @Test("every strict prefix of a valid message throws")
    func truncated() throws {
        let messages: [[UInt8]] = [
            try wire(Particle(id: 7, name: "näme", position: [1, 2, 3], charge: -1, tags: ["a", "bc"])),
            try wire(FuzzRecord.sample),
            try wire([1: ["x"], 2: []] as [Int: [String]]),
            try wire((0..<40).map(Double.init)),
            try wire("a string"),
            try wire(Int64.min),
            try wire(Optional<Optional<Int>>.some(nil)),
        ]
        for message in messages {
            for length in 0..<message.count {
                let prefix = Array(message.prefix(length))
                #expect(throws: DecodingError.self, "prefix \(length) of \(message.count)") {
                    switch message {
                    case messages[0]: _ = try WireDecoder().decode(Particle.self, from: prefix)
                    case messages[1]: _ = try WireDecoder().decode(FuzzRecord.self, from: prefix)
                    case messages[2]: _ = try WireDecoder().decode([Int: [String]].self, from: prefix)
                    case messages[3]: _ = try WireDecoder().decode([Double].self, from: prefix)
                    case messages[4]: _ = try WireDecoder().decode(String.self, from: prefix)
                    case messages[5]: _ = try WireDecoder().decode(Int64.self, from: prefix)
                    default: _ = try WireDecoder().decode(Int??.self, from: prefix)
                    }
                }
            }
        }
        // A truncation error says what was needed where.
        let message = try wire("hello")
        #expect {
            _ = try WireDecoder().decode(String.self, from: Array(message.prefix(4)))
        } throws: { error in
            describe(error) == "truncated message: needed 5 bytes at offset 3, 1 remain"
        }
    }

    @Test("decoding a value as the wrong type throws a clear error")
    func wrongType() throws {
        #expect {
            _ = try WireDecoder().decode(Int.self, from: try wire("text"))
        } throws: { error in
            guard case DecodingError.typeMismatch = error else { return false }
            return describe(error) == "type mismatch: expected integer, found string at offset 1"
        }
        #expect {
            _ = try WireDecoder().decode(String.self, from: try wire(Particle(id: 1, name: "", position: [], charge: nil, tags: [])))
        } throws: { error in
            describe(error) == "type mismatch: expected string, found keyed container at offset 1"
        }
        #expect {
            _ = try WireDecoder().decode(Particle.self, from: try wire([1, 2]))
        } throws: { error in
            describe(error) == "type mismatch: expected keyed container, found bulk array at offset 1"
        }
        #expect {
            _ = try WireDecoder().decode(UInt8.self, from: try wire(300))
        } throws: { error in
            describe(error) == "number 300 at offset 1 does not fit in UInt8"
        }
        #expect {
            _ = try WireDecoder().decode(Int.self, from: try wire(Int?.none))
        } throws: { error in
            guard case DecodingError.valueNotFound = error else { return false }
            return true
        }
    }

    @Test("bytes after the top-level value are rejected")
    func trailing() throws {
        for message in [try wire(5), try wire(Particle(id: 1, name: "n", position: [], charge: nil, tags: []))] {
            #expect {
                _ = try WireDecoder().decode(Int.self, from: message + [0x00])
            } throws: { error in
                describe(error).hasPrefix("corrupt message: trailing bytes")
            }
        }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [UInt8]()) }
        #expect {
            _ = try WireDecoder().decode(Int.self, from: [0x07, 0x03])
        } throws: { error in
            describe(error) == "corrupt message: unknown message header 0x07 at offset 0"
        }
    }

    @Test("huge declared counts and lengths with a tiny body throw without allocating")
    func hugeCounts() throws {
        let clock = ContinuousClock()
        let start = clock.now
        var huge: [UInt8] = []
        appendVarint(1 << 60, to: &huge)
        let maxVarint: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        let messages: [[UInt8]] = [
            [0x01, 0x0A, 0x23] + huge + [0, 0, 0, 0, 0, 0, 0, 0],  // bulk [Double]
            [0x01, 0x0A, 0x23] + maxVarint + [0, 0, 0, 0, 0, 0, 0, 0],  // count × 8 overflows
            [0x01, 0x09, 0x0B] + maxVarint + [0x00],  // unkeyed count far beyond its body
            [0x01, 0x09] + huge + [0x00],  // unkeyed length beyond the message
            [0x01, 0x07] + huge + [0x61],  // string length beyond the message
            [0x01, 0x08] + maxVarint,  // keyed length beyond the message
            [0x02, 0x08, 0x00] + maxVarint,  // key table count beyond the message
            [0x01, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],  // varint > 64 bits
        ]
        for message in messages {
            #expect(throws: DecodingError.self) { try WireDecoder().decode([Double].self, from: message) }
            #expect(throws: DecodingError.self) { try WireDecoder().decode([String].self, from: message) }
            #expect(throws: DecodingError.self) { try WireDecoder().decode([Int?].self, from: message) }
            #expect(throws: DecodingError.self) { try WireDecoder().decode(FuzzRecord.self, from: message) }
        }
        #expect {
            _ = try WireDecoder().decode([Double].self, from: messages[0])
        } throws: { error in
            describe(error).contains("declares 1152921504606846976 elements of 8 bytes, but only 8 bytes remain")
        }
        #expect(clock.now - start < .seconds(2))
    }

    @Test("deeply nested input throws at maxDepth instead of exhausting the stack")
    func depthBomb() throws {
        // Under the limit: decodes.
        #expect(try WireDecoder().decode(Chain.self, from: nestedMessage(depth: 60)).depth == 60)
        // Far over the limit: throws, whatever the type.
        let bomb = nestedMessage(depth: 200_000)
        #expect {
            _ = try WireDecoder().decode(Chain.self, from: bomb)
        } throws: { error in
            describe(error).contains("nesting depth exceeds the limit of 64")
        }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Nest.self, from: bomb) }
        // A custom limit applies.
        #expect(throws: DecodingError.self) {
            try WireDecoder(limits: WireLimits(maxDepth: 50)).decode(Chain.self, from: nestedMessage(depth: 100))
        }
        // Nested arrays of a recursive type count too.
        var nest = Nest(c: nil)
        for _ in 0..<600 { nest = Nest(c: [nest]) }
        let arrays = try wire(nest)
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Nest.self, from: arrays) }
        #expect(try WireDecoder(limits: WireLimits(maxDepth: 2000)).decode(Nest.self, from: arrays).c?.count == 1)
        // A long run of `.some` markers is skipped iteratively and then rejected.
        let markers = [0x01] + [UInt8](repeating: 0x0B, count: 1_000_000) + [0x00]
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int??.self, from: markers) }
    }
}

extension FuzzRecord {
    static var sample: FuzzRecord {
        FuzzRecord(
            id: -12, name: "fuzz", values: [1.5, -2, .infinity], nested: [[1, -2], [], [127]],
            map: ["a": 1, "bb": 65_535], shape: .labeled("x", 3), flags: [true, nil, false],
            box: Box(value: 1, next: Box(value: 2)))
    }
}
