@_spi(ExecutorImplementation) @testable import ClusterFutures
import ClusterFuturesTestSupport
import Testing

/// Functions by number, as both pools and their workers keep them (`FunctionNumbers`,
/// `FunctionsDefined`, `DefinedFunctions`), and the process pool's frames that carry them.
@Suite("Functions by number")
struct FunctionNumbersTests {
    init() throws { try TestFunctions.register() }

    @Test func numbersAreGivenFromZeroInTheOrderOfFirstUseAndKept() throws {
        var numbers = FunctionNumbers()
        let square = ObjectIdentifier(Square.self), echo = ObjectIdentifier(Echo.self)
        #expect(try numbers.number(for: square) == 0)
        #expect(try numbers.number(for: echo) == 1)
        #expect(try numbers.number(for: square) == 0)
        #expect(try numbers.number(for: square) == 0, "the last one, again")
        #expect(try numbers.number(for: echo) == 1)
    }

    @Test func aWorkerIsToldEachFunctionOnce() {
        var defined = FunctionsDefined()
        #expect(!defined.contains(3) && !defined.contains(-1))
        defined.insert(3)
        #expect(defined.contains(3) && !defined.contains(2) && !defined.contains(4))
        defined.insert(0)
        #expect(defined.contains(0) && defined.contains(3))
    }

    @Test func aWorkerRunsWhatWasDefinedAndFailsTheCallOtherwise() throws {
        var functions = DefinedFunctions<String>()
        let square = try Job.single(Square(), 7, registry: .shared)
        let request = try #require(square.job).request
        // Defined out of order, as a worker is when other workers had the earlier functions.
        try functions.define(FunctionDefinition(number: 5, taskPrefix: try #require(square.job).taskPrefix), registry: .shared) { $0 }
        #expect(functions[5]?.extra.hasSuffix("Square") == true, "\(String(describing: functions[5]?.extra))")
        #expect(functions[4] == nil && functions[6] == nil && functions[-1] == nil)
        #expect(CallReply.firstFailure(in: functions.serve(5, request: request[...], registry: .shared)) == nil)
        let undefined = CallReply.firstFailure(in: functions.serve(4, request: request[...], registry: .shared))
        #expect(undefined?.contains("function number 4, which the pool never defined") == true, "\(undefined ?? "")")
        // A function this build lacks: the call fails, the worker goes on.
        let missing = TaskMessage.prefix(functionName: "NotInThisBuild", mangledName: "$s14NotInThisBuildV")
        try functions.define(FunctionDefinition(number: 0, taskPrefix: missing), registry: .shared) { $0 }
        #expect(functions[0]?.entry == nil)
        #expect(CallReply.firstFailure(in: functions.serve(0, request: request[...], registry: .shared)) != nil)
        let outOfRange = #expect(throws: ClusterFuturesError.self) {
            try functions.define(FunctionDefinition(number: FunctionNumbers.limit, taskPrefix: missing), registry: .shared) { $0 }
        }
        #expect(outOfRange?.code == .protocolViolation)
    }

    @Test func theProcessPoolsFramesCarryTheNumberAndRejectWhatIsCorrupt() throws {
        let definition = FunctionDefinition(number: 12, taskPrefix: [1, 2, 3])
        #expect(try NumberedTask.definition(in: NumberedTask.payload(defining: definition)) == definition)
        let (number, request) = try NumberedTask.task(in: NumberedTask.segment(number: 9) + [7, 8])
        #expect(number == 9 && Array(request) == [7, 8])
        #expect(throws: ClusterFuturesError.self) { try NumberedTask.task(in: [1, 2, 3]) }
        #expect(throws: ClusterFuturesError.self) { try NumberedTask.definition(in: [9]) }
        // A number no pool sends, even one past Int's range, is refused where it is defined.
        var tooLarge = NumberedTask.payload(defining: FunctionDefinition(number: 0, taskPrefix: []))
        tooLarge.replaceSubrange(0..<8, with: [UInt8](repeating: 0xFF, count: 8))
        var functions = DefinedFunctions<Void>()
        let refused = #expect(throws: ClusterFuturesError.self) {
            try functions.define(NumberedTask.definition(in: tooLarge), registry: .shared) { _ in () }
        }
        #expect(refused?.code == .protocolViolation)
    }
}
