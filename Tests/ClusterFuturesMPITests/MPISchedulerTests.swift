@_spi(ExecutorImplementation) import ClusterFutures
@testable import ClusterFuturesMPI
import ClusterFuturesMPITestSupport
import ClusterFuturesTestSupport
import Logging
import Testing

/// The MPI pool's scheduler (`MPIDispatcher`) on worker ranks in memory: no `mpiexec`, no thread,
/// no real time. Each test makes rounds by hand, makes the ranks say what it wants, and looks at
/// what each was sent and how the futures ended. The process pool's scheduler has the same tests
/// on its in-memory transport (`SchedulerTests`).
@Suite("The MPI pool's scheduler, on ranks in memory")
struct MPISchedulerTests {
    init() throws { try TestFunctions.register() }

    /// A dispatcher over ``InMemoryRanks`` of a world of `size`, with a clock the test moves.
    final class Harness {
        let ranks: InMemoryRanks
        let dispatcher: MPIDispatcher
        let clock = ManualClock()

        init(size: Int) throws {
            ranks = InMemoryRanks(size: size)
            let clock = self.clock
            dispatcher = try MPIDispatcher(ranks: ranks, worldSize: size, now: { clock.now }, startsThread: false)
        }

        func client(initializer: WorkerInitializer? = nil, logger: Logger? = nil) throws -> MPIDispatcher.Client {
            if let logger { return try dispatcher.addClient(initializer: initializer, logger: logger) }
            return try dispatcher.addClient(initializer: initializer)
        }

        /// Every rank in `indices` says hello, and a round takes the hellos in.
        func welcome(_ indices: Int...) {
            for index in indices { ranks[index].sayHello() }
            step()
        }

        /// Rounds: each takes in what the ranks said, then sends what it can.
        func step(_ count: Int = 2) {
            for _ in 0..<count { dispatcher.stepForTesting() }
        }

        func submit<F: RemoteFunction>(_ function: F, _ input: F.Input, to client: MPIDispatcher.Client) throws -> Future<F.Output> {
            let made = try Job.single(function, input, registry: .shared)
            if let job = made.job { try dispatcher.enqueue(job, for: client) }
            return made.future
        }
    }

    // MARK: Log records

    /// A record as a rank forwards it.
    static func record(_ level: Logger.Level, _ message: String) -> [UInt8] {
        ForwardedLogRecord(level: level, message: message, label: "rank-logger", source: "Ranks", file: "Ranks/Task.swift",
                           function: "run()", line: 7).encoded()
    }

