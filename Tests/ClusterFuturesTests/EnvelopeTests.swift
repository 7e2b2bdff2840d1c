@testable import ClusterFutures
import ClusterFuturesTestSupport
import ClusterFuturesWire
import Testing

/// The call envelope between caller and worker: corrupt, truncated and unknown messages become
/// clear errors on the affected items, never a crash.
@Suite struct EnvelopeTests {
    init() throws { try TestFunctions.register() }

    private let origin = TaskOrigin.currentProcess(executor: "test")

    private func request(_ inputs: [Int]) throws -> CallRequest {
        try CallRequest(function: Square(), inputs: inputs)
    }

    @Test func aRequestRoundTripsThroughTheRegistry() throws {
        let request = try request([1, 2, 3])
        let reply = FunctionRegistry.shared.serve(functionName: Square.name, request: request.bytes[...])
        let results = CallReply.decode(reply, request: request, as: Int.self, functionName: Square.name,
                                       origin: origin, registry: .shared)
        #expect(try results.map { try $0.get() } == [1, 4, 9])
    }

    @Test func anUnknownFunctionNameFailsEveryItem() throws {
        let request = try request([1, 2])
        let reply = FunctionRegistry.shared.serve(functionName: "No.Such.Function", request: request.bytes[...])
        let results = CallReply.decode(reply, request: request, as: Int.self, functionName: "No.Such.Function",
                                       origin: origin, registry: .shared)
        #expect(results.count == 2)
        for result in results {
            #expect(throws: ClusterFuturesError.self) { try result.get() }
            if case .failure(let error as ClusterFuturesError) = result {
                #expect(error.code == .unregisteredFunction)
                #expect(error.message.contains("same build"))
            }
        }
    }

    @Test func everyTruncatedRequestIsRefusedCleanly() throws {
        let request = try request([10, 20, 30])
        for length in 0..<request.bytes.count {
            let reply = FunctionRegistry.shared.serve(functionName: Square.name, request: request.bytes.prefix(length))
            let results = CallReply.decode(reply, request: request, as: Int.self, functionName: Square.name,
                                           origin: origin, registry: .shared)
            #expect(results.count == 3)
            #expect(results.allSatisfy { (try? $0.get()) == nil }, "prefix of \(length) bytes")
        }
    }

    @Test func everyTruncatedReplyFailsEveryItemWithAProtocolError() throws {
        let request = try request([4, 5])
        let reply = FunctionRegistry.shared.serve(functionName: Square.name, request: request.bytes[...])
        for length in 0..<reply.count {
            let results = CallReply.decode(Array(reply.prefix(length)), request: request, as: Int.self,
                                           functionName: Square.name, origin: origin, registry: .shared)
            #expect(results.count == 2)
            for result in results {
                guard case .failure(let error as ClusterFuturesError) = result else {
                    Issue.record("a truncated reply of \(length) bytes produced \(result)")
                    continue
                }
                #expect([.protocolViolation, .decodingFailed].contains(error.code))
            }
        }
    }

    @Test func randomRepliesNeverCrashTheCaller() throws {
        var generator = SplitMix64(seed: 0xC1F0)
        let request = try request([1, 2, 3])
        let valid = FunctionRegistry.shared.serve(functionName: Square.name, request: request.bytes[...])
        var failures = 0
        for round in 0..<5_000 {
            var bytes: [UInt8]
            if round.isMultiple(of: 2) {
                bytes = (0..<Int(generator.next() % 96)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                bytes = valid
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            }
            let results = CallReply.decode(bytes, request: request, as: Int.self, functionName: Square.name,
                                           origin: origin, registry: .shared)
            #expect(results.count == 3)
            failures += results.count { (try? $0.get()) == nil }
        }
        #expect(failures > 0, "corrupt replies must be noticed")
    }

    // MARK: One call, sent as its one input and answered with its one output

    private func serveSingle(_ request: ArraySlice<UInt8>) -> [UInt8] {
        FunctionRegistry.shared.serve(functionName: Square.name, request: request)
    }

    private func decodeSingle(_ reply: [UInt8]) -> Result<Int, any Error> {
        Result { try CallReply.decodeSingle(reply, as: Int.self, functionName: Square.name, origin: origin, registry: .shared) }
    }

    @Test func aSingleCallRoundTripsAsItsOneValue() throws {
        let request = try CallRequest(function: Square(), input: 12)
        #expect(request.sentCount == 1)
        #expect(try decodeSingle(serveSingle(request.bytes[...])).get() == 144)
        // Smaller than the same call as a batch of one.
        #expect(request.bytes.count < (try self.request([12])).bytes.count)
    }

    @Test func aSingleCallsErrorComesBackAsItsOneFailure() throws {
        let request = try CallRequest(function: FailOn([3]), input: 3)
        let reply = FunctionRegistry.shared.serve(functionName: FailOn.name, request: request.bytes[...])
        #expect(throws: TaskFailure.self) {
            try CallReply.decodeSingle(reply, as: Int.self, functionName: FailOn.name, origin: origin, registry: .shared)
        }
    }

