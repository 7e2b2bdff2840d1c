@testable import ClusterFutures
import ClusterFuturesTestSupport
import Dispatch
import Foundation
import Testing

/// `Futures.wait` and `Futures.asCompleted` over futures in every state.
@Suite struct WaitTests {
    init() throws { try TestFunctions.register() }

    /// One future in each state: pending (never started), running, finished, failed, cancelled.
    private struct Zoo {
        let pending = Future<Int>(label: "pending")
        let running = Future<Int>(label: "running")
        let finished = Future<Int>(label: "finished")
        let failed = Future<Int>(label: "failed")
        let cancelled = Future<Int>(label: "cancelled")

        init() {
            _ = running.markRunning()
            finished.succeed(1, origin: nil)
            failed.fail(PlainError(reason: "zoo"), origin: nil)
            cancelled.cancel()
        }

        var all: [Future<Int>] { [pending, running, finished, failed, cancelled] }
    }

    @Test func firstCompletedReturnsAtOnceWhenSomeAreDone() {
        let zoo = Zoo()
        let (done, notDone) = Futures.wait(zoo.all, until: .firstCompleted)
        #expect(done == [zoo.finished, zoo.failed, zoo.cancelled])
        #expect(notDone == [zoo.pending, zoo.running])
    }

    @Test func firstErrorReturnsAtOnceWhenOneFailed() {
        let zoo = Zoo()
        let (done, notDone) = Futures.wait(zoo.all, timeout: .seconds(10), until: .firstError)
        #expect(done == [zoo.finished, zoo.failed, zoo.cancelled])
        #expect(notDone == [zoo.pending, zoo.running])
    }

