import ClusterFuturesWire
import Foundation
import Testing

/// Written in one key order, read by a custom `init(from:)` in another.
private struct Ordered: Codable, Equatable {
    var a: Int
    var b: String
    var c: [Double]
    var d: Bool?

    enum CodingKeys: String, CodingKey { case a, b, c, d }

    init(a: Int, b: String, c: [Double], d: Bool?) {
        self.a = a
        self.b = b
        self.c = c
        self.d = d
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        d = try container.decodeIfPresent(Bool.self, forKey: .d)
        c = try container.decode([Double].self, forKey: .c)
        a = try container.decode(Int.self, forKey: .a)
        b = try container.decode(String.self, forKey: .b)
    }
}

/// Reads a subset of keys and inspects the container.
private struct Inspector: Decodable {
    var keys: Set<String>
    var hasB: Bool
    var hasZ: Bool
    var dIsNil: Bool
    var missingZ: Int?
    var b: String

    enum Keys: String, CodingKey { case a, b, c, d, z }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        keys = Set(container.allKeys.map(\.stringValue))
        hasB = container.contains(.b)
        hasZ = container.contains(.z)
        dIsNil = try container.decodeNil(forKey: .d)
        missingZ = try container.decodeIfPresent(Int.self, forKey: .z)
        b = try container.decode(String.self, forKey: .b)
    }
}

class Animal: Codable {
    var name: String
    init(name: String) { self.name = name }
}

/// Shares its encoder's keyed container with its superclass.
final class Dog: Animal, Equatable {
    var breed: String
    enum Keys: String, CodingKey { case breed }

    init(name: String, breed: String) {
        self.breed = breed
        super.init(name: name)
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        breed = try container.decode(String.self, forKey: .breed)
        try super.init(from: decoder)
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(breed, forKey: .breed)
        try super.encode(to: encoder)
    }

    static func == (a: Dog, b: Dog) -> Bool { a.name == b.name && a.breed == b.breed }
}

/// Puts its superclass under "super" with `superEncoder()` / `superDecoder()`.
final class Cat: Animal, Equatable {
    var lives: Int
    enum Keys: String, CodingKey { case lives }

    init(name: String, lives: Int) {
        self.lives = lives
        super.init(name: name)
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        lives = try container.decode(Int.self, forKey: .lives)
        try super.init(from: try container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(lives, forKey: .lives)
        try super.encode(to: container.superEncoder())
    }

    static func == (a: Cat, b: Cat) -> Bool { a.name == b.name && a.lives == b.lives }
}

/// Opens a nested container, writes to the parent, then writes to the nested one.
private struct Interleaved: Codable, Equatable {
    enum Keys: String, CodingKey { case nested, after, inner }
    var inner: Int
    var after: Int

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .nested)
        try container.encode(after, forKey: .after)
        try nested.encode(inner, forKey: .inner)
    }

    init(inner: Int, after: Int) {
        self.inner = inner
        self.after = after
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        after = try container.decode(Int.self, forKey: .after)
        inner = try container.nestedContainer(keyedBy: Keys.self, forKey: .nested).decode(Int.self, forKey: .inner)
    }
}

/// Writes nested containers completely before going back to the parent.
private struct Sequential: Codable, Equatable {
    enum Keys: String, CodingKey { case nested, list, after, inner }
    var inner: Int
    var list: [String]
    var after: Int

    init(inner: Int, list: [String], after: Int) {
        self.inner = inner
        self.list = list
        self.after = after
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .nested)
        try nested.encode(inner, forKey: .inner)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        for item in self.list { try list.encode(item) }
        var deeper = list.nestedUnkeyedContainer()
        try deeper.encode(1)
        try container.encode(after, forKey: .after)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        after = try container.decode(Int.self, forKey: .after)
        inner = try container.nestedContainer(keyedBy: Keys.self, forKey: .nested).decode(Int.self, forKey: .inner)
        var list = try container.nestedUnkeyedContainer(forKey: .list)
        var items: [String] = []
        #expect(list.count == 3)
        while list.currentIndex < (list.count ?? 0) - 1 {
            items.append(try list.decode(String.self))
        }
        var deeper = try list.nestedUnkeyedContainer()
        #expect(try deeper.decode(Int.self) == 1)
        #expect(deeper.isAtEnd)
        #expect(list.isAtEnd)
        self.list = items
    }
}

