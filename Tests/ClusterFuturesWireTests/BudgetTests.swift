import ClusterFuturesWire
import Foundation
import Testing

/// A struct much wider than the default 32 bytes per input byte, as an optional array element.
struct Outer: Codable, Equatable {
    var id: Int
    var name: String
    var position: [Double]
    var inner: Inner?
    var note: String?
    var weights: SIMD8<Double>?

    struct Inner: Codable, Equatable {
        var a: Int
        var b: String
        var c: Double
    }
}

/// A struct of optional fields only: decodes from an empty keyed container (2 bytes).
struct Sparse: Codable {
    var a: Int?
    var b: String?
    var c: [Double]?
    var d: Double?
    var e: String?
    var f: Int?
    var g: [String]?
    var h: Bool?
}

/// A collection read element by element through `UnkeyedDecodingContainer.decode(_:)`, as
/// collections without a special reader are (`Set`, `Deque`, user types).
struct Bag<Element: Decodable>: Decodable {
    var elements: [Element] = []

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        while !container.isAtEnd { elements.append(try container.decode(Element.self)) }
    }
}

/// Whether `error` is the decoder's allocation budget error.
func isBudgetError(_ error: any Error) -> Bool {
    guard case DecodingError.dataCorrupted = error else { return false }
    return describe(error).hasPrefix("decoding would allocate more than")
}

/// A message of exactly `total` bytes: an unkeyed container (`0x01 0x09 len count ...`) of
/// `element` repeated, padded with nils (one byte each) to `total`. Returns the element count.
func repeatedElements(_ element: [UInt8], total: Int) -> (message: [UInt8], count: Int) {
    var repeats = (total - 22) / element.count
    while true {
        var padding = 0
        while true {
            let count = repeats + padding
            let bodyLength = varintSize(count) + repeats * element.count + padding
            let length = 2 + varintSize(bodyLength) + bodyLength
            if length == total {
                var message: [UInt8] = [0x01, 0x09]
                message.reserveCapacity(total)
                appendVarint(UInt64(bodyLength), to: &message)
                appendVarint(UInt64(count), to: &message)
                for _ in 0..<repeats { message += element }
                message += [UInt8](repeating: 0x00, count: padding)
                return (message, count)
            }
            if length > total { break }
            padding += 1
        }
        repeats -= 1
    }
}

