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

/// A recursive value of random shape for the depth fuzz cases.
indirect enum Tree: Codable, Equatable {
    case leaf(Int)
    case text(String)
    case list([Tree])
    case object([String: Tree])
    case maybe(Tree?)

    /// The decoder's deepest nesting count for this value: one per `Tree`, one more per array or
    /// dictionary.
    var counts: Int {
        switch self {
        case .leaf, .text, .maybe(nil): return 1
        case .list(let children): return 2 + (children.map(\.counts).max() ?? 0)
        case .object(let children): return 2 + (children.values.map(\.counts).max() ?? 0)
        case .maybe(let child?): return 1 + child.counts
        }
    }

    /// A random tree of at most `depth` levels and about `budget` nodes.
    static func random(depth: Int, budget: inout Int, using rng: inout SplitMix64) -> Tree {
        budget -= 1
        guard depth > 1, budget > 0 else {
            return rng.next() % 2 == 0 ? .leaf(Int(truncatingIfNeeded: rng.next())) : .text(String(rng.next() % 1000))
        }
        switch rng.next() % 16 {
        case 0: return .leaf(Int(truncatingIfNeeded: rng.next()))
        case 1: return .text("t\(rng.next() % 100)")
        case 2, 3, 4, 5, 6:
            // Mostly one child (deep), sometimes several (wide).
            let width = rng.next() % 4 == 0 ? Int(rng.next() % 6) : 1
            return .list((0..<width).map { _ in random(depth: depth - 1, budget: &budget, using: &rng) })
        case 7, 8, 9, 10, 11:
            let width = rng.next() % 4 == 0 ? Int(rng.next() % 6) : 1
            var children: [String: Tree] = [:]
            for i in 0..<width { children["k\(i)"] = random(depth: depth - 1, budget: &budget, using: &rng) }
            return .object(children)
        case 12: return .maybe(nil)
        default: return .maybe(random(depth: depth - 1, budget: &budget, using: &rng))
        }
    }
}

/// One level of a hand-built nested message and the keys it refers to.
private enum Wrapper: CaseIterable {
    /// `{next: inner}`: `OptionalFieldNode`.
    case field
    /// `{children: [inner]}`: `ArrayNode`, `OptionalElementNode`.
    case array
    /// `{node: {_0: inner}}`: `EnumNode`.
    case enumCase
    /// `{map: {k: inner}}`: `DictionaryNode`.
    case dictionary
    /// `[inner]`: `UnkeyedNode`.
    case unkeyed
    /// `.some` marker before inner.
    case some

    static let keys = ["next", "children", "node", "_0", "map", "k", "probe"]

    /// `inner` wrapped in this level.
    func wrap(_ inner: [UInt8]) -> [UInt8] {
        func keyed(_ key: Int, _ value: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = [0x08]
            appendVarint(UInt64(value.count + 1), to: &bytes)
            return bytes + [UInt8(key)] + value
        }
        func unkeyed(_ value: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = [0x09]
            appendVarint(UInt64(value.count + 1), to: &bytes)
            return bytes + [0x01] + value
        }
        switch self {
        case .field: return keyed(0, inner)
        case .array: return keyed(1, unkeyed(inner))
        case .enumCase: return keyed(2, keyed(3, inner))
        case .dictionary: return keyed(4, keyed(5, inner))
        case .unkeyed: return unkeyed(inner)
        case .some: return [0x0B] + inner
        }
    }
}

extension FuzzTests {
    @Test("random deep and wide trees decode on a 512 KiB stack, or throw the depth error")
    func deepTrees() throws {
        let maxDepth = WireLimits.default.maxDepth
        let (decoded, refused) = try onThread(stackSize: 512 * 1024, timeout: 300) { () -> (Int, Int) in
            var rng = SplitMix64(seed: 0xDEE9)
            var decoded = 0
            var refused = 0
            for _ in 0..<1000 {
                var budget = Int(rng.next() % 400) + 1
                let tree = Tree.random(depth: Int(rng.next() % 60) + 1, budget: &budget, using: &rng)
                // The encoder has no depth limit: keep within what it can do on this stack.
                guard tree.counts <= maxDepth * 3 / 2 else { continue }
                let bytes = try WireEncoder().encode(tree)
                do {
                    let back = try WireDecoder().decode(Tree.self, from: bytes)
                    guard tree.counts <= maxDepth, back == tree else { throw ThreadTimeout(seconds: 0) }
                    decoded += 1
                } catch let error where isDepthError(error) {
                    guard tree.counts > maxDepth else { throw error }
                    refused += 1
                }
            }
            return (decoded, refused)
        }
        print("deep trees: \(decoded) decoded, \(refused) refused as too deep")
        #expect(decoded > 100)
        #expect(refused > 20)
    }

