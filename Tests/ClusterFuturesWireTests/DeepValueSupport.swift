import ClusterFuturesWire
import Dispatch
import Foundation
import Synchronization

// Recursive types, one for each way the decoder recurses, and a runner that decodes them on a
// thread with a small stack.

/// Records the lowest stack address this thread reached since the last `reset()`.
enum StackProbe {
    private static let key = "ClusterFuturesWireTests.StackProbe.lowest"

    /// An address in the frame of this call: the current depth of the stack.
    @inline(never)
    static func address() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    static func record() {
        let here = address()
        let dictionary = Thread.current.threadDictionary
        if let lowest = (dictionary[key] as? NSNumber)?.uintValue, lowest <= here { return }
        dictionary[key] = NSNumber(value: here)
    }

    static func reset() {
        Thread.current.threadDictionary.removeObject(forKey: key)
    }

    /// The lowest address recorded on this thread since `reset()`, if any.
    static var lowest: UInt? {
        (Thread.current.threadDictionary[key] as? NSNumber)?.uintValue
    }
}

/// A leaf that records the stack depth when it is encoded and when it is decoded.
struct Probe: Codable {
    init() {}

    init(from decoder: any Decoder) throws {
        StackProbe.record()
        _ = try decoder.singleValueContainer().decode(Bool.self)
    }

    func encode(to encoder: any Encoder) throws {
        StackProbe.record()
        var container = encoder.singleValueContainer()
        try container.encode(true)
    }
}

/// A recursive type whose depth comes from its data.
protocol DeepShape: Codable, SendableMetatype {
    /// What the shape is, for messages.
    static var name: String { get }
    /// How much a level adds to the decoder's nesting count.
    static var countsPerLevel: Int { get }
    /// A value of `levels` levels (at least 1), the innermost holding a `Probe`.
    static func make(levels: Int) -> Self
    /// The number of levels of this value, counted without recursion.
    var levels: Int { get }
}

extension DeepShape {
    /// The decoder's deepest nesting count for a value of `levels` levels: `countsPerLevel` per
    /// level above the innermost, and two for the innermost (itself, and its probe or empty
    /// collection).
    static func counts(levels: Int) -> Int { countsPerLevel * (levels - 1) + 2 }

    /// The most levels whose nesting count is at most `depth` (at least 2).
    static func levels(fittingDepth depth: Int) -> Int { (depth - 2) / countsPerLevel + 1 }
}

/// Nested optional fields of a class: `decodeIfPresent` of the next level.
final class OptionalFieldNode: DeepShape {
    static var name: String { "optional field of a class" }
    static var countsPerLevel: Int { 1 }
    let next: OptionalFieldNode?
    let probe: Probe?

    init(next: OptionalFieldNode?, probe: Probe?) {
        self.next = next
        self.probe = probe
    }

    static func make(levels: Int) -> OptionalFieldNode {
        var node = OptionalFieldNode(next: nil, probe: Probe())
        for _ in 1..<max(1, levels) { node = OptionalFieldNode(next: node, probe: nil) }
        return node
    }

    var levels: Int {
        var count = 1
        var node = self
        while let next = node.next {
            count += 1
            node = next
        }
        return count
    }
}

/// An indirect enum with associated values: a keyed container, a nested keyed container for the
/// case's payload, and `decode(_:forKey:)` of the next level.
indirect enum EnumNode: DeepShape {
    case leaf(Probe)
    case node(EnumNode)

    static var name: String { "indirect enum with an associated value" }
    static var countsPerLevel: Int { 1 }

    static func make(levels: Int) -> EnumNode {
        var node = EnumNode.leaf(Probe())
        for _ in 1..<max(1, levels) { node = .node(node) }
        return node
    }

    var levels: Int {
        var count = 1
        var node = self
        while case .node(let next) = node {
            count += 1
            node = next
        }
        return count
    }
}

/// A struct holding an array of itself: the array reader of `[T]` and `decode(_:forKey:)`.
struct ArrayNode: DeepShape {
    var children: [ArrayNode]
    var probe: Probe?

    static var name: String { "struct with an array of itself" }
    static var countsPerLevel: Int { 2 }

    static func make(levels: Int) -> ArrayNode {
        var node = ArrayNode(children: [], probe: Probe())
        for _ in 1..<max(1, levels) { node = ArrayNode(children: [node], probe: nil) }
        return node
    }

