import ClusterFuturesWire
import Foundation
import Testing

/// Whether `error` is the decoder's depth error.
func isDepthError(_ error: any Error) -> Bool {
    guard case DecodingError.dataCorrupted = error else { return false }
    return describe(error).contains("nesting depth exceeds the limit of")
}

@Suite("Depth")
struct DepthTests {
    /// The stack one nesting count takes when decoding and when encoding `S`, measured between
    /// two depths on a thread with a large stack, and the stack a value at the default limit takes
    /// from the start of the thread's body.
    static func measure<S: DeepShape>(_: S.Type) throws -> (decode: Int, encode: Int, decodeAtLimit: Int, encodeAtLimit: Int) {
        try onThread(stackSize: 64 << 20) {
            let top = StackProbe.address()
            func used(levels: Int) throws -> (decode: Int, encode: Int) {
                let value = S.make(levels: levels)
                StackProbe.reset()
                let bytes = try WireEncoder().encode(value)
                let encode = Int(top - (StackProbe.lowest ?? top))
                StackProbe.reset()
                let limits = WireLimits(maxDepth: S.counts(levels: levels))
                let decoded = try WireDecoder(limits: limits).decode(S.self, from: bytes)
                let decode = Int(top - (StackProbe.lowest ?? top))
                guard decoded.levels == levels else { throw ThreadTimeout(seconds: 0) }
                return (decode, encode)
            }
            let a = try used(levels: 50)
            let b = try used(levels: 550)
            let counts = S.counts(levels: 550) - S.counts(levels: 50)
            let atLimit = try used(levels: S.levels(fittingDepth: WireLimits.default.maxDepth))
            return ((b.decode - a.decode) / counts, (b.encode - a.encode) / counts, atLimit.decode, atLimit.encode)
        }
    }

    /// Prints the stack per nesting count of every shape, and checks the rule of the default
    /// `maxDepth`: a value at the limit needs less than half of a 512 KiB stack, in this build.
    @Test("stack per nesting count: a value at the default maxDepth needs under half of 512 KiB")
    func stackPerLevel() throws {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        for shape in deepShapes {
            let m = try Self.measure(shape)
            print(
                "stack per nesting count (\(build)), \(shape.name): decode \(m.decode) B, encode \(m.encode) B; "
                    + "at maxDepth \(WireLimits.default.maxDepth): decode \(m.decodeAtLimit) B, encode \(m.encodeAtLimit) B")
            #expect(m.decodeAtLimit < 256 * 1024, "\(shape.name)")
            #expect(m.encodeAtLimit < 256 * 1024, "\(shape.name)")
        }
    }

    /// Encodes and decodes `S` at the default limit, and one level over it, on a 512 KiB stack.
    static func atLimitOnSmallStack<S: DeepShape>(_: S.Type) throws {
        let maxDepth = WireLimits.default.maxDepth
        let levels = S.levels(fittingDepth: maxDepth)
        try onThread(stackSize: 512 * 1024, timeout: 120) {
            let value = S.make(levels: levels)
            let bytes = try WireEncoder().encode(value)
            let decoded = try WireDecoder().decode(S.self, from: bytes)
            guard decoded.levels == levels else { throw ThreadTimeout(seconds: 0) }
            // The nesting count is what the model says: one level less fails.
            guard S.counts(levels: levels) == maxDepth || S.counts(levels: levels) == maxDepth - 1 else {
                throw ThreadTimeout(seconds: 0)
            }
            let tighter = WireLimits(maxDepth: S.counts(levels: levels) - 1)
            do {
                _ = try WireDecoder(limits: tighter).decode(S.self, from: bytes)
                throw ThreadTimeout(seconds: 0)
            } catch let error where isDepthError(error) {}
        }
        // One level more: encodes, and the decoder throws its depth error on the same stack.
        let error = try onThread(stackSize: 512 * 1024, timeout: 120) { () -> String in
            let bytes = try WireEncoder().encode(S.make(levels: levels + 1))
            do {
                _ = try WireDecoder().decode(S.self, from: bytes)
                return "decoded"
            } catch {
                return isDepthError(error) ? "depth" : describe(error)
            }
        }
        #expect(error == "depth", "\(S.name)")
    }

    @Test("a value at the default maxDepth decodes on a 512 KiB stack, one level more throws", arguments: deepShapeNames)
    func smallStack(shape: String) throws {
        let type = try #require(deepShapes.first { $0.name == shape })
        try Self.atLimitOnSmallStack(type)
    }

    @Test("every shape nests as the model counts")
    func countModel() throws {
        for shape in deepShapes {
            try Self.checkCounts(shape)
        }
    }

    static func checkCounts<S: DeepShape>(_: S.Type) throws {
        for levels in [2, 3, 10] {
            let bytes = try WireEncoder().encode(S.make(levels: levels))
            let exact = WireLimits(maxDepth: S.counts(levels: levels))
            #expect(try WireDecoder(limits: exact).decode(S.self, from: bytes).levels == levels, "\(S.name)")
            #expect("\(S.name) \(levels)", performing: {
                _ = try WireDecoder(limits: WireLimits(maxDepth: exact.maxDepth - 1)).decode(S.self, from: bytes)
            }, throws: isDepthError)
        }
    }
}
