import ClusterFuturesWire
import Foundation
import Testing

@Suite("Bulk arrays")
struct BulkTests {
    /// Header, bulk tag, kind, varint count, then exactly `count * size` raw bytes.
    func expectedBulkSize(count: Int, size: Int) -> Int { 3 + varintSize(count) + count * size }

    @Test("trivial numeric arrays are raw little-endian bytes")
    func layout() throws {
        let doubles = (0..<131_072).map { Double($0) / 3 }
        let bytes = try wire(doubles)
        #expect(bytes.count == expectedBulkSize(count: doubles.count, size: 8))
        // The raw payload is the little-endian bit pattern of each element.
        let payloadStart = 3 + varintSize(doubles.count)
        let second = bytes[(payloadStart + 8)..<(payloadStart + 16)].enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        #expect(second == doubles[1].bitPattern)

        #expect(try wire([Int16](repeating: -1, count: 10)).count == expectedBulkSize(count: 10, size: 2))
        #expect(try wire([UInt8](repeating: 7, count: 1000)).count == expectedBulkSize(count: 1000, size: 1))
        #expect(try wire(Data(count: 1000)).count == expectedBulkSize(count: 1000, size: 1))
        #expect(try wire([Float](repeating: 1, count: 5)).count == expectedBulkSize(count: 5, size: 4))
        #expect(try wire(ContiguousArray<Int>(repeating: 1, count: 5)).count == expectedBulkSize(count: 5, size: 8))
        #expect(try wire([Double]()).count == expectedBulkSize(count: 0, size: 8))
    }

    @Test("every trivial element type round-trips at its extremes")
    func everyKind() throws {
        func check<E: FixedWidthInteger & Codable>(_: E.Type) throws {
            let values: [E] = [.min, .max, 0, 1, .max / 3]
            #expect(try roundTrip(values) == values, "\(E.self)")
            #expect(try wire(values).count == expectedBulkSize(count: values.count, size: MemoryLayout<E>.size))
        }
        try check(Int.self)
        try check(Int8.self)
        try check(Int16.self)
        try check(Int32.self)
        try check(Int64.self)
        try check(UInt.self)
        try check(UInt8.self)
        try check(UInt16.self)
        try check(UInt32.self)
        try check(UInt64.self)
        let floats: [Float] = [1.5, -.infinity, .nan, -0.0]
        #expect(try roundTrip(floats).map(\.bitPattern) == floats.map(\.bitPattern))
    }

    @Test("the fast path also applies when nested in structs and arrays")
    func nested() throws {
        struct Holder: Codable, Equatable {
            var label: String
            var samples: [Double]
            var raw: Data
            var bytes: [UInt8]
        }
        let holder = Holder(
            label: "h", samples: (0..<1000).map(Double.init), raw: Data(count: 500),
            bytes: [UInt8](repeating: 1, count: 300))
        let encoded = try wire(holder)
        #expect(try WireDecoder().decode(Holder.self, from: encoded) == holder)
        // 8000 + 500 + 300 payload bytes; element-wise tagged encoding would need far more.
        #expect(encoded.count < 8000 + 500 + 300 + 64)

        let grid = (0..<10).map { row in (0..<100).map { Float(row * 100 + $0) } }
        let gridBytes = try wire(grid)
        #expect(try WireDecoder().decode([[Float]].self, from: gridBytes) == grid)
        #expect(gridBytes.count < 10 * 400 + 64)
    }

    @Test("a bulk array can be read as another numeric element type when every value fits")
    func conversions() throws {
        let ints = try wire([1, -2, 300])
        #expect(try WireDecoder().decode([Int64].self, from: ints) == [1, -2, 300])
        #expect(try WireDecoder().decode([Int16].self, from: ints) == [1, -2, 300])
        #expect(try WireDecoder().decode([Double].self, from: ints) == [1, -2, 300])
        #expect(throws: DecodingError.self) { try WireDecoder().decode([Int8].self, from: ints) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode([UInt].self, from: ints) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode([String].self, from: ints) }
        // Set<Int> reads elements through an unkeyed container over the bulk bytes.
        #expect(try WireDecoder().decode(Set<Int>.self, from: ints) == [1, -2, 300])
    }
}
