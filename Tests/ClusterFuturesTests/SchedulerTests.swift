@_spi(ExecutorImplementation) @testable import ClusterFutures
import ClusterFuturesTestSupport
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The process pool's scheduler (`PoolIOLoop`) on the in-memory transport: no process, no thread,
/// no real time. Each test steps the loop by hand, makes the workers say what it wants, and looks
/// at what each was sent and how the futures ended.
@Suite("The pool scheduler, on an in-memory transport")
struct SchedulerTests {
    init() throws { try TestFunctions.register() }

    /// A pool over ``InMemoryTransport`` with a clock the test moves.
    final class Harness {
        let transport: InMemoryTransport
        let engine: ProcessPoolEngine
        private let clock = ManualClock()

        init(workers: Int, reclaimable: Bool = true, initializer: WorkerInitializer? = nil,
             maxTasksPerWorker: Int? = nil, spin: Duration = .zero) throws {
            let transport = InMemoryTransport(reclaimable: reclaimable)
            let clock = self.clock
            var logger = Logger(label: "SchedulerTests")
            logger.logLevel = .critical
            let settings = ProcessPoolEngine.Settings(
                workers: workers, executable: "in-memory", maxTasksPerWorker: maxTasksPerWorker, idleTimeout: nil,
                initializer: initializer, tasksInFlightPerWorker: 32, maxMessageBytes: 1 << 20, spin: spin,
                logger: logger)
            self.transport = transport
            self.engine = try ProcessPoolEngine(settings: settings, transport: { _ in transport }, now: { clock.now })
        }

        var workers: [InMemoryTransport.Worker] { transport.workers }

        /// Moves the clock on.
        func advance(_ duration: Duration) { clock.advance(duration) }

        /// Runs `count` steps of two turns of the loop each: a turn ends by taking in what the workers
        /// said, and the next acts on it (dispatches, sends). False once the pool has finished.
        @discardableResult
        func step(_ count: Int = 1) -> Bool {
            var running = true
            for _ in 0..<(2 * count) where running { running = engine.step() }
            return running
        }

        /// Every worker in `indices` says hello and, once welcomed, that it is ready.
        func welcome(_ indices: Int...) {
            for index in indices { workers[index].sayHello() }
            step()
            for index in indices { workers[index].sayReady() }
            step()
        }

        func submit(_ x: Int) throws -> Future<Int> {
            let made = try Job.single(Square(), x, registry: .shared)
            if let job = made.job { try engine.enqueue(job) }
            return made.future
        }

        /// Two ready workers, three tasks: a long one, which worker 0 starts; `second`'s square,
        /// which goes to worker 1 (idle first); `third`'s square, sent ahead to worker 0.
        func longTaskWithOneSentAhead(second: Int, third: Int) throws -> (long: Future<Int>, longID: UInt64,
                                                                          second: Future<Int>, ahead: Future<Int>) {
            welcome(0, 1)
            let long = try submitSleep(0)
            let secondFuture = try submit(second)
            let ahead = try submit(third)
            step()
            #expect(workers[0].taskIDs.count == 2 && workers[1].taskIDs.count == 1, "long and third on worker 0, second on 1")
            let longID = try #require(workers[0].startNextTaskWithoutFinishing())
            return (long, longID, secondFuture, ahead)
        }

        func submitSleep(_ microseconds: Int) throws -> Future<Int> {
            let made = try Job.single(SleepMicroseconds(), microseconds, registry: .shared)
            if let job = made.job { try engine.enqueue(job) }
            return made.future
        }
    }

    // MARK: Dispatch

    @Test func anIdleWorkerComesFirstAndAStartingOneIsWaitedFor() throws {
        let pool = try Harness(workers: 2)
        pool.welcome(0)
        let a = try pool.submit(3)
        let b = try pool.submit(4)
        pool.step()
        #expect(pool.workers[0].taskIDs.count == 1, "A went to the ready worker, and nothing was sent ahead of it")
        #expect(pool.workers[1].taskIDs.isEmpty)
        #expect(b.state == .pending, "B waits for the worker that is starting, not behind A")
        pool.welcome(1)
        #expect(pool.workers[1].taskIDs.count == 1, "B went to the second worker once it was ready")
        try pool.workers[0].runNextTask()
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(try a.result(timeout: .zero) == 9)
        #expect(try b.result(timeout: .zero) == 16)
    }

