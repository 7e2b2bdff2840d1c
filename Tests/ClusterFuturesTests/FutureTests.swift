@testable import ClusterFutures
import ClusterFuturesTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

/// The rules of `semantics.md` for a single future.
@Suite struct FutureTests {
    init() throws { try TestFunctions.register() }

    private let here = TaskOrigin.currentProcess(executor: "test")

    @Test func statesMoveFromPendingThroughRunningToFinished() throws {
        let future = Future<Int>(label: "f")
        #expect(future.state == .pending)
        #expect(!future.isDone && !future.isRunning && !future.isCancelled)
        #expect(future.markRunning())
        #expect(future.state == .running && future.isRunning && !future.isDone)
        future.succeed(3, origin: here)
        #expect(future.state == .finished && future.isDone && !future.isRunning)
        #expect(try future.result() == 3)
        #expect(future.origin == here)
    }

    @Test func cancelSucceedsOnlyWhilePending() {
        let pending = Future<Int>(label: "pending")
        #expect(pending.cancel())
        #expect(pending.state == .cancelled && pending.isDone && pending.isCancelled)
        #expect(pending.cancel(), "cancelling a cancelled future reports true")
        #expect(!pending.markRunning(), "a cancelled future must never start")

        let running = Future<Int>(label: "running")
        #expect(running.markRunning())
        #expect(!running.cancel())
        #expect(running.state == .running)

        let finished = Future<Int>(label: "finished")
        finished.succeed(1, origin: here)
        #expect(!finished.cancel())
        #expect(finished.state == .finished)
    }

    @Test func finishingTwiceKeepsTheFirstOutcome() throws {
        let future = Future<Int>(label: "f")
        #expect(future.succeed(1, origin: here))
        #expect(!future.succeed(2, origin: here))
        #expect(try future.result() == 1)
        let cancelled = Future<Int>(label: "c")
        cancelled.cancel()
        #expect(!cancelled.succeed(2, origin: here))
        #expect(cancelled.isCancelled)
    }