@Suite("Allocation budget")
struct BudgetTests {
    @Test("1 MiB of nils decoded as [Outer?] throws the budget error before allocating")
    func zerosAsOptionalStructs() throws {
        #expect(MemoryLayout<Outer?>.stride > WireLimits.default.allocationPerInputByte)
        // 1 MiB of zero bytes is not even a message; as the body of an unkeyed container, it is a
        // million nils.
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        #expect(throws: DecodingError.self) { try WireDecoder().decode([Outer?].self, from: zeros) }
        let (message, count) = nilsMessage(total: 1 << 20)
        #expect(message.count == 1 << 20)
        let clock = ContinuousClock()
        let start = clock.now
        let budget = WireLimits.default.allocationBudget(forInputBytes: message.count)
        #expect(budget == 32 * (1 << 20) + 65_536)
        #expect(count * MemoryLayout<Outer?>.stride > budget)
        #expect {
            _ = try WireDecoder().decode([Outer?].self, from: message)
        } throws: { error in
            print("budget error: \(describe(error))")
            return isBudgetError(error)
                && describe(error).contains("more than \(budget) bytes for a message of \(1 << 20) bytes at offset 1")
        }
        // The same through the element-by-element reader, and as a ContiguousArray.
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Bag<Outer?>.self, from: message) }
        #expect(throws: DecodingError.self) { try WireDecoder().decode(ContiguousArray<Outer?>.self, from: message) }
        #expect(clock.now - start < .seconds(5))
    }

    /// A message of `total` bytes: an unkeyed container of nils.
    func nilsMessage(total: Int) -> (message: [UInt8], count: Int) {
        repeatedElements([0x00], total: total)
    }

    @Test("the budget is the stride times the count: one byte less throws")
    func exactArithmetic() throws {
        let (message, count) = nilsMessage(total: 4096)
        let charged = count * MemoryLayout<Outer?>.stride + 32
        let exact = WireLimits(allocationPerInputByte: 0, allocationAllowance: charged)
        #expect(try WireDecoder(limits: exact).decode([Outer?].self, from: message).count == count)
        let short = WireLimits(allocationPerInputByte: 0, allocationAllowance: charged - 1)
        #expect(performing: { try WireDecoder(limits: short).decode([Outer?].self, from: message) }, throws: isBudgetError)
        // The factor applies to the message's size.
        let perByte = (charged + message.count - 1) / message.count
        let scaled = WireLimits(allocationPerInputByte: perByte, allocationAllowance: 0)
        #expect(try WireDecoder(limits: scaled).decode([Outer?].self, from: message).count == count)
        let scaledShort = WireLimits(allocationPerInputByte: perByte - 1, allocationAllowance: 0)
        #expect(performing: { try WireDecoder(limits: scaledShort).decode([Outer?].self, from: message) }, throws: isBudgetError)
    }

    @Test("allocationBudget(forInputBytes:) saturates and ignores negative settings")
    func budgetFunction() {
        #expect(WireLimits().allocationBudget(forInputBytes: 0) == 65_536)
        #expect(WireLimits().allocationBudget(forInputBytes: 10) == 65_536 + 320)
        #expect(WireLimits(allocationPerInputByte: .max).allocationBudget(forInputBytes: 2) == .max)
        #expect(WireLimits(allocationAllowance: .max).allocationBudget(forInputBytes: 1) == .max)
        #expect(WireLimits(allocationPerInputByte: -5, allocationAllowance: -1).allocationBudget(forInputBytes: 100) == 0)
        #expect(WireLimits(maxDepth: 10) != WireLimits(maxDepth: 10, allocationPerInputByte: 1))
    }

    @Test("adversarial messages of cheap bytes and expensive values throw the budget error quickly")
    func adversarial() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let size = 1 << 20
        // Empty keyed containers (2 bytes each) as structs of eight optional fields.
        let empties = repeatedElements([0x08, 0x00], total: size).message
        #expect(performing: { try WireDecoder().decode([Sparse].self, from: empties) }, throws: isBudgetError)
        #expect(performing: { try WireDecoder().decode(Bag<Sparse>.self, from: empties) }, throws: isBudgetError)
        // Empty strings (2 bytes each) as optional structs: each is a type mismatch, but only after
        // the array was charged.
        let strings = repeatedElements([0x07, 0x00], total: size).message
        #expect(performing: { try WireDecoder().decode([Outer?].self, from: strings) }, throws: isBudgetError)
        // Empty unkeyed containers (3 bytes each, padded with nils) as arrays of optional structs:
        // legal, and cheap (an empty array allocates nothing), so they decode.
        let arrays = repeatedElements([0x09, 0x01, 0x00], total: 64 * 1024)
        #expect(try WireDecoder().decode([[Outer?]?].self, from: arrays.message).count == arrays.count)
        // Nested empty containers: each level is one more charge, and the depth limit ends it.
        var nested: [UInt8] = [0x00]
        for _ in 0..<200 {
            var wrapped: [UInt8] = [0x09]
            appendVarint(UInt64(nested.count + 1), to: &wrapped)
            wrapped += [0x01] + nested
            nested = wrapped
        }
        #expect(throws: DecodingError.self) { try WireDecoder().decode([[[[[[[[[[Outer?]]]]]]]]]].self, from: [0x01] + nested) }
        #expect(performing: { try WireDecoder().decode(UnkeyedNode.self, from: [0x01] + nested) }, throws: isDepthError)
        // A dictionary of a million entries under one key, each nil, as [String: Outer?].
        var entries: [UInt8] = []
        for _ in 0..<(size / 2 - 8) { entries += [0x00, 0x00] }
        var dictionary: [UInt8] = [0x02, 0x08]
        appendVarint(UInt64(entries.count), to: &dictionary)
        dictionary += entries + [0x01, 0x01, UInt8(ascii: "k")]
        #expect(performing: { try WireDecoder().decode([String: Outer?].self, from: dictionary) }, throws: isBudgetError)
        // A key table of a million empty keys, as a struct that reads one of them.
        var keyTable: [UInt8] = [0x02, 0x08, 0x00]
        appendVarint(UInt64(size), to: &keyTable)
        keyTable += [UInt8](repeating: 0, count: size)
        let tableLimits = WireLimits(allocationPerInputByte: 8)
        #expect(performing: { try WireDecoder(limits: tableLimits).decode(Sparse.self, from: keyTable) }, throws: isBudgetError)
        #expect(clock.now - start < .seconds(10))
    }

    @Test("legitimate large messages decode within the default budget")
    func legitimate() throws {
        let doubles = (0..<1_000_000).map { Double($0) }
        #expect(try roundTrip(doubles) == doubles)
        #expect(try roundTrip(ContiguousArray(doubles)) == ContiguousArray(doubles))
        let bytes = Data((0..<1_000_000).map { UInt8(truncatingIfNeeded: $0) })
        #expect(try roundTrip(bytes) == bytes)
        let empties = [String](repeating: "", count: 200_000)
        #expect(try roundTrip(empties) == empties)
        let nils = [Int?](repeating: nil, count: 500_000)
        #expect(try roundTrip(nils) == nils)
        let sparse = [Double?]((0..<200_000).map { $0 % 7 == 0 ? Double($0) : nil })
        #expect(try roundTrip(sparse) == sparse)
        let map = Dictionary(uniqueKeysWithValues: (0..<100_000).map { ("key\($0)", $0) })
        #expect(try roundTrip(map) == map)
        let intMap = Dictionary(uniqueKeysWithValues: (0..<100_000).map { ($0, "v\($0)") })
        #expect(try roundTrip(intMap) == intMap)
        let particles = (0..<20_000).map {
            Particle(id: $0, name: "p\($0)", position: [1, 2, 3], charge: $0 % 2 == 0 ? nil : -1, tags: ["a"])
        }
        #expect(try roundTrip(particles) == particles)
        let outers = (0..<10_000).map {
            Outer(id: $0, name: "o", position: [], inner: $0 % 3 == 0 ? .init(a: 1, b: "b", c: 2) : nil, note: nil, weights: nil)
        }
        #expect(try roundTrip(outers) == outers)
        let nested = (0..<1000).map { i in (0..<(i % 5)).map { [Int8(truncatingIfNeeded: $0)] } }
        #expect(try roundTrip(nested) == nested)
        let set = Set((0..<50_000).map { "s\($0)" })
        #expect(try roundTrip(set) == set)
    }

    @Test("out-of-band buffers count as input: a copy of a large buffer fits the budget")
    func outOfBand() throws {
        let doubles = (0..<1_000_000).map { Double($0) }
        var message: [UInt8] = []
        var buffers: [WireBuffer] = []
        try WireEncoder().encode(doubles, appendingTo: &message, outOfBand: &buffers, minimumBytes: 1024)
        #expect(message.count < 64)
        #expect(try WireDecoder().decode([Double].self, from: message[...], outOfBand: buffers) == doubles)
        let contiguous = try WireDecoder().decode(ContiguousArray<Double>.self, from: message[...], outOfBand: buffers)
        #expect(contiguous == ContiguousArray(doubles))
        // One byte per input byte covers the copy only because the buffer's 8 MB count as input.
        let perByte = WireLimits(allocationPerInputByte: 1, allocationAllowance: 1024)
        #expect(try WireDecoder(limits: perByte).decode(ContiguousArray<Double>.self, from: message[...], outOfBand: buffers).count == doubles.count)
        let allowanceOnly = WireLimits(allocationPerInputByte: 0, allocationAllowance: 1024)
        #expect(performing: {
            try WireDecoder(limits: allowanceOnly).decode(ContiguousArray<Double>.self, from: message[...], outOfBand: buffers)
        }, throws: isBudgetError)
        // The buffer's own array type is handed over without a copy, and charged nothing.
        #expect(try WireDecoder(limits: allowanceOnly).decode([Double].self, from: message[...], outOfBand: buffers) == doubles)
        let bytes = Data(repeating: 7, count: 1 << 20)
        var dataMessage: [UInt8] = []
        var dataBuffers: [WireBuffer] = []
        try WireEncoder().encode([bytes], appendingTo: &dataMessage, outOfBand: &dataBuffers, minimumBytes: 1024)
        #expect(try WireDecoder().decode([Data].self, from: dataMessage[...], outOfBand: dataBuffers) == [bytes])
    }
}