    @Test func aRankLogsAtTheLevelOfTheExecutorWhoseTasksItRunsAndItsRecordsGoToThatExecutorsLogger() throws {
        let pool = try Harness(size: 2)
        let quiet = LogCapture(), chatty = LogCapture()
        let a = try pool.client(logger: quiet.logger(level: .error))
        let b = try pool.client(logger: chatty.logger(level: .debug))
        pool.welcome(1)
        let rank = pool.ranks[1]
        let first = try pool.submit(Square(), 2, to: a)
        pool.step()
        #expect(rank.startNextTask())
        #expect(rank.logLevels == [Logger.Level.error.wireCode], "the level came before the task")
        rank.say(Self.record(.error, "from a task of a"), tag: PoolTag.log)
        // Sent against the level: the executor's logger still drops it.
        rank.say(Self.record(.info, "below a's level"), tag: PoolTag.log)
        rank.finishTask()
        pool.step()
        #expect(try first.result(timeout: .zero) == 4)
        let second = try pool.submit(Square(), 3, to: b)
        let third = try pool.submit(Square(), 4, to: b)
        pool.step()
        #expect(rank.startNextTask())
        #expect(rank.logLevels == [Logger.Level.error.wireCode, Logger.Level.debug.wireCode], "once per change")
        rank.say(Self.record(.debug, "from a task of b"), tag: PoolTag.log)
        rank.runNextTask()
        rank.runNextTask()
        pool.step()
        #expect(try second.result(timeout: .zero) == 9 && third.result(timeout: .zero) == 16)
        // Between tasks (a thread a task left running): the executor it ran tasks for last.
        rank.say(Self.record(.warning, "between tasks"), tag: PoolTag.log)
        pool.step()
        #expect(quiet.records.map(\.message) == ["from a task of a"], "\(quiet.records)")
        #expect(chatty.records.map(\.message) == ["from a task of b", "between tasks"], "\(chatty.records)")
        for record in quiet.records + chatty.records {
            #expect(record.metadata["rank"] == "1" && record.metadata["worker"] == "0" && record.metadata["pid"] == "1001"
                    && record.metadata["host"] == "memory" && record.metadata["label"] == "rank-logger", "\(record)")
            #expect(record.source == "Ranks" && record.file == "Ranks/Task.swift" && record.function == "run()" && record.line == 7)
        }
        pool.dispatcher.finishForTesting()
        #expect(!rank.startNextTask() && rank.stopped, "told to stop, once the records were in")
    }

    @Test func aMalformedLogRecordBreaksThePoolWithAClearError() throws {
        let pool = try Harness(size: 2)
        let client = try pool.client(logger: LogCapture().logger(level: .critical))
        pool.welcome(1)
        let future = try pool.submit(Square(), 2, to: client)
        pool.step()
        #expect(pool.ranks[1].startNextTask())
        pool.ranks[1].say([0xff, 0x00], tag: PoolTag.log)
        pool.step()
        let error = #expect(throws: ClusterFuturesError.self) { _ = try future.result(timeout: .zero) }
        #expect(error?.code == .protocolViolation && error?.message.contains("rank 1 sent a malformed log record") == true,
                "\(error?.message ?? "")")
        pool.ranks[1].finishTask()
        pool.dispatcher.finishForTesting()
    }

    // MARK: Dispatch

    @Test func anIdleRankComesFirstAndAStartingOneIsWaitedFor() throws {
        let pool = try Harness(size: 3)
        let client = try pool.client()
        pool.welcome(1)
        let a = try pool.submit(Square(), 3, to: client)
        let b = try pool.submit(Square(), 4, to: client)
        pool.step()
        #expect(pool.ranks[1].queuedTasks == 1, "A went to the rank that said hello, and nothing was sent ahead of it")
        #expect(b.state == .pending, "B waits for the rank still starting, not behind A")
        pool.welcome(2)
        #expect(pool.ranks[2].queuedTasks == 1, "B went to rank 2 once it said hello")
        pool.ranks[1].runNextTask()
        pool.ranks[2].runNextTask()
        pool.step()
        #expect(try a.result(timeout: .zero) == 9)
        #expect(try b.result(timeout: .zero) == 16)
    }

    @Test func oneTaskIsSentAheadAndMoreOnlyWhileTasksAreQuick() throws {
        let pool = try Harness(size: 2)
        let client = try pool.client()
        pool.welcome(1)
        let futures = try (0..<4).map { try pool.submit(Square(), $0, to: client) }
        pool.step()
        #expect(pool.ranks[1].queuedTasks == 2, "the running task and one ahead of it")
        pool.clock.advance(.microseconds(50))
        pool.ranks[1].runNextTask()
        pool.step()
        #expect(pool.ranks[1].queuedTasks == 3, "a quick answer widens the window: the other two went")
        while pool.ranks[1].runNextTask() {}
        pool.step()
        #expect(try futures.map { try $0.result(timeout: .zero) } == [0, 1, 4, 9])
    }

    @Test func tasksSentAheadOfALongOneAreTakenBackForAnIdleRank() throws {
        let pool = try Harness(size: 3)
        let client = try pool.client()
        pool.welcome(1, 2)
        let long = try pool.submit(SleepMicroseconds(), 0, to: client)
        let second = try pool.submit(Square(), 5, to: client)
        let ahead = try pool.submit(Square(), 6, to: client)
        pool.step()
        #expect(pool.ranks[1].queuedTasks == 2 && pool.ranks[2].queuedTasks == 1, "long and ahead on rank 1, second on rank 2")
        pool.ranks[1].startNextTask()
        pool.ranks[2].runNextTask()
        pool.step()
        #expect(try second.result(timeout: .zero) == 25)
        #expect(ahead.state == .running, "sent, waiting behind the long task")
        // Rank 2 is idle, rank 1's task has run past 2 ms: rank 0 asks for what it sent ahead.
        pool.clock.advance(.milliseconds(3))
        pool.step()
        pool.ranks[1].answerReclaims()
        pool.step()
        #expect(pool.ranks[2].queuedTasks == 1, "the task taken back went to the idle rank")
        pool.ranks[2].runNextTask()
        pool.ranks[1].runNextTask()
        pool.step()
        #expect(try ahead.result(timeout: .zero) == 36)
        #expect(try long.result(timeout: .zero) == 0)
        #expect(!pool.ranks[1].runNextTask() && pool.ranks[1].skipped == 1, "rank 1 skipped the task it gave back")
    }

    @Test func aRequestThatFindsTheRankBetweenTasksTakesNothingBack() throws {
        let pool = try Harness(size: 3)
        let client = try pool.client()
        pool.welcome(1, 2)
        let futures = try [0, 1, 2].map { try pool.submit(SleepMicroseconds(), $0, to: client) }
        pool.step()
        pool.ranks[1].startNextTask()
        pool.ranks[2].runNextTask()
        pool.step()
        pool.clock.advance(.milliseconds(3))
        pool.step()
        // Rank 1 finishes its task before it sees the request: what was ahead is its own now.
        pool.ranks[1].finishTask()
        pool.ranks[1].runNextTask()
        pool.step()
        #expect(try futures.map { try $0.result(timeout: .zero) } == [0, 1, 2])
        #expect(pool.ranks[1].skipped == 0, "it had moved on: it ran what was sent ahead")
        // Its answer says so, and it takes work again.
        pool.ranks[1].answerReclaims()
        pool.step()
        let next = try [7, 8].map { try pool.submit(Square(), $0, to: client) }
        pool.step()
        #expect(pool.ranks[1].queuedTasks == 1 && pool.ranks[2].queuedTasks == 1)
        pool.ranks[1].runNextTask()
        pool.ranks[2].runNextTask()
        pool.step()
        #expect(try next.map { try $0.result(timeout: .zero) } == [49, 64])
    }

    @Test func executorsTakeTurns() throws {
        let pool = try Harness(size: 2)
        let first = try pool.client(), second = try pool.client()
        // Both queue before the rank says hello, so the order is the scheduler's.
        let a = try (0..<3).map { try pool.submit(Square(), $0, to: first) }
        let b = try pool.submit(Echo(), [7, 8], to: second)
        pool.welcome(1)
        while pool.ranks[1].runNextTask() { pool.step() }
        pool.step()
        #expect(pool.ranks[1].ran.map { $0.contains("Echo") } == [false, true, false, false], "\(pool.ranks[1].ran)")
        #expect(try b.result(timeout: .zero) == [7, 8])
        #expect(try a.map { try $0.result(timeout: .zero) } == [0, 1, 4])
    }

    // MARK: Failures

    @Test func aRankOfAnotherBuildBreaksThePool() throws {
        let pool = try Harness(size: 2)
        let client = try pool.client()
        let queued = try pool.submit(Square(), 2, to: client)
        pool.ranks[1].sayHello(build: "another-build")
        pool.step()
        let error = #expect(throws: ClusterFuturesError.self) { try queued.result(timeout: .zero) }
        #expect(error?.code == .brokenExecutor && error?.message.contains("refused rank 1") == true, "\(error?.message ?? "")")
        #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 3, to: client) }
    }

    @Test func aMessageWithAnUnknownTagFailsQueuedAndRunningWork() throws {
        let pool = try Harness(size: 2)
        let client = try pool.client()
        pool.welcome(1)
        let futures = try (0..<3).map { try pool.submit(Square(), $0, to: client) }
        pool.step()
        #expect(futures.map(\.state) == [.running, .running, .pending])
        pool.ranks[1].say([1, 2, 3], tag: 99)
        pool.step()
        for future in futures {
            let error = #expect(throws: ClusterFuturesError.self) { try future.result(timeout: .zero) }
            #expect(error?.code == .protocolViolation, "\(error?.message ?? "")")
        }
        let refused = #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 9, to: client) }
        #expect(refused?.code == .protocolViolation)
    }

    @Test func aFailingInitializerBreaksOnlyItsExecutor() throws {
        let pool = try Harness(size: 2)
        let failing = try pool.client(initializer: WorkerInitializer(FailOn([1]), 1))
        let healthy = try pool.client()
        pool.welcome(1)
        let doomed = try pool.submit(Square(), 2, to: failing)
        let fine = try pool.submit(Square(), 3, to: healthy)
        while pool.ranks[1].runNextTask() { pool.step() }
        pool.step()
        let error = #expect(throws: ClusterFuturesError.self) { try doomed.result(timeout: .zero) }
        #expect(error?.code == .brokenExecutor && error?.message.contains("initializer") == true, "\(error?.message ?? "")")
        #expect(try fine.result(timeout: .zero) == 9)
        #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 4, to: failing) }
        let later = try pool.submit(Square(), 5, to: healthy)
        pool.step()
        pool.ranks[1].runNextTask()
        pool.step()
        #expect(try later.result(timeout: .zero) == 25)
    }

    // MARK: Shutdown

    @Test func shutdownWithCancelFuturesCancelsOnlyThatExecutorsQueuedWork() throws {
        let pool = try Harness(size: 2)
        let first = try pool.client(), second = try pool.client()
        pool.welcome(1)
        let started = try pool.submit(Square(), 1, to: first)
        pool.step()
        let queued = try (2..<5).map { try pool.submit(Square(), $0, to: first) }
        let other = try pool.submit(Square(), 7, to: second)
        pool.dispatcher.shutdown(first, wait: false, cancelFutures: true)
        #expect(queued.allSatisfy { $0.state == .cancelled || $0.state == .running }, "queued work is cancelled, sent work runs")
        #expect(queued.contains { $0.state == .cancelled })
        #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 8, to: first) }
        pool.ranks[1].runsAtOnce = true
        while pool.ranks[1].runNextTask() {}
        pool.step(4)
        #expect(try started.result(timeout: .zero) == 1)
        #expect(try other.result(timeout: .zero) == 49, "the other executor's work is untouched")
    }

    @Test func finishingRunsEverythingQueuedThenStopsEveryRank() throws {
        let pool = try Harness(size: 3)
        let client = try pool.client()
        let futures = try (0..<6).map { try pool.submit(Square(), $0, to: client) }
        pool.dispatcher.shutdown(client, wait: false, cancelFutures: false)
        for index in [1, 2] { pool.ranks[index].runsAtOnce = true }
        pool.welcome(1, 2)
        pool.dispatcher.finishForTesting()
        #expect(try futures.map { try $0.result(timeout: .zero) } == [0, 1, 4, 9, 16, 25], "shut down without waiting, the work still ran")
        #expect(pool.ranks.ranks.allSatisfy { !$0.runNextTask() && $0.stopped }, "every rank was told to stop")
        let refused = #expect(throws: ClusterFuturesError.self) { _ = try pool.client() }
        #expect(refused?.code == .executorShutDown)
    }
}
