import ClusterFuturesWire
import Foundation
import Testing

private struct PinEmpty: Codable, Equatable {}
private struct PinSmall: Codable, Equatable {
    var a: Int
    var b: Double
    var c: String
}
private struct PinNested: Codable, Equatable {
    var p: PinSmall
    var xs: [Int]
    var o: Int?
    var oo: Int??
    var s: PinEmpty
}

/// Encodes and decodes another message inside its own `encode(to:)` / `init(from:)`.
private struct Reentrant: Codable, Equatable {
    var inner: PinSmall

    init(inner: PinSmall) { self.inner = inner }

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let bytes = try container.decode([UInt8].self)
        inner = try WireDecoder().decode(PinSmall.self, from: bytes)
        #expect(try WireDecoder().decode(Int.self, from: try WireEncoder().encode(7)) == 7)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(try WireEncoder().encode(inner))
        #expect(try WireDecoder().decode(PinSmall.self, from: try WireEncoder().encode(inner)) == inner)
    }
}

/// Keeps its encoder and decoder after the call (which the coders must survive).
private struct Escaping: Codable, Equatable {
    nonisolated(unsafe) static var encoder: (any Encoder)?
    nonisolated(unsafe) static var decoder: (any Decoder)?
    var a: Int

    init(a: Int) { self.a = a }

    init(from decoder: any Decoder) throws {
        Self.decoder = decoder
        a = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .a)
    }

    func encode(to encoder: any Encoder) throws {
        Self.encoder = encoder
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(a, forKey: .a)
    }

    enum CodingKeys: String, CodingKey { case a }
}

private struct FailingEncode: Encodable {
    struct Failure: Error {}
    enum CodingKeys: String, CodingKey { case x, y }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(1, forKey: .x)
        var nested = container.nestedUnkeyedContainer(forKey: .y)
        try nested.encode("partial")
        throw Failure()
    }
}

private struct OtherKeys: Codable, Equatable {
    var b: Int
    var a: String
}

/// Exact bytes of a few values, recorded from the encoder before the top-level fast paths were
/// added: the format must never change, so that existing messages keep decoding the same.
@Suite("Format pins")
struct FormatPinTests {
    /// Checks the encoding through `encode(_:)` and `encode(_:appendingTo:)` (after a prefix),
    /// and that each form decodes back to `value`.
    private func pin<T: Codable & Equatable>(_ value: T, _ expected: [UInt8]) throws {
        #expect(try WireEncoder().encode(value) == expected, "\(T.self) \(value)")
        var buffer: [UInt8] = [0xEE, 0xFF]
        try WireEncoder().encode(value, appendingTo: &buffer)
        #expect(buffer == [0xEE, 0xFF] + expected, "\(T.self) \(value) appended")
        #expect(try WireDecoder().decode(T.self, from: expected) == value)
        #expect(try WireDecoder().decode(T.self, from: buffer[2...]) == value)
        #expect(try WireCodec().decode(T.self, from: try WireCodec().encode(value)) == value)
    }