    @Test func oneTaskIsSentAheadAndMoreOnlyWhileTasksAreQuick() throws {
        let pool = try Harness(workers: 1)
        pool.welcome(0)
        let futures = try (0..<4).map { try pool.submit($0) }
        pool.step()
        #expect(pool.workers[0].taskIDs.count == 2, "the running task and one ahead of it")
        #expect(futures.map(\.state) == [.running, .running, .pending, .pending])
        // The first answer comes within 200 µs: the window grows, and two more go.
        pool.advance(.microseconds(50))
        try pool.workers[0].runNextTask()
        pool.step()
        #expect(pool.workers[0].taskIDs.count == 4)
        // A slow answer brings the window back: after it, one task ahead again.
        let more = try (0..<4).map { try pool.submit($0 + 10) }
        pool.advance(.milliseconds(5))
        try pool.workers[0].runNextTask()
        pool.step()
        pool.advance(.milliseconds(5))
        try pool.workers[0].runNextTask()
        pool.step()
        #expect(pool.workers[0].taskIDs.count == 5, "a slow task: nothing more ahead until a quick one")
        #expect(more.map(\.state) == [.running, .pending, .pending, .pending])
    }

    @Test func nothingIsSentToAWorkerWhoseTaskHasRunLong() throws {
        let pool = try Harness(workers: 1)
        pool.welcome(0)
        _ = try pool.submitSleep(1)
        pool.step()
        pool.advance(.milliseconds(1))
        let late = try pool.submit(2)
        pool.step()
        #expect(pool.workers[0].taskIDs.count == 1, "its task has run 1 ms: nothing is sent ahead of it")
        #expect(late.state == .pending)
    }

    @Test func tasksSentAheadOfALongOneAreTakenBackForAnIdleWorker() throws {
        let pool = try Harness(workers: 2)
        let (long, longID, other, ahead) = try pool.longTaskWithOneSentAhead(second: 6, third: 5)
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(try other.result(timeout: .zero) == 36)
        // Worker 1 is idle, but worker 0's task has run only 100 µs, as long as a quick task may:
        // nothing is taken back yet. (The MPI pool, whose ranks must answer a request, waits 2 ms.)
        pool.advance(.microseconds(100))
        pool.step()
        #expect(pool.workers[1].taskIDs.count == 1)
        pool.advance(.microseconds(150))
        pool.step()
        #expect(pool.workers[1].taskIDs.count == 2, "the task sent ahead of the long one went to the idle worker")
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(try ahead.result(timeout: .zero) == 25)
        // Worker 0 finishes its long task and then skips the one taken back, unanswered.
        #expect(try pool.workers[0].runNextTask()?.id == longID)
        let skipped = try pool.workers[0].runNextTask()
        #expect(skipped?.ran == false, "the worker skips a task taken back")
        pool.step()
        #expect(long.isDone)
    }

    @Test func thePoolSpinsAfterQuickAnswersAndSleepsWhileEveryWorkerRunsALongTask() throws {
        // A spin longer than the test: only the tasks' length decides whether the loop spins.
        let pool = try Harness(workers: 2, spin: .seconds(60))
        pool.welcome(0, 1)
        let quick = try (0..<4).map { try pool.submit($0) }
        pool.step()
        pool.advance(.microseconds(50))
        try pool.workers[0].runNextTask()
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(pool.engine.step(waiting: 1000))
        #expect(pool.transport.lastTimeout == 0, "after quick answers, with tasks out, it polls without sleeping")
        for worker in pool.workers { while try worker.runNextTask() != nil {} }
        pool.step()
        #expect(quick.allSatisfy { $0.state == .finished })

        // Long tasks: each worker runs one, with the next sent ahead.
        let long = try (0..<6).map { try pool.submitSleep($0) }
        pool.step()
        pool.advance(.milliseconds(5))
        try pool.workers[0].runNextTask()
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(pool.workers.allSatisfy { $0.taskIDs.count == 2 + 3 }, "each worker got its next long task at once")
        #expect(pool.engine.step(waiting: 1000))
        #expect(pool.transport.lastTimeout == 1000, "while every worker runs a long task, it blocks (here capped by the test)")
        #expect(long.filter { $0.state == .finished }.count == 2)
    }