    @Test func firstErrorIgnoresCancellationAndActsAsAllCompleted() {
        let running = Future<Int>(label: "running")
        _ = running.markRunning()
        let cancelled = Future<Int>(label: "cancelled")
        cancelled.cancel()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(30)) { running.succeed(1, origin: nil) }
        let (done, notDone) = Futures.wait([cancelled, running], timeout: .seconds(10), until: .firstError)
        #expect(done == [cancelled, running])
        #expect(notDone.isEmpty)
    }

    @Test func firstErrorWakesOnAFailure() {
        let a = Future<Int>(label: "a")
        let b = Future<Int>(label: "b")
        _ = a.markRunning()
        _ = b.markRunning()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(30)) { b.fail(PlainError(reason: "b"), origin: nil) }
        let (done, notDone) = Futures.wait([a, b], timeout: .seconds(10), until: .firstError)
        #expect(done == [b])
        #expect(notDone == [a])
    }

    @Test func allCompletedTimesOutWithThePartition() {
        let zoo = Zoo()
        let started = ContinuousClock.now
        let (done, notDone) = Futures.wait(zoo.all, timeout: .milliseconds(50), until: .allCompleted)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        #expect(done == [zoo.finished, zoo.failed, zoo.cancelled])
        #expect(notDone == [zoo.pending, zoo.running])
        #expect(zoo.pending.state == .pending && zoo.running.state == .running, "waiting changes nothing")
    }

    @Test func allCompletedWaitsForEveryFuture() {
        let futures = (0..<8).map { Future<Int>(label: "f\($0)") }
        for (index, future) in futures.enumerated() {
            _ = future.markRunning()
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(5 * index)) { future.succeed(index, origin: nil) }
        }
        let (done, notDone) = Futures.wait(futures, timeout: .seconds(10))
        #expect(done == futures && notDone.isEmpty)
    }

    @Test func duplicatesAppearOnce() {
        let zoo = Zoo()
        let (done, notDone) = Futures.wait([zoo.finished, zoo.finished, zoo.pending, zoo.pending], timeout: .zero)
        #expect(done == [zoo.finished])
        #expect(notDone == [zoo.pending])
    }

    @Test func aFutureCancelledWhileWaitingDoesNotHangTheWaiter() {
        let pending = Future<Int>(label: "pending")
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(30)) { pending.cancel() }
        let (done, notDone) = Futures.wait([pending], timeout: .seconds(10), until: .allCompleted)
        #expect(done == [pending] && notDone.isEmpty)
    }

    @Test func waitRunsLazyInlineTasks() throws {
        let executor = InlineDummyExecutor()
        let token = UUID().uuidString
        let futures = try (0..<5).map { try executor.submit(CountCalls(token: token), $0) }
        let (firstDone, firstNotDone) = Futures.wait(futures, until: .firstCompleted)
        #expect(firstDone.count == 1 && firstNotDone.count == 4)
        #expect(CallCounter.count(token) == 1, "first-completed runs only as many lazy tasks as it needs")
        let (done, notDone) = Futures.wait(futures)
        #expect(done == futures && notDone.isEmpty)
        #expect(CallCounter.count(token) == 5)
    }

    @Test func waitWorksOverMixedValueTypes() throws {
        let executor = InlineDummyExecutor()
        let number: AnyFuture = try executor.submit(Square(), 4)
        let bytes: AnyFuture = try executor.submit(Echo(), [1, 2, 3])
        let (done, _) = Futures.wait([number, bytes])
        #expect(done == [number, bytes])
    }

    @Test func asCompletedYieldsDoneFirstThenInCompletionOrder() throws {
        let zoo = Zoo()
        let late = Future<Int>(label: "late")
        let early = Future<Int>(label: "early")
        _ = late.markRunning()
        _ = early.markRunning()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(60)) { late.succeed(2, origin: nil) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { early.succeed(1, origin: nil) }
        let completed = Futures.asCompleted([zoo.finished, late, zoo.cancelled, early, zoo.finished, zoo.failed], timeout: .seconds(10))
        var order: [Future<Int>] = []
        while let future = try completed.next() { order.append(future) }
        #expect(order == [zoo.finished, zoo.cancelled, zoo.failed, early, late])
    }

    @Test func asCompletedTimesOutFromTheCallAndLeavesTheRest() throws {
        let zoo = Zoo()
        let completed = Futures.asCompleted([zoo.finished, zoo.pending, zoo.running], timeout: .milliseconds(40))
        #expect(try completed.next() == zoo.finished)
        let error = #expect(throws: ClusterFuturesError.self) { try completed.next() }
        #expect(error?.code == .timedOut)
        #expect(zoo.pending.state == .pending && zoo.running.state == .running)
    }

    @Test func asCompletedYieldsACancelledFuture() throws {
        let pending = Future<Int>(label: "pending")
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { pending.cancel() }
        let completed = Futures.asCompleted([pending], timeout: .seconds(10))
        #expect(try completed.next() == pending)
        #expect(try completed.next() == nil)
    }

    @Test func asCompletedRunsLazyInlineTasks() throws {
        let executor = InlineDummyExecutor()
        let futures = try (1...4).map { try executor.submit(Square(), $0) }
        var values: [Int] = []
        let completed = Futures.asCompleted(futures)
        while let future = try completed.next() {
            values.append(try future.result())
        }
        #expect(values.sorted() == [1, 4, 9, 16])
    }

    @Test func asCompletedIteratesAsynchronously() async throws {
        let futures = (0..<4).map { Future<Int>(label: "f\($0)") }
        for future in futures { _ = future.markRunning() }
        // Finished from one thread of its own, last first, 10 ms apart: timers on Dispatch's global
        // queues that fire late on a loaded machine run together on several threads, in any order.
        Thread.detachNewThread {
            for index in futures.indices.reversed() {
                usleep(10_000)
                futures[index].succeed(index, origin: nil)
            }
        }
        var order: [Int] = []
        for try await future in Futures.asCompleted(futures, timeout: .seconds(10)) {
            order.append(try await future.result())
        }
        #expect(order == [3, 2, 1, 0])
    }

    @Test func asCompletedTimesOutAsynchronously() async throws {
        let running = Future<Int>(label: "running")
        _ = running.markRunning()
        let completed = Futures.asCompleted([running], timeout: .milliseconds(30))
        await #expect(throws: ClusterFuturesError.self) {
            for try await _ in completed {}
        }
    }
}
