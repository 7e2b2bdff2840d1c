import ClusterFuturesWire
import Foundation
import Testing

@Suite("Round trips")
struct RoundTripTests {
    @Test("integers of every width at min, max, zero and ±1", arguments: WireFormat.allCases)
    func integers(format: WireFormat) throws {
        func check<I: FixedWidthInteger & Codable>(_: I.Type) throws {
            for value in [I.min, I.max, 0, 1, I.min / 2, I.max / 2] + (I.isSigned ? [-1] : []) {
                #expect(try roundTrip(value, format) == value, "\(I.self) \(value)")
            }
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
    }

    @Test("128-bit integers")
    func integers128() throws {
        for value: Int128 in [.min, .max, 0, -1, Int128(Int64.min) - 1, Int128(Int64.max) + 1] {
            #expect(try roundTrip(value) == value)
        }
        for value: UInt128 in [.min, .max, UInt128(UInt64.max) + 1] {
            #expect(try roundTrip(value) == value)
        }
    }

    @Test("Float and Double, including NaN, infinities and -0.0", arguments: WireFormat.allCases)
    func floatingPoint(format: WireFormat) throws {
        let doubles: [Double] = [
            0, -0.0, 1.5, -2.25, .pi, .infinity, -.infinity, .nan, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude, .ulpOfOne,
        ]
        for value in doubles {
            let back = try roundTrip(value, format)
            if format == .binary {
                #expect(back.bitPattern == value.bitPattern, "\(value)")
            } else {
                #expect(back == value || (back.isNaN && value.isNaN), "\(value)")
            }
        }
        let floats: [Float] = [0, -0.0, 1.5, .infinity, -.infinity, .nan, .greatestFiniteMagnitude]
        for value in floats {
            let back = try roundTrip(value, format)
            if format == .binary {
                #expect(back.bitPattern == value.bitPattern, "\(value)")
            } else {
                #expect(back == value || (back.isNaN && value.isNaN), "\(value)")
            }
        }
        // A NaN payload survives the binary format bit for bit, also inside a bulk array.
        let payloadNaN = Double(nan: 0x1234, signaling: false)
        #expect(try roundTrip([payloadNaN, -0.0]).map(\.bitPattern) == [payloadNaN.bitPattern, (-0.0).bitPattern])
    }

    @Test("Bool", arguments: WireFormat.allCases)
    func bools(format: WireFormat) throws {
        #expect(try roundTrip(true, format) == true)
        #expect(try roundTrip(false, format) == false)
        #expect(try roundTrip([true, false, true], format) == [true, false, true])
    }

    @Test(
        "Strings with any Unicode",
        arguments: [
            "", "plain ascii", "emoji 🧬👩‍👩‍👧‍👦🇯🇵", "combining e\u{301} a\u{30A}\u{301}", "nul\u{0}inside\u{0}",
            "\u{FEFF}bom", String(repeating: "long-ish ", count: 500), "日本語テキスト", "\u{10FFFF}",
        ])
    func strings(value: String) throws {
        for format in WireFormat.allCases {
            let back = try roundTrip(value, format)
            #expect(back == value)
            #expect(Array(back.utf8) == Array(value.utf8))
        }
    }

    @Test("Optionals, including nested .some(nil)")
    func optionals() throws {
        let values: [Int??] = [nil, .some(nil), .some(.some(7))]
        for value in values {
            #expect(try roundTrip(value) == value, "\(String(describing: value))")
        }
        let triple: [Int???] = [nil, .some(nil), .some(.some(nil)), .some(.some(.some(3)))]
        #expect(try roundTrip(triple) == triple)

        struct Holder: Codable, Equatable {
            var a: Int?
            var b: Int??
            var c: String??
            var d: [Int?]
        }
        let holders = [
            Holder(a: nil, b: nil, c: nil, d: []),
            Holder(a: 1, b: .some(nil), c: .some(nil), d: [nil, 1, nil]),
            Holder(a: 2, b: .some(5), c: .some("x"), d: [3]),
        ]
        for holder in holders {
            #expect(try roundTrip(holder) == holder)
        }
        // JSON cannot keep .some(nil) apart from nil; the fields it can represent do survive.
        let plain = Holder(a: nil, b: .some(5), c: nil, d: [nil, 2])
        #expect(try roundTrip(plain, .json) == plain)
    }

    @Test("top-level nil and primitives", arguments: WireFormat.allCases)
    func topLevel(format: WireFormat) throws {
        let none: Int? = nil
        #expect(try roundTrip(none, format) == nil)
        #expect(try roundTrip(Optional(5), format) == 5)
        #expect(try roundTrip("top", format) == "top")
        #expect(try roundTrip(42, format) == 42)
        // nil is a single tag after the header.
        #expect(try wire(none) == [0x01, 0x00])
    }

    @Test("nested structs, arrays and dictionaries", arguments: WireFormat.allCases)
    func nested(format: WireFormat) throws {
        struct Inner: Codable, Equatable {
            var x: [Int]
            var m: [String: [Double]]
        }
        struct Outer: Codable, Equatable {
            var inners: [Inner]
            var grid: [[Float]]
            var empty: [String]
            var emptyMap: [String: Int]
            var set: Set<String>
            var particle: Particle
        }
        let value = Outer(
            inners: [Inner(x: [1, 2, 3], m: ["a": [1, 2], "b": []]), Inner(x: [], m: [:])],
            grid: [[1, 2], [], [3.5]],
            empty: [],
            emptyMap: [:],
            set: ["p", "q"],
            particle: Particle(id: 1, name: "n", position: [1, 2, 3], charge: nil, tags: ["t"]))
        #expect(try roundTrip(value, format) == value)
        #expect(try roundTrip([[String]](), format) == [])
        #expect(try roundTrip([[1], [], [2, 3]] as [[Int]], format) == [[1], [], [2, 3]])
        #expect(try roundTrip(ContiguousArray([1.5, 2.5]), format) == ContiguousArray([1.5, 2.5]))
        #expect(try roundTrip(ContiguousArray(["a", "b"]), format) == ContiguousArray(["a", "b"]))
    }

    @Test("dictionaries with non-String keys", arguments: WireFormat.allCases)
    func dictionaries(format: WireFormat) throws {
        let byInt: [Int: String] = [1: "one", -5: "minus five", 1_000_000: "big"]
        #expect(try roundTrip(byInt, format) == byInt)
        let byUUID: [UUID: Int] = [UUID(): 1, UUID(): 2]
        #expect(try roundTrip(byUUID, format) == byUUID)
        let byColor: [Color: Int] = [.red: 1, .green: 2]
        #expect(try roundTrip(byColor, format) == byColor)
        let byPlanet: [Planet: [String]] = [.mercury: ["hot"], .venus: []]
        #expect(try roundTrip(byPlanet, format) == byPlanet)
        let byShape: [Shape: Int] = [.point: 1, .circle(radius: 2): 2]
        #expect(try roundTrip(byShape, format) == byShape)
        let byDouble: [Double: Bool] = [1.5: true, -0.25: false]
        #expect(try roundTrip(byDouble, format) == byDouble)
    }

    @Test("enums with associated and raw values", arguments: WireFormat.allCases)
    func enums(format: WireFormat) throws {
        let shapes: [Shape] = [.circle(radius: 1.5), .rect(width: 2, height: 3), .labeled("l", -4), .point]
        #expect(try roundTrip(shapes, format) == shapes)
        for shape in shapes {
            #expect(try roundTrip(shape, format) == shape)
        }
        #expect(try roundTrip([Level.low, .high], format) == [.low, .high])
        #expect(try roundTrip(Suit.spades, format) == .spades)
    }

    @Test("Data, Date, URL, UUID, Decimal", arguments: WireFormat.allCases)
    func foundationTypes(format: WireFormat) throws {
        let data = Data((0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) })
        #expect(try roundTrip(data, format) == data)
        #expect(try roundTrip(Data(), format) == Data())
        let date = Date(timeIntervalSinceReferenceDate: 712_345_678.125)
        #expect(try roundTrip(date, format) == date)
        let url = try #require(URL(string: "https://example.com/a%20b?q=1#frag"))
        #expect(try roundTrip(url, format) == url)
        let relative = try #require(URL(string: "sub/page.html", relativeTo: URL(string: "https://example.com/base/")))
        #expect(try roundTrip(relative, format).absoluteString == relative.absoluteString)
        let uuid = UUID()
        #expect(try roundTrip(uuid, format) == uuid)
        for decimal in [Decimal(string: "12345.6789"), Decimal(string: "-0.000001"), Decimal(0)] {
            let value = try #require(decimal)
            #expect(try roundTrip(value, format) == value)
        }
        struct Record: Codable, Equatable {
            var data: Data
            var when: Date
            var id: UUID
        }
        let record = Record(data: Data([1, 2, 3]), when: date, id: uuid)
        #expect(try roundTrip(record, format) == record)
    }

