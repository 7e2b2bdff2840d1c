import ClusterFuturesWire
import Foundation
import Testing

@Suite("Out-of-band buffers")
struct OutOfBandTests {
    struct Sample: Codable, Equatable {
        var name: String
        var pixels: [UInt8]
        var samples: [Double]
        var small: [Int32]
        var blob: Data
        var nested: [[Float]]
    }

    let sample = Sample(
        name: "frame 7",
        pixels: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) },
        samples: (0..<20_000).map { Double($0) / 3 },
        small: [1, 2, 3],
        blob: Data((0..<5_000).map { UInt8(truncatingIfNeeded: $0) }),
        nested: [[1, 2], (0..<2_000).map(Float.init)])

    func encode(_ value: some Encodable, minimumBytes: Int = 1_024) throws -> ([UInt8], [WireBuffer]) {
        var bytes: [UInt8] = []
        var buffers: [WireBuffer] = []
        try WireEncoder().encode(value, appendingTo: &bytes, outOfBand: &buffers, minimumBytes: minimumBytes)
        return (bytes, buffers)
    }

    /// What a transport does: sends each buffer's bytes, receives them into a new buffer.
    func transported(_ buffers: [WireBuffer]) throws -> [WireBuffer] {
        try buffers.map { buffer in
            try WireBuffer(kind: buffer.kind, count: buffer.count) { destination in
                buffer.withUnsafeBytes { destination.copyMemory(from: $0) }
            }
        }
    }

    @Test("large arrays leave the message, small ones stay, and everything decodes back")
    func roundTrip() throws {
        let (bytes, buffers) = try encode(sample)
        #expect(buffers.map(\.kind.description) == ["UInt8", "Double", "UInt8", "Float"])
        #expect(buffers.map(\.byteCount) == [100_000, 160_000, 5_000, 8_000])
        #expect(bytes.count < 200, "the message keeps only references: \(bytes.count) bytes")
        let decoded = try WireDecoder().decode(Sample.self, from: bytes[...], outOfBand: transported(buffers))
        #expect(decoded == sample)
        // Without a minimum the same value is one self-contained message.
        #expect(try WireDecoder().decode(Sample.self, from: WireEncoder().encode(sample)) == sample)
    }

    @Test("an array of the buffer's own type is handed over without a copy, both ways")
    func noCopies() throws {
        let pixels = [UInt8](repeating: 9, count: 1 << 20)
        let (bytes, buffers) = try encode(pixels)
        #expect(buffers.count == 1)
        let sent = pixels.withUnsafeBufferPointer { $0.baseAddress }
        #expect(buffers[0].withUnsafeBytes { $0.baseAddress } == UnsafeRawPointer(sent), "the encoder copied the array")
        let received = try transported(buffers)
        let decoded = try WireDecoder().decode([UInt8].self, from: bytes[...], outOfBand: received)
        #expect(decoded.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } == received[0].withUnsafeBytes { $0.baseAddress },
                "the decoder copied the buffer")
        #expect(decoded == pixels)
    }

    @Test("a missing, extra-index or mismatched buffer is a clear error, never a crash")
    func badBuffers() throws {
        let (bytes, buffers) = try encode(sample)
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Sample.self, from: bytes) }
        #expect(throws: DecodingError.self) {
            try WireDecoder().decode(Sample.self, from: bytes[...], outOfBand: Array(buffers.dropLast()))
        }
        let swapped = [buffers[1], buffers[0]] + buffers.dropFirst(2)
        let error = #expect(throws: DecodingError.self) {
            try WireDecoder().decode(Sample.self, from: bytes[...], outOfBand: swapped)
        }
        #expect("\(String(describing: error))".contains("out-of-band buffer 0"))
        let short = try WireBuffer(kind: buffers[0].kind, count: 10) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        #expect(throws: DecodingError.self) {
            try WireDecoder().decode(Sample.self, from: bytes[...], outOfBand: [short] + buffers.dropFirst())
        }
        // Every truncation of the message fails cleanly.
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self) {
                try WireDecoder().decode(Sample.self, from: bytes.prefix(length), outOfBand: buffers)
            }
        }
    }

    @Test("a buffer decodes as another array type by copying, and is refused where no array is expected")
    func otherTypes() throws {
        let (bytes, buffers) = try encode([UInt8](repeating: 1, count: 4_096))
        #expect(try WireDecoder().decode(Data.self, from: bytes[...], outOfBand: buffers) == Data(repeating: 1, count: 4_096))
        #expect(try WireDecoder().decode(ContiguousArray<UInt8>.self, from: bytes[...], outOfBand: buffers).count == 4_096)
        #expect(throws: DecodingError.self) { try WireDecoder().decode(String.self, from: bytes[...], outOfBand: buffers) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode([Double].self, from: bytes[...], outOfBand: buffers) }
    }

    @Test("kinds: every wire byte of a trivial number, and nothing else")
    func kinds() {
        #expect(WireBuffer.Kind(rawValue: 0x23)?.elementSize == 8)
        #expect(WireBuffer.Kind(rawValue: 0x10)?.description == "UInt8")
        #expect(WireBuffer.Kind(rawValue: 0x7F) == nil)
    }
}
