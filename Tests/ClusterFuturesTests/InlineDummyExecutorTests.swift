import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inline executor: laziness, eager mode, shutdown in every order, registration, and errors
/// that carry their origin.
@Suite struct InlineDummyExecutorTests {
    init() throws { try TestFunctions.register() }

    @Test func submitAndResult() throws {
        let executor = InlineDummyExecutor()
        #expect(executor.workerCount == 1)
        #expect(try executor.submit(Square(), 12).result() == 144)
        #expect(try executor.submit(Scale(factor: 2.5), 4).result() == 10)
        #expect(try executor.submit(Echo(), Array(repeating: 7, count: 1 << 20)).result().count == 1 << 20)
    }

    @Test func aLazyTaskRunsOnlyWhenItsResultIsNeeded() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let future = try executor.submit(CountCalls(token: token), 1)
        #expect(future.state == .pending)
        #expect(CallCounter.count(token) == 0)
        #expect(try future.result() == 1)
        #expect(try future.result() == 1)
        #expect(try future.error() == nil)
        #expect(CallCounter.count(token) == 1, "at most once, however often the result is asked for")
        #expect(future.origin?.executor == "inline")
    }

    @Test func aSpeculativeCallNobodyAsksForNeverRuns() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        for input in 0..<10 { _ = try executor.submit(CountCalls(token: token), input) }
        executor.shutdown(wait: true, cancelFutures: false)
        #expect(CallCounter.count(token) == 0)
    }

    /// A lazy future holds its job until demanded, so the job must not hold the future: one nobody
    /// keeps or demands is freed, with its job, at once.
    @Test func aLazyFutureNobodyKeepsIsFreed() throws {
        let executor = InlineDummyExecutor()
        weak var single: Future<Int>?
        weak var batch: Future<BatchResults<Int>>?
        do {
            single = try executor.submit(Square(), 3)
            batch = try executor.submit(Square(), batch: [1, 2, 3])
        }
        #expect(single == nil)
        #expect(batch == nil)
        // An eager executor's futures are done before submit returns, and are freed as well.
        let eager = InlineDummyExecutor(mode: .eager)
        weak var done: Future<Int>?
        do { done = try eager.submit(Square(), 3) }
        #expect(done == nil)
    }

    @Test func awaitingRunsALazyTask() async throws {
        let executor = InlineDummyExecutor()
        #expect(try await executor.submit(Square(), 5).value == 25)
    }

    @Test func eagerModeRunsDuringSubmit() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor(mode: .eager)
        let future = try executor.submit(CountCalls(token: token), 3)
        #expect(future.state == .finished)
        #expect(CallCounter.count(token) == 1)
        #expect(!future.cancel())
    }

    @Test func aCancelledLazyTaskNeverRuns() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let future = try executor.submit(CountCalls(token: token), 3)
        #expect(future.cancel())
        #expect(throws: CancellationError.self) { try future.result() }
        #expect(CallCounter.count(token) == 0)
    }

    @Test func aRunningTaskIsRunningAndCannotBeCancelled() throws {
        let executor = InlineDummyExecutor()
        let name = UUID().uuidString
        let named = Gates.gate(name)
        let future = try executor.submit(WaitAtGate(gate: name), 9)
        let thread = Thread { _ = try? future.result() }
        thread.start()
        #expect(named.waitForArrival())
        #expect(future.state == .running)
        #expect(!future.cancel())
        named.open()
        #expect(try future.result(timeout: .seconds(10)) == 9)
    }

    @Test func submittingAnUnregisteredFunctionFailsBeforeAnythingRuns() {
        let executor = InlineDummyExecutor()
        let error = #expect(throws: ClusterFuturesError.self) { _ = try executor.submit(NeverRegistered(), 1) }
        #expect(error?.code == .unregisteredFunction)
        #expect(error?.message.contains("NeverRegistered") == true)
        let batchError = #expect(throws: ClusterFuturesError.self) { _ = try executor.submit(NeverRegistered(), batch: [1]) }
        #expect(batchError?.code == .unregisteredFunction)
    }

    @Test func twoTypesCannotShareAName() throws {
        struct Impostor: RemoteFunction {
            static var name: String { Square.name }
            func callAsFunction(_ x: Int) -> Int { -x }
        }
        let error = #expect(throws: ClusterFuturesError.self) { try FunctionRegistry.shared.register(Impostor.self) }
        #expect(error?.code == .duplicateFunctionName)
        #expect(try InlineDummyExecutor().submit(Square(), 3).result() == 9, "the first registration stands")
    }

    @Test func aPlainErrorComesBackAsATaskFailureNamingItsOrigin() throws {
        let executor = InlineDummyExecutor()
        let future = try executor.submit(FailOn([4]), 4)
        let failure = #expect(throws: TaskFailure.self) { try future.result() }
        #expect(failure?.functionName == FailOn.name)
        #expect(failure?.errorType == String(reflecting: PlainError.self))
        #expect(failure?.errorDescription == "plain error: input 4")
        #expect(failure?.origin.executor == "inline")
        #expect(failure?.origin.pid == getpid())
        #expect(failure?.origin.host.isEmpty == false)
        #expect(failure?.description.contains("FailOn") == true)
        #expect(failure?.description.contains("pid \(getpid())") == true)
        #expect(future.origin?.pid == getpid())
    }

    @Test func aRegisteredErrorTypeComesBackAsItself() throws {
        let executor = InlineDummyExecutor()
        let future = try executor.submit(FailOn([2], kind: .registered), 2)
        let error = #expect(throws: RegisteredError.self) { try future.result() }
        #expect(error == RegisteredError(code: 2, detail: "input 2 is refused"))
    }

    @Test func anUnregisteredCodableErrorCanStillBeDecoded() throws {
        let executor = InlineDummyExecutor()
        let future = try executor.submit(FailOn([6], kind: .unregisteredCodable), 6)
        let failure = #expect(throws: TaskFailure.self) { try future.result() }
        #expect(failure?.decode(UnregisteredCodableError.self) == UnregisteredCodableError(value: 6))
        #expect(failure?.decode(RegisteredError.self) == nil)
    }

    @Test func anInputThatCannotBeEncodedFailsOnlyItsFuture() throws {
        let executor = InlineDummyExecutor()
        let bad = try executor.submit(PassFragile(), Fragile(value: 1, poisoned: true))
        let good = try executor.submit(PassFragile(), Fragile(value: 2))
        let error = #expect(throws: ClusterFuturesError.self) { try bad.result() }
        #expect(error?.code == .encodingFailed)
        #expect(error?.message.contains("poisoned value 1") == true)
        #expect(try good.result() == Fragile(value: 2))
    }

    @Test func anOutputThatCannotBeEncodedFailsOnlyItsFuture() throws {
        let executor = InlineDummyExecutor()
        let bad = try executor.submit(PassFragile(poisonOutput: true), Fragile(value: 1))
        let error = #expect(throws: ClusterFuturesError.self) { try bad.result() }
        #expect(error?.code == .encodingFailed)
        #expect(try executor.submit(PassFragile(), Fragile(value: 5)).result() == Fragile(value: 5))
    }

    @Test func aTaskMaySubmitToAnotherExecutor() throws {
        #expect(try InlineDummyExecutor().submit(NestedSquare(), 6).result() == 36)
    }

    // MARK: Shutdown in every order

    @Test func submitAfterShutdownThrows() {
        let executor = InlineDummyExecutor()
        executor.shutdown(wait: false, cancelFutures: false)
        #expect(executor.isShutDown)
        let error = #expect(throws: ClusterFuturesError.self) { _ = try executor.submit(Square(), 1) }
        #expect(error?.code == .executorShutDown)
    }

    @Test func shutdownIsIdempotentInAnyOrder() throws {
        let orders: [[(Bool, Bool)]] = [
            [(true, false), (true, false)],
            [(false, false), (true, true)],
            [(true, true), (false, false)],
            [(false, true), (true, false), (false, false)],
        ]
        for order in orders {
            let executor = InlineDummyExecutor()
            let future = try executor.submit(Square(), 2)
            for (wait, cancel) in order { executor.shutdown(wait: wait, cancelFutures: cancel) }
            #expect(executor.isShutDown)
            #expect(future.isDone)
        }
    }

    @Test func shutdownWithWaitRunsSubmittedWork() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let futures = try (0..<5).map { try executor.submit(CountCalls(token: token), $0) }
        executor.shutdown(wait: true, cancelFutures: false)
        #expect(futures.allSatisfy { $0.state == .finished })
        #expect(CallCounter.count(token) == 5)
    }

    @Test func shutdownWithCancelFuturesCancelsWhatHasNotStarted() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let started = try executor.submit(CountCalls(token: token), 0)
        #expect(try started.result() == 0)
        let futures = try (1..<5).map { try executor.submit(CountCalls(token: token), $0) }
        executor.shutdown(wait: true, cancelFutures: true)
        #expect(futures.allSatisfy { $0.isCancelled })
        #expect(started.state == .finished)
        #expect(CallCounter.count(token) == 1)
        let (done, notDone) = Futures.wait(futures, timeout: .seconds(1))
        #expect(done.count == 4 && notDone.isEmpty, "cancelled futures count as done for waiters")
    }

    @Test func shutdownWithoutWaitStillLetsSubmittedWorkRun() throws {
        let executor = InlineDummyExecutor()
        let future = try executor.submit(Square(), 8)
        executor.shutdown(wait: false, cancelFutures: false)
        #expect(try future.result() == 64)
    }

    @Test func withExecutorShutsDownOnReturn() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let future = try withExecutor(executor) { executor in
            try executor.submit(CountCalls(token: token), 1)
        }
        #expect(executor.isShutDown)
        #expect(future.state == .finished, "submitted work ran before the scope ended")
    }

    @Test func withExecutorShutsDownAndCancelsWhenTheBodyThrows() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let box = SpyExecutor(executor)
        #expect(throws: PlainError.self) {
            try withExecutor(box) { executor in
                _ = try executor.submit(CountCalls(token: token), 1)
                throw PlainError(reason: "body failed")
            }
        }
        #expect(executor.isShutDown)
        #expect(box.futures.allSatisfy { $0.isCancelled })
        #expect(CallCounter.count(token) == 0)
    }

    @Test func asyncWithExecutorShutsDown() async throws {
        let executor = InlineDummyExecutor()
        let value = try await withExecutor(executor) { executor in
            try await executor.submit(Square(), 11).value
        }
        #expect(value == 121)
        #expect(executor.isShutDown)
    }
}