    @Test("primitives")
    func primitives() throws {
        try pin(0, [0x01, 0x03, 0x00])
        try pin(-1, [0x01, 0x03, 0x01])
        try pin(300, [0x01, 0x03, 0xD8, 0x04])
        try pin(Int.min, [0x01, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        try pin(Int64(-1), [0x01, 0x03, 0x01])
        try pin(Int32(300), [0x01, 0x03, 0xD8, 0x04])
        try pin(Int16(-1), [0x01, 0x03, 0x01])
        try pin(Int8(-100), [0x01, 0x03, 0xC7, 0x01])
        try pin(UInt64.max, [0x01, 0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        try pin(UInt(300), [0x01, 0x04, 0xAC, 0x02])
        try pin(UInt32(1), [0x01, 0x04, 0x01])
        try pin(UInt16(0), [0x01, 0x04, 0x00])
        try pin(UInt8(200), [0x01, 0x04, 0xC8, 0x01])
        try pin(true, [0x01, 0x02])
        try pin(false, [0x01, 0x01])
        try pin(Float(1.5), [0x01, 0x05, 0x00, 0x00, 0xC0, 0x3F])
        try pin(2.5, [0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40])
        try pin("héllo", [0x01, 0x07, 0x06, 0x68, 0xC3, 0xA9, 0x6C, 0x6C, 0x6F])
        try pin("", [0x01, 0x07, 0x00])
        try pin(Int?.some(5), [0x01, 0x03, 0x0A])
    }

    @Test("structs and arrays")
    func structs() throws {
        try pin(PinEmpty(), [0x01, 0x08, 0x00])
        try pin(
            PinSmall(a: 42, b: 2.5, c: "hello"),
            [
                0x02, 0x08, 0x15, 0x00, 0x03, 0x54, 0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
                0x40, 0x02, 0x07, 0x05, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x03, 0x01, 0x61, 0x01, 0x62, 0x01,
                0x63,
            ])
        try pin(
            [1.0, 2.0, 3.0],
            [
                0x01, 0x0A, 0x23, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x40,
            ])
        try pin(["a", "bc"], [0x01, 0x09, 0x08, 0x02, 0x07, 0x01, 0x61, 0x07, 0x02, 0x62, 0x63])
        try pin(
            PinNested(p: PinSmall(a: -7, b: 0.25, c: "x"), xs: [1, 2], o: nil, oo: .some(nil), s: PinEmpty()),
            [
                0x02, 0x08, 0x2E, 0x00, 0x08, 0x11, 0x01, 0x03, 0x0D, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0xD0, 0x3F, 0x03, 0x07, 0x01, 0x78, 0x04, 0x0A, 0x03, 0x02, 0x01, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0B,
                0x00, 0x06, 0x08, 0x00, 0x07, 0x01, 0x70, 0x01, 0x61, 0x01, 0x62, 0x01, 0x63, 0x02, 0x78,
                0x73, 0x02, 0x6F, 0x6F, 0x01, 0x73,
            ])
    }

    @Test("top-level primitive errors match the general path")
    func primitiveErrors() throws {
        // Trailing bytes, truncation, wrong tag, out of range, bad header: all still rejected.
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [0x01, 0x03, 0x00, 0x00]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [0x01, 0x03]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [0x01, 0x03, 0x80]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [0x01, 0x07, 0x00]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(UInt8.self, from: [0x01, 0x04, 0xAC, 0x02]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [0x03, 0x03, 0x00]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(String.self, from: [0x01, 0x07, 0x02, 0xC3]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(String.self, from: [0x01, 0x07, 0x01, 0xFF]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Double.self, from: [0x01, 0x06, 0x00]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Bool.self, from: [0x01, 0x00]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(PinEmpty.self, from: [0x01, 0x08, 0x00, 0x00]) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(PinEmpty.self, from: [0x01, 0x08, 0x01]) }
        // Numbers convert across tags exactly as before (a Double reads an integer).
        #expect(try WireDecoder().decode(Double.self, from: [0x01, 0x03, 0x04]) == 2.0)
        #expect(try WireDecoder().decode(Int.self, from: [0x01, 0x04, 0x05]) == 5)
        // A key table after a primitive is legal (header 0x02) and must be validated and skipped.
        #expect(try WireDecoder().decode(Int.self, from: [0x02, 0x03, 0x04, 0x01, 0x01, 0x61]) == 2)
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Int.self, from: [0x02, 0x03, 0x04, 0x01]) }
    }

    @Test("reused coder state: nesting, escapes, errors and key tables do not leak between calls")
    func reuse() throws {
        let small = PinSmall(a: 1, b: 2, c: "three")
        #expect(try WireDecoder().decode(Reentrant.self, from: try WireEncoder().encode(Reentrant(inner: small))).inner == small)

        let escaped = try WireEncoder().encode(Escaping(a: 5))
        #expect(try WireDecoder().decode(Escaping.self, from: escaped) == Escaping(a: 5))
        #expect(try WireEncoder().encode(Escaping(a: 5)) == escaped)
        Escaping.encoder = nil
        Escaping.decoder = nil

        // A failed decode (bad value, same key table) and a failed key table leave nothing behind.
        var bytes = try WireEncoder().encode(small)
        let good = bytes
        bytes[4] = 0x07  // the Int field now claims to be a string
        #expect(throws: DecodingError.self) { try WireDecoder().decode(PinSmall.self, from: bytes) }
        #expect(try WireDecoder().decode(PinSmall.self, from: good) == small)
        var badTable = good
        badTable[badTable.count - 1] = 0xFF  // last key byte: invalid UTF-8
        #expect(throws: DecodingError.self) { try WireDecoder().decode(PinSmall.self, from: badTable) }
        #expect(try WireDecoder().decode(PinSmall.self, from: good) == small)
        // A different table of the same length must not be taken for the cached one.
        let other = OtherKeys(b: 9, a: "z")
        #expect(try WireDecoder().decode(OtherKeys.self, from: try WireEncoder().encode(other)) == other)
        #expect(try WireDecoder().decode(PinSmall.self, from: good) == small)
        // A message without a key table after one with a table: key indices are out of range.
        #expect(throws: DecodingError.self) {
            try WireDecoder().decode(PinSmall.self, from: Array(good[0..<24]).replacingFirst(with: 0x01))
        }

        // A failed encode (after opening containers and interning keys) does not affect the next.
        var buffer: [UInt8] = [0xAA]
        #expect(throws: FailingEncode.Failure.self) { try WireEncoder().encode(FailingEncode(), appendingTo: &buffer) }
        #expect(buffer == [0xAA])
        #expect(try WireEncoder().encode(small) == good)
    }

    @Test("errors from primitive fields carry the field's coding path")
    func primitivePaths() throws {
        var bytes = try WireEncoder().encode(PinNested(p: PinSmall(a: 1, b: 2, c: "x"), xs: [], o: 3, oo: nil, s: PinEmpty()))
        // Make the nested `p.c` string a bool.
        let stringTag = try #require(bytes.firstIndex(of: 0x07))
        bytes[stringTag] = 0x02
        bytes.remove(at: stringTag + 1)
        bytes.remove(at: stringTag + 1)
        // Fix the two container lengths that covered the removed bytes.
        bytes[2] -= 2
        bytes[5] -= 2
        do {
            _ = try WireDecoder().decode(PinNested.self, from: bytes)
            Issue.record("expected a type mismatch")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["p", "c"])
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func replacingFirst(with byte: UInt8) -> [UInt8] {
        var copy = self
        copy[0] = byte
        return copy
    }
}