    @Test func resultTimesOutWithoutChangingTheFuture() throws {
        for starts in [false, true] {
            let future = Future<Int>(label: "slow")
            if starts { #expect(future.markRunning()) }
            let before = future.state
            let error = #expect(throws: ClusterFuturesError.self) { try future.result(timeout: .milliseconds(30)) }
            #expect(error?.code == .timedOut)
            #expect(future.state == before)
            let errorTimeout = #expect(throws: ClusterFuturesError.self) { try future.error(timeout: .zero) }
            #expect(errorTimeout?.code == .timedOut)
            future.succeed(5, origin: here)
            #expect(try future.result(timeout: .zero) == 5)
        }
    }

    @Test func resultWaitsForAnotherThreadToFinish() throws {
        let future = Future<String>(label: "later")
        #expect(future.markRunning())
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { future.succeed("done", origin: nil) }
        #expect(try future.result(timeout: .seconds(10)) == "done")
    }

    @Test func resultRethrowsTheErrorAndErrorReturnsItAlone() throws {
        let failed = Future<Int>(label: "failed")
        failed.fail(PlainError(reason: "x"), origin: here)
        #expect(throws: PlainError.self) { try failed.result() }
        #expect(try failed.error() is PlainError)
        #expect(try failed.error(timeout: .zero) is PlainError)

        let succeeded = Future<Int>(label: "ok")
        succeeded.succeed(1, origin: here)
        #expect(try succeeded.error() == nil)
    }

    @Test func aCancelledFutureThrowsCancellationError() {
        let future = Future<Int>(label: "c")
        future.cancel()
        #expect(throws: CancellationError.self) { try future.result() }
        #expect(throws: CancellationError.self) { try future.error() }
        #expect(future.origin == nil)
    }

    @Test func cancellingWakesABlockedWaiter() throws {
        let future = Future<Int>(label: "c")
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { future.cancel() }
        #expect(throws: CancellationError.self) { try future.result(timeout: .seconds(10)) }
    }

    @Test func doneCallbacksRunOnceInOrder() {
        let future = Future<Int>(label: "f")
        let calls = Mutex<[String]>([])
        future.addDoneCallback { f in calls.withLock { $0.append("a\(f.state)") } }
        future.addDoneCallback { _ in calls.withLock { $0.append("b") } }
        future.addDoneCallback { _ in calls.withLock { $0.append("c") } }
        #expect(calls.withLock { $0.isEmpty })
        future.succeed(1, origin: nil)
        future.cancel()
        future.succeed(2, origin: nil)
        #expect(calls.withLock { $0 } == ["afinished", "b", "c"])
    }

    @Test func aCallbackAddedToADoneFutureRunsAtOnceInTheCaller() {
        for finish in [true, false] {
            let future = Future<Int>(label: "f")
            if finish { future.succeed(1, origin: nil) } else { future.cancel() }
            let ranOn = Mutex<Thread?>(nil)
            future.addDoneCallback { _ in ranOn.withLock { $0 = Thread.current } }
            #expect(ranOn.withLock { $0 } === Thread.current)
        }
    }

    @Test func callbacksRunOnCancellation() {
        let future = Future<Int>(label: "f")
        let state = Mutex<FutureState?>(nil)
        future.addDoneCallback { f in state.withLock { $0 = f.state } }
        future.cancel()
        #expect(state.withLock { $0 } == .cancelled)
    }

    @Test func aCallbackMaySubmitMoreWork() throws {
        let executor = InlineDummyExecutor()
        let first = try executor.submit(Square(), 3)
        let second = Mutex<Future<Int>?>(nil)
        first.addDoneCallback { done in
            let value = (try? done.result()) ?? 0
            second.withLock { $0 = try? executor.submit(Square(), value) }
        }
        #expect(try first.result() == 9)
        let next = try #require(second.withLock { $0 })
        #expect(try next.result(timeout: .seconds(10)) == 81)
    }

    @Test func awaitingGivesTheValueOrError() async throws {
        let future = Future<Int>(label: "f")
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { future.succeed(42, origin: nil) }
        #expect(try await future.value == 42)

        let failing = Future<Int>(label: "g")
        failing.fail(PlainError(reason: "async"), origin: nil)
        await #expect(throws: PlainError.self) { try await failing.value }

        let cancelled = Future<Int>(label: "h")
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }

    @Test func cancellingTheAwaitingTaskCancelsAPendingFuture() async throws {
        let future = Future<Int>(label: "pending")
        let task = Task { try await future.value }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(future.isCancelled)
    }

    @Test func cancellingTheAwaitingTaskLeavesARunningFutureRunning() async throws {
        let future = Future<Int>(label: "running")
        #expect(future.markRunning())
        let task = Task { try await future.value }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(future.state == .running)
        future.succeed(7, origin: nil)
        #expect(try await future.result() == 7, "the result stays available through the future")
    }

    @Test func manyThreadsAskingForALazyResultRunItOnce() throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor()
        let future = try executor.submit(CountCalls(token: token), 5)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in _ = try? future.result(timeout: .seconds(10)) }
        #expect(try future.result() == 5)
        #expect(CallCounter.count(token) == 1)
    }

    @Test func aFutureHoldsItsValueExactlyAsLongAsItLives() throws {
        final class Tracked: Sendable {}
        weak var tracked: Tracked?
        do {
            let future = Future<Tracked>(label: "value")
            do {
                let value = Tracked()
                tracked = value
                #expect(future.succeed(value, origin: here))
            }
            #expect(tracked != nil, "the future keeps its value")
            #expect(try future.result() === tracked && (try future.result()) === tracked)
            #expect(!future.succeed(Tracked(), origin: here))
            #expect(try future.result() === tracked, "a second value is refused and not kept")
        }
        #expect(tracked == nil, "the value is freed with the future")
    }

    @Test func futuresCompareByIdentity() {
        let a = Future<Int>(label: "same")
        let b = Future<Int>(label: "same")
        #expect(a == a && a != b)
        #expect(Set<AnyFuture>([a, a, b]).count == 2)
    }
}
