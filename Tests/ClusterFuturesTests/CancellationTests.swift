import ClusterFutures
import ClusterFuturesTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

/// Cancelling the Swift task that iterates `map`'s results or `Futures.asCompleted` with
/// `for try await`, or that awaits a future: the iteration throws `CancellationError` before the
/// results run out, even from a suspended wait; `map` cancels the chunks it has not started, and
/// `asCompleted` leaves the caller's futures alone.
///
/// The iterations run 40 tasks of 200 ms on one worker, about 8 s, and their task is cancelled after
/// 350 ms, from a thread of its own (not the test's own task, nor a Dispatch timer, which a busy
/// cooperative pool can hold up). Times bound nothing but hangs.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CancellationTests {
    init() throws { try TestFunctions.register() }

    /// A bound that only catches hangs.
    static let hang: Duration = .seconds(60)

    /// The inputs of every iteration here, and how long each task takes.
    static let inputs = 0..<40
    /// Long enough that chunks are still queued when a late-scheduled iteration sees its cancel: with
    /// 50 ms tasks (2 s in all), CI once ran the cancelled iteration so late that all 40 had finished.
    static let taskMilliseconds = 200

    /// Fewer than half the results: with the 350 ms cancel, a prompt stop delivers about 2.
    static let farFewer = 20

    /// Shuts `pool` down once its running tasks finish, cancelling what is still queued, so that a
    /// test does not wait for the rest of its 8 s of work. (A plain `shutdown()` after a cancelled
    /// future once never returned; the contract scenario `shutdown-after-cancelling-a-queued-future`
    /// covers that on every executor.)
    private func finish(_ pool: LocalProcessPoolExecutor) {
        pool.shutdown(wait: true, cancelFutures: true)
    }

    private func pool(tasksInFlight: Int) throws -> LocalProcessPoolExecutor {
        var configuration = LocalProcessPoolExecutor.Configuration()
        configuration.workers = 1
        configuration.tasksInFlightPerWorker = tasksInFlight
        return try LocalProcessPoolExecutor(configuration)
    }

    // MARK: map

    @Test(arguments: zip([InlineDummyExecutor.Mode.eager, .lazy], [4, nil] as [Int?]))
    func cancellingTheTaskEndsMapOnTheInlineExecutor(mode: InlineDummyExecutor.Mode, bufferSize: Int?) async throws {
        let spy = SpyExecutor(InlineDummyExecutor(mode: mode))
        let run = await Iteration.cancelled(afterMilliseconds: 350) {
            try spy.map(SleepThenReturn(milliseconds: Self.taskMilliseconds), Self.inputs, bufferSize: bufferSize)
        }
        #expect(run.error is CancellationError, "the iteration ended with \(String(describing: run.error))")
        #expect(run.received < Self.farFewer, "\(run.received) of 40 results arrived")
        #expect(run.receivedAfterCancel <= 1, "\(run.receivedAfterCancel) results arrived after the cancel")
        let futures = spy.futures
        let finished = futures.count { $0.state == .finished }
        #expect(futures.allSatisfy { $0.isDone }, "no chunk is left pending: \(futures.map(\.state))")
        #expect(finished < Self.farFewer, "\(finished) of 40 tasks ran")
        switch mode {
        case .eager:
            // Eager tasks run in submit: the ones not run were never submitted.
            #expect(futures.count < Self.farFewer + 4, "\(futures.count) of 40 chunks were submitted")
        case .lazy:
            #expect(futures.count == 40)
            #expect(futures.count { $0.isCancelled } == 40 - finished, "the chunks not run were cancelled")
        }
    }

    @Test func cancellingTheTaskEndsMapOnAProcessPoolAndCancelsThePendingChunks() async throws {
        let pool = try pool(tasksInFlight: 2)
        defer { finish(pool) }
        let spy = SpyExecutor(pool)
        let run = await Iteration.cancelled(afterMilliseconds: 350) {
            try spy.map(SleepThenReturn(milliseconds: Self.taskMilliseconds), Self.inputs)
        }
        // As the error reaches the caller, every chunk not handed to the worker is already cancelled.
        let states = spy.futures.map(\.state)
        #expect(run.error is CancellationError, "the iteration ended with \(String(describing: run.error))")
        #expect(run.received < Self.farFewer, "\(run.received) of 40 results arrived")
        #expect(run.receivedAfterCancel <= 1, "\(run.receivedAfterCancel) results arrived after the cancel")
        #expect(states.count == 40)
        #expect(!states.contains(.pending), "no chunk is left pending: \(states)")
        // Not started means not handed to the worker, whose window holds 2: every other chunk that
        // had not finished is cancelled. (How many finished depends on when the cancel lands; on a
        // loaded machine, with other suites running, 31 had.)
        #expect(states.count { $0 == .running } <= 2, "only the worker's window was running: \(states)")
        #expect(states.contains(.cancelled), "the chunks not started were cancelled: \(states)")
        finish(pool)
        // The pool ran only what it had started: every chunk not cancelled then finished, none more.
        let cancelled = states.count { $0 == .cancelled }
        #expect(spy.futures.count { $0.state == .finished } == 40 - cancelled, "the pool ran only what it had started")
    }

    @Test func cancellingTheTaskEndsMapResultsAsItEndsMap() async throws {
        let pool = try pool(tasksInFlight: 2)
        defer { finish(pool) }
        for executor in [InlineDummyExecutor(mode: .lazy), pool] as [any Executor] {
            let spy = SpyExecutor(executor)
            let run = await Iteration.cancelled(afterMilliseconds: 350) {
                try spy.mapResults(SleepThenReturn(milliseconds: Self.taskMilliseconds), Self.inputs)
            }
            let states = spy.futures.map(\.state)
            #expect(run.error is CancellationError, "the iteration ended with \(String(describing: run.error))")
            #expect(run.received < Self.farFewer, "\(run.received) of 40 results arrived")
            #expect(run.receivedAfterCancel <= 1, "\(run.receivedAfterCancel) results arrived after the cancel")
            #expect(!states.contains(.pending) && states.contains(.cancelled), "the chunks not started were cancelled: \(states)")
        }
    }

    @Test func mapThrowsFromItsWaitWithoutWaitingForTheResult() async throws {
        // One task in flight: the first chunk runs for 20 s, the second waits in the pool's queue.
        // Long, because this async test resumes only when a thread of Swift's cooperative pool is
        // free, which, with other suites' blocking tests running, has taken several seconds.
        let pool = try pool(tasksInFlight: 1)
        // Not waiting for the first chunk: its worker ends with the pool.
        defer { pool.shutdown(wait: false, cancelFutures: true) }
        let spy = SpyExecutor(pool)
        let task = Task { () async -> (any Error)? in
            do {
                for try await _ in try spy.map(SleepThenReturn(milliseconds: 20_000), [0, 1]) {
                    return ClusterFuturesError(.invalidArgument, "a result arrived")
                }
                return nil
            } catch {
                return error
            }
        }
        try await waitUntil { spy.futures.first?.state == .running }
        task.cancel()
        let error = await task.value
        let states = spy.futures.map(\.state)
        #expect(error is CancellationError, "the iteration ended with \(String(describing: error))")
        #expect(states == [.running, .cancelled], "the wait ended before the first result, and the second chunk was cancelled")
    }

    @Test func mapInACancelledTaskThrowsBeforeItsFirstResult() async throws {
        let spy = SpyExecutor(InlineDummyExecutor(mode: .eager))
        let task = Task { () async throws -> (error: (any Error)?, afterwards: Int?) in
            while !Task.isCancelled { await Task.yield() }
            let results = try spy.map(Square(), 0..<10, bufferSize: 2)  // the first two are done at once
            do {
                for try await _ in results { return (ClusterFuturesError(.invalidArgument, "a result arrived"), nil) }
                return (nil, nil)
            } catch {
                return (error, try Self.nextInSyncCode(results))
            }
        }
        task.cancel()
        let (error, afterwards) = try await task.value
        #expect(error is CancellationError, "the iteration ended with \(String(describing: error))")
        #expect(spy.futures.count == 2, "nothing more was submitted")
        #expect(afterwards == nil, "the cancelled iteration is over")
    }

    // MARK: asCompleted

    @Test func cancellingTheTaskEndsAsCompletedOnAProcessPoolAndLeavesTheFutures() async throws {
        let pool = try pool(tasksInFlight: 2)
        defer { finish(pool) }
        let futures = try Self.inputs.map { try pool.submit(SleepThenReturn(milliseconds: Self.taskMilliseconds), $0) }
        let seen = Mutex<[FutureState]>([])
        let run = await Iteration.cancelled(afterMilliseconds: 350, { Futures.asCompleted(futures) },
                                            ended: { seen.withLock { $0 = futures.map(\.state) } })
        let states = seen.withLock { $0 }
        #expect(run.error is CancellationError, "the iteration ended with \(String(describing: run.error))")
        #expect(run.received < Self.farFewer, "\(run.received) of 40 futures were yielded")
        #expect(run.receivedAfterCancel <= 1, "\(run.receivedAfterCancel) futures were yielded after the cancel")
        #expect(!states.contains(.cancelled), "the caller's futures were left alone: \(states)")
        // (Whether some were still pending when it ended depends on how soon this machine runs the
        // cancelled task: with every cooperative thread busy in other tests, all 40 may be done
        // by then. What does not depend on it: fewer than 40 were yielded, none after the cancel.)
        // They go on to finish, each with its value.
        let (done, notDone) = try await Futures.wait(futures, timeout: Self.hang)
        #expect(done.count == 40 && notDone.isEmpty)
        var values: [Int] = []
        for future in futures { values.append(try await future.result(timeout: .zero)) }
        #expect(values == Array(Self.inputs))
    }

    @Test func cancellingTheTaskEndsAsCompletedOnTheLazyInlineExecutor() async throws {
        let executor = InlineDummyExecutor(mode: .lazy)
        let futures = try Self.inputs.map { try executor.submit(SleepThenReturn(milliseconds: Self.taskMilliseconds), $0) }
        let run = await Iteration.cancelled(afterMilliseconds: 350) { Futures.asCompleted(futures) }
        #expect(run.error is CancellationError, "the iteration ended with \(String(describing: run.error))")
        #expect(run.received < Self.farFewer, "\(run.received) of 40 futures were yielded")
        #expect(run.receivedAfterCancel <= 1, "\(run.receivedAfterCancel) futures were yielded after the cancel")
        // Each yielded future is one lazy task run; the others are untouched, still to run on demand.
        #expect(futures.count { $0.state == .finished } == run.received)
        #expect(futures.count { $0.state == .pending } == 40 - run.received, "the others were left alone")
        #expect(try await futures.last?.result() == 39, "and still run when asked")
    }

    @Test func asCompletedThrowsFromItsWaitAndLeavesTheFutures() async throws {
        // One task in flight: the first future runs for 60 s (long enough to be seen running however
        // late this task is scheduled), the second waits in the pool's queue. The pool is stopped
        // at the end rather than waited for.
        let pool = try pool(tasksInFlight: 1)
        defer { pool.killWorkers() }
        let futures = try [0, 1].map { try pool.submit(SleepThenReturn(milliseconds: 60_000), $0) }
        let task = Task { () async -> (any Error)? in
            do {
                for try await _ in Futures.asCompleted(futures) {
                    return ClusterFuturesError(.invalidArgument, "a future was yielded")
                }
                return nil
            } catch {
                return error
            }
        }
        try await waitUntil { futures[0].state == .running }
        task.cancel()
        let error = await task.value
        let states = futures.map(\.state)
        #expect(error is CancellationError, "the iteration ended with \(String(describing: error))")
        #expect(states == [.running, .pending], "the wait ended before the first result, and the futures were left alone")
    }

    @Test func asCompletedInACancelledTaskThrowsBeforeItsFirstFuture() async throws {
        let executor = InlineDummyExecutor(mode: .eager)
        let futures = try (0..<10).map { try executor.submit(Square(), $0) }  // all done already
        let error = await errorInACancelledTask {
            for try await _ in Futures.asCompleted(futures) {
                throw ClusterFuturesError(.invalidArgument, "a future was yielded")
            }
        }
        #expect(error is CancellationError, "the iteration ended with \(String(describing: error))")
    }

    // MARK: Future.value

    @Test func awaitingALazyFutureInACancelledTaskCancelsItWithoutRunningIt() async throws {
        let token = UUID().uuidString
        let future = try InlineDummyExecutor(mode: .lazy).submit(CountCalls(token: token), 7)
        let error = await errorInACancelledTask { _ = try await future.value }
        #expect(error is CancellationError, "the await ended with \(String(describing: error))")
        #expect(CallCounter.count(token) == 0, "the lazy task did not run in the cancelled task")
        #expect(future.isCancelled)
    }

    // MARK: Helpers


    /// The blocking `next()`, to see whether an iteration is over from a cancelled task: there the
    /// awaited `next()` throws `CancellationError` before it looks.
    private static func nextInSyncCode<Element>(_ results: MapResults<Element>) throws -> Element? {
        try results.next()
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

/// What an asynchronous iteration saw when its task was cancelled part-way through.
struct Iteration {
    /// What the iteration threw; nil when it ran to its end.
    var error: (any Error)?
    /// How many elements arrived in all.
    var received: Int
    /// How many of them arrived after the task was cancelled.
    var receivedAfterCancel: Int

    /// Iterates the sequence `make` returns in a new task, and cancels that task after `milliseconds`.
    /// `ended` runs in the iterating task as soon as the iteration ends, before this returns: what
    /// it looks at is seen then, however late the caller resumes on a loaded machine.
    static func cancelled<S: AsyncSequence & SendableMetatype>(
        afterMilliseconds milliseconds: Int,
        _ make: @escaping @Sendable () throws -> S,
        ended: @escaping @Sendable () -> Void = {}
    ) async -> Iteration {
        let counts = Counts()
        let task = Task { () async -> (any Error)? in
            defer { ended() }
            do {
                for try await _ in try make() { counts.receive() }
                return nil
            } catch {
                return error
            }
        }
        // From a thread of its own: Dispatch's global queues share their threads with Swift's
        // cooperative pool here, and a timer on them fired a second late while other suites'
        // blocking tests held every thread (with 50 ms tasks, 20 results were yielded instead of about 7).
        Thread.detachNewThread {
            usleep(useconds_t(milliseconds * 1000))
            counts.markCancel()
            task.cancel()
        }
        let error = await task.value
        let (received, atCancel) = counts.snapshot
        return Iteration(error: error, received: received, receivedAfterCancel: received - (atCancel ?? received))
    }
}

/// Elements received, and how many there were when the cancel came.
private final class Counts: Sendable {
    private let state = Mutex<(received: Int, atCancel: Int?)>((0, nil))

    func receive() { state.withLock { $0.received += 1 } }

    func markCancel() { state.withLock { $0.atCancel = $0.received } }

    var snapshot: (received: Int, atCancel: Int?) { state.withLock { $0 } }
}