    @Test func everyTruncatedOrExtendedSingleRequestIsRefusedCleanly() throws {
        let request = try CallRequest(function: Square(), input: 7)
        for length in 0..<request.bytes.count {
            let result = decodeSingle(serveSingle(request.bytes.prefix(length)))
            #expect((try? result.get()) == nil, "prefix of \(length) bytes")
        }
        let extended = decodeSingle(serveSingle((request.bytes + [0])[...]))
        #expect(throws: ClusterFuturesError.self) { try extended.get() }
    }

    @Test func everyTruncatedOrCorruptSingleReplyFailsWithAClearError() throws {
        let reply = serveSingle(try CallRequest(function: Square(), input: 9).bytes[...])
        for length in 0..<reply.count {
            guard case .failure(let error as ClusterFuturesError) = decodeSingle(Array(reply.prefix(length))) else {
                Issue.record("a truncated reply of \(length) bytes was not a ClusterFuturesError")
                continue
            }
            #expect([.protocolViolation, .decodingFailed].contains(error.code))
        }
        var generator = SplitMix64(seed: 0x51_6E)
        var failures = 0
        for _ in 0..<2_000 {
            var bytes = reply
            let position = Int(generator.next() % UInt64(bytes.count))
            bytes[position] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            if (try? decodeSingle(bytes).get()) != 81 { failures += 1 }
        }
        #expect(failures > 0, "corrupt replies must be noticed")
    }

    @Test func aStatelessFunctionValueIsEncodedOnceAndStillCheckedWhenDecoded() throws {
        let encoded = EncodedFunctionCache()
        var first: [UInt8] = []
        var second: [UInt8] = []
        try encoded.encode(Square(), appendingTo: &first)
        try encoded.encode(Square(), appendingTo: &second)
        #expect(first == (try WireEncoder().encode(Square())) && second == first)
        // A function with stored properties is encoded each time, with its own values.
        var scaled: [UInt8] = []
        try encoded.encode(Scale(factor: 3), appendingTo: &scaled)
        #expect(try WireDecoder().decode(Scale.self, from: scaled).factor == 3)

        let decoded = DecodedFunctionCache()
        // The second decode of the same bytes is served from the cache; both values work.
        #expect(try decoded.decode(Square.self, from: first[...])(7) == 49)
        #expect(try decoded.decode(Square.self, from: first[...])(8) == 64)
        var corrupt = first
        corrupt[0] ^= 0xFF
        #expect(throws: (any Error).self) { try decoded.decode(Square.self, from: corrupt[...]) }
        #expect(try decoded.decode(Scale.self, from: scaled[...]).factor == 3)
    }

    @Test func aReplyWithTheWrongNumberOfResultsIsRefused() throws {
        let two = try request([1, 2])
        let reply = FunctionRegistry.shared.serve(functionName: Square.name, request: two.bytes[...])
        let three = try request([1, 2, 3])
        let results = CallReply.decode(reply, request: three, as: Int.self, functionName: Square.name,
                                       origin: origin, registry: .shared)
        #expect(results.count == 3)
        #expect(results.allSatisfy { (try? $0.get()) == nil })
    }
}