    @Test func expectedAnswerIsNilWhileAnAnswerMayComeAtOnce() {
        final class Candidate: DispatchCandidate {
            var acceptsTasks = true
            var tasksInFlight: Int
            var window = PipelineWindow(limit: 8)
            var oldestSentAt: ContinuousClock.Instant? = .now
            var reclaimAfter = DispatchPolicy.reclaimAfter
            var nextReclaimAttempt: ContinuousClock.Instant?
            init(inFlight: Int, lastTook: Duration?) {
                tasksInFlight = inFlight
                if let lastTook {
                    let now = ContinuousClock.now
                    window.recordResult(sentAt: now - lastTook, now: now)
                }
            }
        }
        #expect(DispatchPolicy.expectedAnswer(among: [Candidate]()) == nil, "no worker: nothing to wait for")
        #expect(DispatchPolicy.expectedAnswer(among: [Candidate(inFlight: 1, lastTook: nil)]) == nil, "no answer yet: may be quick")
        #expect(DispatchPolicy.expectedAnswer(among: [Candidate(inFlight: 1, lastTook: .milliseconds(3)),
                                                      Candidate(inFlight: 1, lastTook: .microseconds(50))]) == nil,
                "one busy worker's tasks are quick")
        #expect(DispatchPolicy.expectedAnswer(among: [Candidate(inFlight: 2, lastTook: .milliseconds(3)),
                                                      Candidate(inFlight: 1, lastTook: .milliseconds(2)),
                                                      Candidate(inFlight: 0, lastTook: .microseconds(10))]) == .milliseconds(2),
                "every busy worker's tasks are long: the shortest, an idle worker's quick one aside")
    }

    @Test func withoutAClaimWordNothingIsSentAheadUntilTasksProveQuick() throws {
        let pool = try Harness(workers: 1, reclaimable: false)
        pool.welcome(0)
        _ = try (0..<3).map { try pool.submit($0) }
        pool.step()
        #expect(pool.workers[0].taskIDs.count == 1)
    }

    // MARK: Lost workers

    @Test func aWorkerThatDiesFailsOnlyItsTaskTheOneAheadGoesElsewhereAndItIsReplaced() throws {
        let pool = try Harness(workers: 2)
        let (running, _, busy, ahead) = try pool.longTaskWithOneSentAhead(second: 6, third: 7)
        pool.workers[0].stderr = "Fatal error: boom"
        pool.workers[0].die(by: SIGILL)
        pool.step()
        let failure = #expect(throws: ClusterFuturesError.self) { try running.result(timeout: .zero) }
        #expect(failure?.code == .workerLost)
        #expect(failure?.message.contains("signal 4") == true && failure?.message.contains("Fatal error: boom") == true,
                "\(failure?.message ?? "")")
        #expect(pool.workers.count == 3, "a replacement was started")
        #expect(ahead.state == .running, "the task sent ahead of the crash is still to run")
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(pool.workers[1].taskIDs.count == 2, "it went to the next free worker")
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(try ahead.result(timeout: .zero) == 49)
        #expect(busy.isDone)
    }

    @Test func eachWorkerIsToldAFunctionOnceBeforeItsFirstTaskOfItAndAReplacementAgain() throws {
        let pool = try Harness(workers: 1)
        func kinds(_ worker: InMemoryTransport.Worker) -> [FrameKind] {
            worker.received.map(\.kind).filter { $0 == .define || $0 == .task }
        }
        pool.welcome(0)
        _ = try pool.submit(2)
        _ = try pool.submitSleep(0)
        pool.step()
        #expect(kinds(pool.workers[0]) == [.define, .task, .define, .task])
        let numbers = try pool.workers[0].received.filter { $0.kind == .define }.map { try NumberedTask.definition(in: $0.payload).number }
        #expect(numbers == [0, 1])
        try pool.workers[0].runNextTask()
        pool.step()
        let again = try pool.submit(3)
        pool.step()
        #expect(kinds(pool.workers[0]) == [.define, .task, .define, .task, .task], "no second definition")
        // It dies in the sleep; the square sent ahead goes to its replacement, which is told anew.
        pool.workers[0].die(by: SIGKILL)
        pool.step()
        pool.welcome(1)
        _ = try pool.submitSleep(0)
        pool.step()
        #expect(kinds(pool.workers[1]) == [.define, .task, .define, .task], "\(kinds(pool.workers[1]))")
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(try again.result(timeout: .zero) == 9)
    }

    @Test func aWorkerRetiredForACorruptAnswerFailsOnlyItsTask() throws {
        let pool = try Harness(workers: 1)
        pool.welcome(0)
        let first = try pool.submit(2)
        let second = try pool.submit(3)
        pool.step()
        let ids = pool.workers[0].taskIDs
        #expect(ids.count == 2)
        pool.workers[0].answer(ids[1], with: [1, 2, 3])  // answers the task it is not running
        pool.step()
        #expect(pool.workers[0].signals.contains(SIGKILL), "a worker that cannot be trusted is killed")
        pool.step()
        #expect(#expect(throws: ClusterFuturesError.self) { try first.result(timeout: .zero) }?.code == .protocolViolation)
        #expect(second.state == .running, "the task queued behind it was not failed")
        pool.welcome(1)
        try pool.workers[1].runNextTask()
        pool.step()
        #expect(try second.result(timeout: .zero) == 9)
    }

    // MARK: Breakage

    @Test func aWorkerOfAnotherBuildBreaksThePool() throws {
        let pool = try Harness(workers: 1)
        let queued = try pool.submit(2)
        pool.workers[0].sayHello(build: "another-build")
        #expect(pool.step(2) == false, "a broken pool finishes")
        let error = #expect(throws: ClusterFuturesError.self) { try queued.result(timeout: .zero) }
        #expect(error?.code == .brokenExecutor && error?.message.contains("another-build") == true)
        #expect(#expect(throws: ClusterFuturesError.self) { _ = try pool.submit(3) }?.code == .brokenExecutor)
    }

    @Test func aFailingInitializerBreaksThePool() throws {
        let initializer = try WorkerInitializer(Square(), 1)
        let pool = try Harness(workers: 1, initializer: initializer)
        let queued = try pool.submit(2)
        pool.workers[0].sayHello()
        pool.step()
        pool.workers[0].sayInitializerFailed("refused")
        pool.step()
        pool.step()
        let error = #expect(throws: ClusterFuturesError.self) { try queued.result(timeout: .zero) }
        #expect(error?.code == .brokenExecutor && error?.message.contains("refused") == true)
    }

    // MARK: Shutdown

    @Test func shutdownWithoutWaitingStillRunsQueuedWorkThenStopsTheWorkers() throws {
        let pool = try Harness(workers: 1)
        pool.welcome(0)
        let futures = try (0..<3).map { try pool.submitSleep($0) }
        pool.engine.shutdown(wait: false, cancelFutures: false)
        #expect(#expect(throws: ClusterFuturesError.self) { _ = try pool.submit(9) }?.code == .executorShutDown)
        for _ in 0..<3 {
            pool.step()
            pool.advance(.milliseconds(1))
            try pool.workers[0].runNextTask()
        }
        pool.step()
        #expect(futures.allSatisfy { $0.state == .finished }, "\(futures.map(\.state))")
        #expect(pool.workers[0].inputClosed, "the worker was told to stop once nothing was left")
        #expect(pool.step() == false, "the pool finishes when its worker has ended")
    }

    @Test func shutdownWithCancelFuturesCancelsWhatWasNotHandedToAWorker() throws {
        let pool = try Harness(workers: 1)
        pool.welcome(0)
        let futures = try (0..<4).map { try pool.submitSleep($0) }
        pool.step()
        pool.engine.shutdown(wait: false, cancelFutures: true)
        #expect(futures.map(\.state) == [.running, .running, .cancelled, .cancelled])
        try pool.workers[0].runNextTask()
        try pool.workers[0].runNextTask()
        pool.step()
        #expect(futures.prefix(2).allSatisfy { $0.state == .finished })
        #expect(pool.step(3) == false)
    }

    @Test func terminatingFailsRunningWorkCancelsQueuedWorkAndSignalsEveryWorker() throws {
        let pool = try Harness(workers: 1)
        pool.welcome(0)
        let futures = try (0..<3).map { try pool.submitSleep($0) }
        pool.step()
        pool.engine.terminate(signal: SIGTERM, by: "the test")
        #expect(futures[2].state == .cancelled)
        pool.step()
        #expect(pool.workers[0].signals.contains(SIGTERM))
        pool.step()
        for future in futures.prefix(2) {
            let error = #expect(throws: ClusterFuturesError.self) { try future.result(timeout: .zero) }
            #expect(error?.code == .workerLost && error?.message.contains("the test") == true, "\(error?.message ?? "")")
        }
        #expect(pool.step(3) == false)
    }
}