@Suite("Containers")
struct ContainerTests {
    @Test("keys read in a different order than written, and an omitted optional key")
    func outOfOrder() throws {
        for format in WireFormat.allCases {
            let full = Ordered(a: 1, b: "two", c: [3, 4], d: true)
            #expect(try roundTrip(full, format) == full)
            let missing = Ordered(a: -1, b: "", c: [], d: nil)
            #expect(try roundTrip(missing, format) == missing)
        }
        // encodeIfPresent really omitted the key: the encoding is shorter than with the key.
        let without = try wire(Ordered(a: 1, b: "b", c: [], d: nil))
        let with = try wire(Ordered(a: 1, b: "b", c: [], d: false))
        #expect(without.count < with.count)
    }

    @Test("contains, allKeys, decodeNil and decodeIfPresent of a missing key")
    func inspection() throws {
        struct Source: Encodable {
            enum Keys: String, CodingKey { case a, b, d }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try container.encode("bee", forKey: .b)
                try container.encodeNil(forKey: .d)
            }
        }
        for format in WireFormat.allCases {
            let codec = WireCodec(format: format)
            let inspected = try codec.decode(Inspector.self, from: try codec.encode(Source()))
            #expect(inspected.keys == ["a", "b", "d"])
            #expect(inspected.hasB)
            #expect(!inspected.hasZ)
            #expect(inspected.dIsNil)
            #expect(inspected.missingZ == nil)
            #expect(inspected.b == "bee")
        }
    }

    @Test("a missing required key throws keyNotFound")
    func missingRequired() throws {
        struct Small: Codable { var a: Int }
        struct Big: Codable { var a: Int; var b: Int }
        let bytes = try wire(Small(a: 1))
        #expect {
            _ = try WireDecoder().decode(Big.self, from: bytes)
        } throws: { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return false }
            return key.stringValue == "b"
        }
    }

    @Test("subclass and superclass share one keyed container")
    func sharedSuperContainer() throws {
        let dog = Dog(name: "Rex", breed: "collie")
        for format in WireFormat.allCases {
            #expect(try roundTrip(dog, format) == dog)
        }
        // Both classes' keys are in the one container: it can be read as a flat struct.
        struct Flat: Decodable { var name: String; var breed: String }
        let flat = try WireDecoder().decode(Flat.self, from: try wire(dog))
        #expect(flat.name == "Rex")
        #expect(flat.breed == "collie")
    }

    @Test("superEncoder() and superDecoder()")
    func superEncoder() throws {
        let cat = Cat(name: "Tom", lives: 9)
        for format in WireFormat.allCases {
            #expect(try roundTrip(cat, format) == cat)
        }
        struct Nested: Decodable {
            struct Base: Decodable { var name: String }
            var lives: Int
            var base: Base
            enum CodingKeys: String, CodingKey { case lives, base = "super" }
        }
        let nested = try WireDecoder().decode(Nested.self, from: try wire(cat))
        #expect(nested.base.name == "Tom")
        #expect(nested.lives == 9)
    }

    @Test("nested containers finished before the parent is written again")
    func sequentialNested() throws {
        let value = Sequential(inner: 5, list: ["x", "y"], after: 6)
        for format in WireFormat.allCases {
            #expect(try roundTrip(value, format) == value)
        }
    }

    @Test("interleaved container writes: JSON supports them, the binary format throws EncodingError")
    func interleaved() throws {
        let value = Interleaved(inner: 1, after: 2)
        #expect(try roundTrip(value, .json) == value)
        #expect {
            _ = try WireEncoder().encode(value)
        } throws: { error in
            error is EncodingError && describe(error).contains("interleaved container writes are not supported")
        }
        // A failed encode leaves an appended-to buffer as it was.
        var buffer: [UInt8] = [9, 9]
        #expect(throws: EncodingError.self) { try WireEncoder().encode(value, appendingTo: &buffer) }
        #expect(buffer == [9, 9])
    }

    @Test("a value whose encode(to:) writes nothing decodes as an empty keyed container")
    func emptyEncode() throws {
        struct Nothing: Codable, Equatable {}
        #expect(try roundTrip(Nothing()) == Nothing())
        #expect(try roundTrip([Nothing(), Nothing()]) == [Nothing(), Nothing()])
    }

    @Test("coding paths in errors name the failing field")
    func codingPath() throws {
        struct Wrong: Decodable { var items: [Int] }
        struct Right: Encodable { var items: [String] }
        let bytes = try wire(Right(items: ["a"]))
        #expect {
            _ = try WireDecoder().decode(Wrong.self, from: bytes)
        } throws: { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["items", "Index 0"]
                && context.debugDescription.contains("expected integer, found string")
        }
    }
}