    var levels: Int {
        var count = 1
        var node = self
        while let next = node.children.first {
            count += 1
            node = next
        }
        return count
    }
}

/// A struct holding an array of optionals of itself: the array reader, then `Optional`'s reader.
struct OptionalElementNode: DeepShape {
    var children: [OptionalElementNode?]
    var probe: Probe?

    static var name: String { "struct with an array of optionals of itself" }
    static var countsPerLevel: Int { 2 }

    static func make(levels: Int) -> OptionalElementNode {
        var node = OptionalElementNode(children: [], probe: Probe())
        for _ in 1..<max(1, levels) { node = OptionalElementNode(children: [node], probe: nil) }
        return node
    }

    var levels: Int {
        var count = 1
        var node = self
        while let first = node.children.first, let next = first {
            count += 1
            node = next
        }
        return count
    }
}

/// A struct holding a dictionary of itself: `Dictionary`'s own `init(from:)` over a keyed container.
struct DictionaryNode: DeepShape {
    var map: [String: DictionaryNode]
    var probe: Probe?

    static var name: String { "struct with a dictionary of itself" }
    static var countsPerLevel: Int { 2 }

    static func make(levels: Int) -> DictionaryNode {
        var node = DictionaryNode(map: [:], probe: Probe())
        for _ in 1..<max(1, levels) { node = DictionaryNode(map: ["k": node], probe: nil) }
        return node
    }

    var levels: Int {
        var count = 1
        var node = self
        while let next = node.map["k"] {
            count += 1
            node = next
        }
        return count
    }
}

/// A type that codes itself as an unkeyed container holding the next level: the generic
/// `UnkeyedDecodingContainer.decode(_:)`.
final class UnkeyedNode: DeepShape {
    let next: UnkeyedNode?
    let probe: Probe?

    static var name: String { "unkeyed container of itself" }
    static var countsPerLevel: Int { 1 }

    init(next: UnkeyedNode?, probe: Probe?) {
        self.next = next
        self.probe = probe
    }

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        if try container.decodeNil() {
            next = nil
            probe = try container.decode(Probe.self)
        } else {
            next = try container.decode(UnkeyedNode.self)
            probe = nil
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if let next {
            try container.encode(next)
        } else {
            try container.encodeNil()
            try container.encode(probe ?? Probe())
        }
    }

    static func make(levels: Int) -> UnkeyedNode {
        var node = UnkeyedNode(next: nil, probe: Probe())
        for _ in 1..<max(1, levels) { node = UnkeyedNode(next: node, probe: nil) }
        return node
    }

    var levels: Int {
        var count = 1
        var node = self
        while let next = node.next {
            count += 1
            node = next
        }
        return count
    }
}

/// Every recursive shape.
let deepShapes: [any DeepShape.Type] = [
    OptionalFieldNode.self, EnumNode.self, ArrayNode.self, OptionalElementNode.self, DictionaryNode.self,
    UnkeyedNode.self,
]

/// Thrown when a thread run by `onThread` did not finish in time.
struct ThreadTimeout: Error, CustomStringConvertible {
    var seconds: Int
    var description: String { "the thread did not finish within \(seconds) s" }
}

/// Runs `body` on a new thread with a stack of `stackSize` bytes and returns its result, or throws
/// `ThreadTimeout` if it has not finished after `timeout` seconds (a hang fails the test rather
/// than hanging it).
func onThread<R: Sendable>(
    stackSize: Int, timeout seconds: Int = 120, _ body: @escaping @Sendable () throws -> R
) throws -> R {
    let outcome = ThreadOutcome<R>()
    let finished = DispatchSemaphore(value: 0)
    let thread = Thread {
        let result = Result { try body() }
        outcome.result.withLock { $0 = result }
        finished.signal()
    }
    thread.stackSize = stackSize
    thread.start()
    guard finished.wait(timeout: .now() + .seconds(seconds)) == .success else {
        throw ThreadTimeout(seconds: seconds)
    }
    guard let result = outcome.result.withLock({ $0 }) else { throw ThreadTimeout(seconds: seconds) }
    return try result.get()
}

/// What the thread of `onThread` hands back.
private final class ThreadOutcome<R: Sendable>: Sendable {
    let result = Mutex<Result<R, any Error>?>(nil)
}

/// The names of `deepShapes`, as test arguments.
let deepShapeNames = deepShapes.map { $0.name }
