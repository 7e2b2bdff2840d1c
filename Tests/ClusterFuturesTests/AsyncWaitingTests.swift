@testable import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Synchronization
import Testing

/// The asynchronous forms of the blocking calls (`result`, `error`, `Futures.wait`, `collect`,
/// `next`, `shutdown`, `withExecutor`): their results, their timeouts, and the cancellation of the
/// awaiting task, on the inline executor and on a process pool.
///
/// A cancellation is shown prompt by what it leaves behind: the awaited task still running (a
/// 60 s task, whose pool is killed at the end), which it would not be had the await waited for it.
/// Inline, a wait has nothing to wait for but a future finished by another thread, made here by
/// hand.
@Suite(.serialized, .timeLimit(.minutes(2))) struct AsyncWaitingTests {
    init() throws { try TestFunctions.register() }

    /// A bound that only catches hangs.
    static let hang: Duration = .seconds(60)

    /// Long enough to be seen running however late a test's task is scheduled.
    static let longTask = SleepThenReturn(milliseconds: 60_000)

    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case inlineLazy = "inline, lazy"
        case inlineEager = "inline, eager"
        case processPool = "process pool"

        var testDescription: String { rawValue }

        func executor() throws -> any Executor {
            switch self {
            case .inlineLazy: InlineDummyExecutor(mode: .lazy)
            case .inlineEager: InlineDummyExecutor(mode: .eager)
            case .processPool: try LocalProcessPoolExecutor(workers: 2)
            }
        }
    }

    /// A pool of one worker that takes one task at a time: a second task waits, pending, behind the
    /// first.
    private func onePool() throws -> LocalProcessPoolExecutor {
        var configuration = LocalProcessPoolExecutor.Configuration()
        configuration.workers = 1
        configuration.tasksInFlightPerWorker = 1
        return try LocalProcessPoolExecutor(configuration)
    }

    /// A future that some other thread is running, and never finishes unless told.
    private func runningFuture() -> Future<Int> {
        let future = Future<Int>(label: "elsewhere")
        _ = future.markRunning()
        return future
    }

    // MARK: Future.result(timeout:) and AnyFuture.error(timeout:)

    @Test(arguments: Kind.allCases)
    func resultAndErrorAreAwaited(kind: Kind) async throws {
        let executor = try kind.executor()
        defer { executor.shutdown(wait: false, cancelFutures: true) }
        let square = try executor.submit(Square(), 7)
        let failing = try executor.submit(FailOn([3]), 3)
        #expect(try await square.result() == 49)
        #expect(try await square.result(timeout: .seconds(10)) == 49, "asked again")
        #expect(try await square.error() == nil)
        await #expect(throws: TaskFailure.self) { try await failing.result(timeout: Self.hang) }
        #expect(try await failing.error(timeout: Self.hang) is TaskFailure)
    }

    @Test func resultTimesOutAndLeavesTheFuture() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        let long = try pool.submit(Self.longTask, 1)
        let elsewhere = runningFuture()
        for future in [long, elsewhere] {
            let error = await #expect(throws: ClusterFuturesError.self) { try await future.result(timeout: .milliseconds(50)) }
            #expect(error?.code == .timedOut)
            let errorTimeout = await #expect(throws: ClusterFuturesError.self) { try await future.error(timeout: .zero) }
            #expect(errorTimeout?.code == .timedOut)
        }
        try await waitUntil { long.isRunning }
        #expect(long.isRunning && elsewhere.isRunning, "a timeout changes nothing")
        elsewhere.succeed(5, origin: nil)
        #expect(try await elsewhere.result(timeout: .zero) == 5)
    }

    @Test func cancellingTheTaskEndsTheAwaitOfARunningFutureAndLeavesItRunning() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        let long = try pool.submit(Self.longTask, 1)
        try await waitUntil { long.isRunning }
        for future in [long, runningFuture()] {
            let result = await errorWhenCancelled { _ = try await future.result() }
            #expect(result is CancellationError, "the await ended with \(String(describing: result))")
            let error = await errorWhenCancelled { _ = try await future.error(timeout: Self.hang) }
            #expect(error is CancellationError, "the await ended with \(String(describing: error))")
            #expect(future.isRunning, "the future runs on")
        }
    }

    @Test func cancellingTheTaskCancelsAPendingFuture() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        _ = try pool.submit(Self.longTask, 1)
        let queued = try pool.submit(Square(), 3)
        let error = await errorWhenCancelled { _ = try await queued.result(timeout: Self.hang) }
        #expect(error is CancellationError, "the await ended with \(String(describing: error))")
        #expect(queued.isCancelled)
    }

    @Test func aLazyTaskIsNotRunInACancelledTask() async throws {
        let token = UUID().uuidString
        let executor = InlineDummyExecutor(mode: .lazy)
        let future = try executor.submit(CountCalls(token: token), 7)
        let error = await errorInACancelledTask { _ = try await future.result() }
        #expect(error is CancellationError, "the await ended with \(String(describing: error))")
        #expect(CallCounter.count(token) == 0 && future.isCancelled)
        let done = try executor.submit(CountCalls(token: token), 8)
        #expect(try await done.result() == 8, "the lazy task runs in the caller")
        #expect(CallCounter.count(token) == 1)
    }

    // MARK: Futures.wait

    @Test(arguments: Kind.allCases)
    func waitIsAwaited(kind: Kind) async throws {
        let executor = try kind.executor()
        defer { executor.shutdown(wait: false, cancelFutures: true) }
        let futures = try (0..<10).map { try executor.submit(FailOn([4]), $0) }
        let (done, notDone) = try await Futures.wait(futures, timeout: Self.hang)
        #expect(done == futures && notDone.isEmpty)
        let firstError = try await Futures.wait(futures, timeout: Self.hang, until: .firstError)
        #expect(firstError.done == futures)
        var values: [Int?] = []
        for future in done { values.append(try? await future.result()) }
        #expect(values == (0..<10).map { $0 == 4 ? nil : $0 * $0 })
    }

    @Test func waitRunsOnlyTheLazyTasksItNeeds() async throws {
        let executor = InlineDummyExecutor()
        let token = UUID().uuidString
        let futures = try (0..<5).map { try executor.submit(CountCalls(token: token), $0) }
        let (done, notDone) = try await Futures.wait(futures, until: .firstCompleted)
        #expect(done.count == 1 && notDone.count == 4)
        #expect(CallCounter.count(token) == 1)
    }

    @Test func waitTimesOutWithThePartition() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        let long = try pool.submit(Self.longTask, 1)
        let quick = try InlineDummyExecutor(mode: .eager).submit(Square(), 2)
        let elsewhere = runningFuture()
        let futures: [AnyFuture] = [long, quick, elsewhere]
        let started = ContinuousClock.now
        let (done, notDone) = try await Futures.wait(futures, timeout: .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(100))
        #expect(done == [quick] && notDone == [long, elsewhere])
    }

    @Test func cancellingTheTaskEndsAWaitAndLeavesTheFutures() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        let long = try pool.submit(Self.longTask, 1)
        let queued = try pool.submit(Square(), 3)
        try await waitUntil { long.isRunning }
        let elsewhere = runningFuture()
        let futures: [AnyFuture] = [long, queued, elsewhere]
        let error = await errorWhenCancelled { _ = try await Futures.wait(futures, timeout: Self.hang) }
        #expect(error is CancellationError, "the wait ended with \(String(describing: error))")
        #expect(long.isRunning && queued.state == .pending && elsewhere.isRunning, "the futures are the caller's")

        let lazy = try InlineDummyExecutor(mode: .lazy).submit(Square(), 4)
        let lazyError = await errorInACancelledTask { _ = try await Futures.wait([lazy]) }
        #expect(lazyError is CancellationError, "the wait ended with \(String(describing: lazyError))")
        #expect(lazy.state == .pending, "a cancelled wait runs no lazy task, and cancels none")
    }

    // MARK: MapResults.collect() and next()

    @Test(arguments: Kind.allCases)
    func collectAndNextAreAwaited(kind: Kind) async throws {
        let executor = try kind.executor()
        defer { executor.shutdown(wait: false, cancelFutures: true) }
        #expect(try await executor.map(Square(), 0..<50, chunkSize: 4, bufferSize: 3).collect() == (0..<50).map { $0 * $0 })
        let results = try executor.mapResults(FailOn([1]), 0..<3, unordered: true)
        var items: [(index: Int, value: Int?)] = []
        while let (index, result) = try await results.next() { items.append((index, try? result.get())) }
        #expect(items.sorted { $0.index < $1.index }.map(\.value) == [0, nil, 4])
        let completed = Futures.asCompleted(try (0..<5).map { try executor.submit(Square(), $0) }, timeout: Self.hang)
        var squares: [Int] = []
        while let future = try await completed.next() { squares.append(try await future.result()) }
        #expect(squares.sorted() == [0, 1, 4, 9, 16])
    }

    @Test(arguments: [Kind.inlineLazy, .processPool])
    func collectThrowsAtTheMapsTimeout(kind: Kind) async throws {
        let executor = try kind.executor()
        defer { executor.shutdown(wait: false, cancelFutures: true) }
        let results = try executor.map(SleepThenReturn(milliseconds: 40), 0..<50, timeout: .milliseconds(100))
        let error = await #expect(throws: ClusterFuturesError.self) { try await results.collect() }
        #expect(error?.code == .timedOut)
        let elsewhere = runningFuture()
        let completed = Futures.asCompleted([elsewhere], timeout: .milliseconds(50))
        let timedOut = await #expect(throws: ClusterFuturesError.self) { try await completed.next() }
        #expect(timedOut?.code == .timedOut)
    }

    @Test func cancellingTheTaskEndsCollectAndCancelsThePendingChunks() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        let spy = SpyExecutor(pool)
        let error = await errorWhenCancelled(once: { spy.futures.first?.isRunning == true }) {
            _ = try await spy.mapResults(Self.longTask, [0, 1]).collect()
        }
        #expect(error is CancellationError, "collect ended with \(String(describing: error))")
        #expect(spy.futures.map(\.state) == [.running, .cancelled], "the wait ended before the first result")

        let inline = SpyExecutor(InlineDummyExecutor(mode: .lazy))
        let lazyError = await errorInACancelledTask { _ = try await inline.map(Square(), 0..<4).collect() }
        #expect(lazyError is CancellationError, "collect ended with \(String(describing: lazyError))")
        #expect(inline.futures.count == 4 && inline.futures.allSatisfy { $0.isCancelled }, "no lazy task ran")
    }

    // MARK: shutdown and withExecutor

    @Test(arguments: Kind.allCases)
    func shutdownIsAwaitedUntilTheWorkIsDone(kind: Kind) async throws {
        let executor = try kind.executor()
        let futures = try (0..<4).map { try executor.submit(SleepThenReturn(milliseconds: 100), $0) }
        await executor.shutdown()
        #expect(executor.isShutDown)
        #expect(futures.allSatisfy { $0.state == .finished }, "\(futures.map(\.state))")
        #expect(throws: ClusterFuturesError.self) { _ = try executor.submit(Square(), 1) }
    }

    @Test func shutdownCancelsWhatHasNotStarted() async throws {
        let executor = InlineDummyExecutor(mode: .lazy)
        let futures = try (0..<4).map { try executor.submit(Square(), $0) }
        await executor.shutdown(cancelFutures: true)
        #expect(futures.allSatisfy { $0.isCancelled })
    }

    @Test func cancellingTheTaskEndsTheShutdownWaitAndTheShutdownGoesOn() async throws {
        let pool = try onePool()
        defer { pool.killWorkers() }
        let long = try pool.submit(Self.longTask, 1)
        let queued = try pool.submit(Square(), 3)
        try await waitUntil { long.isRunning }
        let returned = await errorWhenCancelled { await pool.shutdown(cancelFutures: true) }
        #expect(returned == nil)
        #expect(pool.isShutDown && long.isRunning && queued.isCancelled)
    }

    @Test(arguments: [Kind.inlineLazy, .processPool])
    func withExecutorAwaitsTheShutdown(kind: Kind) async throws {
        let executor = try kind.executor()
        let futures = try await withExecutor(executor) { executor in
            let futures = try (0..<3).map { try executor.submit(SleepThenReturn(milliseconds: 50), $0) }
            _ = try await futures[0].result()
            return futures
        }
        #expect(executor.isShutDown && futures.allSatisfy { $0.state == .finished })

        // One task at a time on the pool: the others wait in its queue, to be cancelled.
        let other: any Executor = kind == .processPool ? try onePool() : try kind.executor()
        let pending = Mutex<[Future<Int>]>([])
        await #expect(throws: PlainError.self) {
            try await withExecutor(other) { executor async throws in
                let futures = try (0..<20).map { try executor.submit(SleepThenReturn(milliseconds: 50), $0) }
                pending.withLock { $0 = futures }
                throw PlainError(reason: "body")
            }
        }
        let states = pending.withLock { $0.map(\.state) }
        #expect(other.isShutDown && !states.contains(.pending) && !states.contains(.running), "\(states)")
        #expect(states.contains(.cancelled), "what had not started was cancelled")
    }

    // MARK: Helpers

    /// Runs `body` in a new task and cancels the task once `condition` holds and `body` has had time
    /// to start waiting; returns what it threw, or nil.
    private func errorWhenCancelled(
        once condition: () -> Bool = { true },
        _ body: @escaping @Sendable () async throws -> Void
    ) async -> (any Error)? {
        let started = Atomic<Bool>(false)
        let task = Task { () async -> (any Error)? in
            started.store(true, ordering: .sequentiallyConsistent)
            do {
                try await body()
                return nil
            } catch {
                return error
            }
        }
        while !started.load(ordering: .sequentiallyConsistent) { await Task.yield() }
        try? await waitUntil(condition)
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        return await task.value
    }


    /// Polls `condition` until it holds; fails the test after ``hang``.
    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: Self.hang)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "the condition never held")
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