    @Test("classes, recursive references")
    func recursiveClass() throws {
        let list = Box(value: 1, next: Box(value: 2, next: Box(value: 3)))
        #expect(try roundTrip(list) == list)
        #expect(try roundTrip(list, .json) == list)
    }

    @Test("very large collections")
    func large() throws {
        let ints = (0..<1_000_000).map { $0 &* 2_654_435_761 }
        #expect(try roundTrip(ints) == ints)
        let bytes = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0) }
        #expect(try roundTrip(bytes) == bytes)
        let optionals: [Int32?] = (0..<200_000).map { $0 % 3 == 0 ? nil : Int32($0) }
        #expect(try roundTrip(optionals) == optionals)
        let strings = (0..<100_000).map { "s\($0)" }
        #expect(try roundTrip(strings) == strings)
        let byInt = Dictionary(uniqueKeysWithValues: (0..<50_000).map { ($0, "v\($0)") })
        #expect(try roundTrip(byInt) == byInt)
    }

    @Test("encode(_:appendingTo:) keeps the prefix and decodes from a slice")
    func appending() throws {
        var buffer: [UInt8] = [0xAA, 0xBB, 0xCC]
        let particle = Particle(id: 3, name: "p", position: [1, 2, 3], charge: 0.5, tags: ["x", "y"])
        try WireEncoder().encode(particle, appendingTo: &buffer)
        #expect(Array(buffer.prefix(3)) == [0xAA, 0xBB, 0xCC])
        #expect(Array(buffer.dropFirst(3)) == (try wire(particle)))
        #expect(try WireDecoder().decode(Particle.self, from: buffer[3...]) == particle)
        let fromPointer = try buffer.withUnsafeBytes {
            try WireDecoder().decode(Particle.self, from: UnsafeRawBufferPointer(rebasing: $0[3...]))
        }
        #expect(fromPointer == particle)
    }

    @Test("WireCodec reports its format")
    func codecFormat() {
        #expect(WireCodec().format == .binary)
        #expect(WireCodec(format: .json).format == .json)
        #expect(WireLimits.default.maxDepth == 64)
        #expect(WireLimits.default.allocationPerInputByte == 32)
        #expect(WireLimits.default.allocationAllowance == 65_536)
    }
}