    @Test("random nested messages thousands of levels deep throw on a 512 KiB stack, never crash")
    func deepMessages() throws {
        let outcomes = try onThread(stackSize: 512 * 1024, timeout: 300) { () -> [String: Int] in
            var rng = SplitMix64(seed: 0xD00D)
            var outcomes: [String: Int] = [:]
            var keyTable: [UInt8] = []
            appendVarint(UInt64(Wrapper.keys.count), to: &keyTable)
            for key in Wrapper.keys {
                appendVarint(UInt64(key.utf8.count), to: &keyTable)
                keyTable += Array(key.utf8)
            }
            let leaves: [[UInt8]] = [[0x00], [0x01], [0x03, 0x02], [0x07, 0x00], [0x08, 0x00], [0x09, 0x01, 0x00], [0x0A, 0x23, 0x00]]
            for round in 0..<300 {
                let levels = Int(rng.next() % 3000) + 1
                // Half the messages repeat one level all the way down, half mix them.
                let single = round % 2 == 0 ? Wrapper.allCases[Int(rng.next() % 6)] : nil
                var bytes = leaves[Int(rng.next() % UInt64(leaves.count))]
                for _ in 0..<levels {
                    bytes = (single ?? Wrapper.allCases[Int(rng.next() % 6)]).wrap(bytes)
                }
                let message = [0x02] + bytes + keyTable
                func attempt<T: Decodable>(_: T.Type) {
                    do {
                        _ = try WireDecoder().decode(T.self, from: message)
                        outcomes["decoded", default: 0] += 1
                    } catch {
                        outcomes[isDepthError(error) ? "too deep" : "other error", default: 0] += 1
                    }
                }
                attempt(OptionalFieldNode.self)
                attempt(ArrayNode.self)
                attempt(OptionalElementNode.self)
                attempt(EnumNode.self)
                attempt(DictionaryNode.self)
                attempt(UnkeyedNode.self)
                attempt(Tree.self)
            }
            return outcomes
        }
        print("deep messages: \(outcomes.sorted { $0.key < $1.key })")
        #expect(outcomes["too deep", default: 0] > 100)
    }

    @Test("random runs of cheap elements as expensive values throw the budget error or decode, never crash")
    func cheapElements() throws {
        var rng = SplitMix64(seed: 0xB0D6E7)
        let cheap: [[UInt8]] = [[0x00], [0x07, 0x00], [0x08, 0x00], [0x09, 0x01, 0x00], [0x0A, 0x23, 0x00], [0x01]]
        var outcomes: [String: Int] = [:]
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<60 {
            let count = Int(rng.next() % 300_000) + 1
            let mixed = rng.next() % 2 == 0
            let only = cheap[Int(rng.next() % UInt64(cheap.count))]
            var body: [UInt8] = []
            appendVarint(UInt64(count), to: &body)
            for _ in 0..<count { body += mixed ? cheap[Int(rng.next() % UInt64(cheap.count))] : only }
            var message: [UInt8] = [0x01, 0x09]
            appendVarint(UInt64(body.count), to: &message)
            message += body
            func attempt<T: Decodable>(_: T.Type) {
                do {
                    _ = try WireDecoder().decode(T.self, from: message)
                    outcomes["decoded", default: 0] += 1
                } catch {
                    outcomes[isBudgetError(error) ? "over budget" : "other error", default: 0] += 1
                }
            }
            attempt([Outer?].self)
            attempt([Sparse].self)
            attempt(Bag<Sparse?>.self)
            attempt([[Outer?]?].self)
            attempt([String?].self)
            attempt(ContiguousArray<Sparse?>.self)
        }
        print("cheap elements: \(outcomes.sorted { $0.key < $1.key }) in \(clock.now - start)")
        #expect(outcomes["over budget", default: 0] > 20)
        #expect(outcomes["decoded", default: 0] > 5)
    }
}
