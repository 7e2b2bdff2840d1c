import ClusterFutures
import ClusterFuturesTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The local process pool with real worker processes. The workers are copies of this test runner:
/// they turn into workers before the runner's own `main`, so no test runs in them.
@Suite(.serialized) struct LocalProcessPoolExecutorTests {
    init() throws { try TestFunctions.register() }

    /// A bound that only catches hangs.
    static let hang: Duration = .seconds(60)

    private func pool(_ workers: Int = 1, _ configure: (inout LocalProcessPoolExecutor.Configuration) -> Void = { _ in }) throws -> LocalProcessPoolExecutor {
        var configuration = LocalProcessPoolExecutor.Configuration()
        configuration.workers = workers
        configure(&configuration)
        return try LocalProcessPoolExecutor(configuration)
    }

    // MARK: Results and errors

    @Test func resultsComeFromWorkerProcesses() throws {
        let pool = try pool(2)
        defer { pool.shutdown() }
        #expect(pool.workerCount == 2)
        let future = try pool.submit(Square(), 12)
        #expect(try future.result(timeout: Self.hang) == 144)
        let origin = try #require(future.origin)
        #expect(origin.executor == "process")
        #expect(origin.pid != getpid())
        #expect(origin.worker != nil)
        #expect(try pool.submit(Scale(factor: 0.5), 9).result(timeout: Self.hang) == 4.5)
        let big = [UInt8](repeating: 0xAB, count: 3 << 20)
        #expect(try pool.submit(Echo(), big).result(timeout: Self.hang) == big)
        #expect(try pool.map(Square(), 0..<500, chunkSize: 7).collect() == (0..<500).map { $0 * $0 })
    }

    @Test func largeMessagesTakeEveryPath() throws {
        // 2 MiB messages go through the shared arena; when several are in flight at once the arena
        // is busy and the rest go inline through the pipe; 20 MiB is larger than the arena.
        let pool = try pool(1)
        defer { pool.shutdown() }
        let blobs = (0..<6).map { seed in
            var blob = [UInt8](repeating: UInt8(seed), count: 2 << 20)
            for index in stride(from: 0, to: blob.count, by: 4093) { blob[index] = UInt8(truncatingIfNeeded: index >> 12) }
            return blob
        }
        let futures = try blobs.map { try pool.submit(Echo(), $0) }
        for (blob, future) in zip(blobs, futures) {
            #expect(try future.result(timeout: Self.hang) == blob)
        }
        var huge = [UInt8](repeating: 0xA5, count: 20 << 20)
        for index in stride(from: 0, to: huge.count, by: 65_521) { huge[index] = UInt8(truncatingIfNeeded: index >> 16) }
        #expect(try pool.submit(Echo(), huge).result(timeout: Self.hang) == huge)
    }

    @Test func aLargeMessageWaitsForAFreeWorkerNotBehindABusyOne() throws {
        let pool = try pool(2) { $0.tasksInFlightPerWorker = 2 }
        // The sleeper is not waited for: its worker ends with the pool.
        defer { pool.killWorkers() }
        // The first worker sleeps; the second runs a 300 ms task. A 20 MiB message (too large for
        // the shared arena, so it goes through the pipe) is submitted while both are busy: it must
        // not be sent ahead to the sleeper, whose task is long, but wait for the second worker.
        // Small tasks submitted after it flow through the second worker as soon as it is free.
        // The sleeper sleeps 60 s, so that all this happens while it sleeps however loaded the
        // machine is (with 3 s, a loaded CI machine once took longer than that for the 40 tasks).
        _ = try pool.map(WorkerPID(), Array(repeating: 30, count: 8)).collect()
        let sleeper = try pool.submit(SleepThenReturn(milliseconds: 60_000), 0)
        while sleeper.state == .pending { usleep(1_000) }
        let brief = try pool.submit(SleepThenReturn(milliseconds: 300), 1)
        while brief.state == .pending { usleep(1_000) }
        let large = try pool.submit(Echo(), [UInt8](repeating: 9, count: 20 << 20))
        let small = try (0..<40).map { try pool.submit(Square(), $0) }
        let (done, notDone) = Futures.wait(small, timeout: .seconds(50))
        #expect(done.count == 40 && notDone.isEmpty, "small tasks flowed while the sleeper slept")
        #expect(!sleeper.isDone)
        #expect(try large.result(timeout: .seconds(50)).count == 20 << 20)
        #expect(!sleeper.isDone, "the large message did not wait behind the sleeper")
        #expect(large.origin?.worker == brief.origin?.worker && large.origin?.worker != sleeper.origin?.worker)
    }

    @Test func aCallbackRunsThoughNobodyKeptTheFuture() throws {
        let pool = try pool(1)
        defer { pool.shutdown() }
        let result = Mutex<Int?>(nil)
        let called = DispatchSemaphore(value: 0)
        try pool.submit(Square(), 9).addDoneCallback { future in
            result.withLock { $0 = try? future.result() }
            called.signal()
        }
        #expect(called.wait(timeout: .now() + .seconds(60)) == .success)
        #expect(result.withLock { $0 } == 81)
    }

    @Test func taskErrorsNameTheFunctionAndTheWorker() throws {
        let pool = try pool()
        defer { pool.shutdown() }
        let failure = #expect(throws: TaskFailure.self) { try pool.submit(FailOn([3]), 3).result(timeout: Self.hang) }
        #expect(failure?.functionName == FailOn.name)
        #expect(failure?.errorType == String(reflecting: PlainError.self))
        #expect(failure?.errorDescription == "plain error: input 3")
        #expect(failure?.origin.executor == "process")
        #expect(failure?.origin.pid != getpid())
        let registered = #expect(throws: RegisteredError.self) {
            try pool.submit(FailOn([4], kind: .registered), 4).result(timeout: Self.hang)
        }
        #expect(registered == RegisteredError(code: 4, detail: "input 4 is refused"))
        #expect(try pool.submit(Square(), 5).result(timeout: Self.hang) == 25, "a task's error fails only its future")
    }

    @Test func workerCountsBelowOneAreErrors() {
        for workers in [0, -2] {
            let error = #expect(throws: ClusterFuturesError.self) { _ = try LocalProcessPoolExecutor(workers: workers) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test func theDefaultSizeIsUsableCoresMinusOne() throws {
        let pool = try LocalProcessPoolExecutor()
        defer { pool.shutdown() }
        // Foundation counts the CPUs this process may use (affinity and cgroup quota) independently.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(pool.workerCount == max(1, cores - 1))
    }

    @Test func anUnregisteredFunctionFailsOnTheCallersSide() throws {
        let pool = try pool()
        defer { pool.shutdown() }
        let error = #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(NeverRegistered(), 1) }
        #expect(error?.code == .unregisteredFunction)
    }

    // MARK: Crashes

    @Test(arguments: CrashKind.allCases)
    func aCrashFailsOnlyItsTaskAndTheWorkerIsReplaced(kind: CrashKind) throws {
        let pool = try pool()
        defer { pool.shutdown() }
        let before = try pool.submit(WorkerPID(), 0).result(timeout: Self.hang)
        let error = #expect(throws: ClusterFuturesError.self) { try pool.submit(Crash(kind), 1).result(timeout: Self.hang) }
        #expect(error?.code == .workerLost)
        let message = error?.message ?? ""
        #expect(message.contains(Crash.name), "names the function: \(message)")
        #expect(message.contains("pid \(before)"), "names the pid: \(message)")
        switch kind {
        case .fatalError: #expect(message.contains("SIGILL") || message.contains("SIGTRAP"), "\(message)")
        case .segmentationFault: #expect(message.contains("SIGSEGV"), "\(message)")
        case .sigkill: #expect(message.contains("SIGKILL"), "\(message)")
        case .exit3: #expect(message.contains("exit status 3"), "\(message)")
        }
        let after = try pool.submit(WorkerPID(), 0).result(timeout: Self.hang)
        #expect(after != before, "a new worker took over")
        #expect(try pool.submit(Square(), 6).result(timeout: Self.hang) == 36, "the executor stays usable")
    }

    @Test func tasksQueuedBehindACrashRunElsewhereAndNothingIsLost() throws {
        let pool = try pool(2) { $0.tasksInFlightPerWorker = 4 }
        defer { pool.shutdown() }
        let futures = try (0..<60).map { try pool.submit(SquareOrCrash(crashOn: 17), $0) }
        let (done, notDone) = Futures.wait(futures, timeout: Self.hang)
        #expect(notDone.isEmpty && done.count == 60)
        for (input, future) in futures.enumerated() {
            if input == 17 {
                let error = #expect(throws: ClusterFuturesError.self) { try future.result() }
                #expect(error?.code == .workerLost)
            } else {
                #expect(try future.result() == input * input)
            }
        }
    }

    @Test(arguments: [CorruptChannel.Kind.unknownKind, .oversized, .truncated])
    func aCorruptMessageRetiresTheWorkerCleanly(kind: CorruptChannel.Kind) throws {
        let pool = try pool() { $0.maxMessageBytes = 1 << 30 }
        defer { pool.shutdown() }
        let error = #expect(throws: ClusterFuturesError.self) {
            try pool.submit(CorruptChannel(kind), 1).result(timeout: Self.hang)
        }
        #expect(error?.code == .protocolViolation)
        let message = error?.message ?? ""
        switch kind {
        case .unknownKind: #expect(message.contains("unknown kind"), "\(message)")
        case .oversized: #expect(message.contains("oversized"), "\(message)")
        case .truncated: #expect(message.contains("truncated"), "\(message)")
        case .duplicateResult: Issue.record("covered by aWorkerRetiredForACorruptReplyRequeuesTheTaskQueuedBehind")
        }
        #expect(try pool.submit(Square(), 7).result(timeout: Self.hang) == 49)
    }

    @Test func aWorkerRetiredForACorruptReplyRequeuesTheTaskQueuedBehind() throws {
        let pool = try pool(1) { $0.tasksInFlightPerWorker = 2 }
        defer { pool.shutdown() }
        // Task 1 of this pool (ids count from 1) forges an answer to itself after 200 ms; the square,
        // sent ahead to the same worker by then, has not started when the worker's own answer to
        // task 1 follows and gets the worker retired.
        let forging = try pool.submit(CorruptChannel(.duplicateResult), 1)
        let queued = try pool.submit(Square(), 7)
        #expect(try queued.result(timeout: Self.hang) == 49, "the unstarted task ran on the next worker")
        #expect(forging.isDone)
        #expect(queued.origin?.pid != forging.origin?.pid, "not on the retired worker")
    }

    @Test func shortTasksDoNotQueueBehindALongOne() throws {
        let pool = try pool(2)
        // The long task is not waited for: its worker ends with the pool.
        defer { pool.killWorkers() }
        // 60 s, so that the short tasks run while it does however loaded the machine is.
        let long = try pool.submit(SleepThenReturn(milliseconds: 60_000), -1)
        let short = try (0..<20).map { try pool.submit(SleepThenReturn(milliseconds: 20), $0) }
        // One short task may have been sent to the busy worker before the pool saw the long one
        // was long; the rest go to the free worker.
        let (done, _) = Futures.wait(short, timeout: .seconds(50))
        #expect(done.count >= 19, "\(done.count) of 20 short tasks finished while the long one ran")
        #expect(!long.isDone)
    }

    @Test func aCrashErrorEndsWithTheWorkersLastWordsOnStderr() throws {
        let pool = try pool(1)
        defer { pool.shutdown() }
        let error = #expect(throws: ClusterFuturesError.self) {
            try pool.submit(FatalErrorSaying(), "boom-marker").result(timeout: Self.hang)
        }
        #expect(error?.code == .workerLost)
        let message = error?.message ?? ""
        #expect(message.contains("boom-marker"), "\(message)")
        #expect(message.contains("last words on stderr"), "\(message)")
        #expect(try pool.submit(Square(), 3).result(timeout: Self.hang) == 9)
    }

    @Test func onlyTheLastLinesOfAWorkersStderrGoInTheError() throws {
        let pool = try pool(1)
        defer { pool.shutdown() }
        let error = #expect(throws: ClusterFuturesError.self) {
            try pool.submit(WriteStderrThenExit(), 20).result(timeout: Self.hang)
        }
        let message = error?.message ?? ""
        #expect(message.contains("exit status 3"), "\(message)")
        #expect(message.hasSuffix("line 20"), "\(message)")
        #expect(message.contains("line 13\n"), "\(message)")
        #expect(!message.contains("line 12\n"), "at most 8 lines: \(message)")
    }

    @Test func whatAWorkerWritesToStderrStillReachesThePoolsStderr() throws {
        let scenario = try TestPrograms.start(["worker-stderr"])
        var lines: [String] = []
        while let line = scenario.readLine() {
            lines.append(line)
            if line == "done" { break }
        }
        #expect(TestPrograms.wait(scenario.pid) == 0)
        let first = lines.firstIndex(of: "line 1")
        let second = lines.firstIndex(of: "line 2")
        let error = lines.firstIndex { $0.hasPrefix("error: ") }
        #expect(first != nil && second != nil && error != nil, "\(lines)")
        if let first, let second, let error { #expect(first < second && second < error, "in order, before the error: \(lines)") }
        #expect(lines.last == "done")
    }

    // MARK: Children of tasks

    @Test func aTasksChildInheritsNoneOfThePoolsDescriptorsAndShutdownDoesNotWaitForIt() throws {
        let pool = try pool(1)
        let child = try pool.submit(SpawnBackgroundSleeper(seconds: 60), 0).result(timeout: Self.hang)
        defer { kill(child.pid, SIGKILL) }
        #expect(child.descriptors.isEmpty, "the child holds its worker's \(child.targets)")
        let clock = ContinuousClock()
        let started = clock.now
        pool.shutdown()
        let took = clock.now - started
        #expect(took < .seconds(30), "shutdown took \(took) while the 60 s child lived")
        #expect(TestPrograms.isAlive(child.pid), "the child itself was left alone")
    }

    @Test(arguments: [false, true])
    func aCrashIsReportedPromptlyThoughATaskLeftAChildRunning(leakResultPipe: Bool) throws {
        let pool = try pool(1)
        defer { pool.shutdown() }
        let child = try pool.submit(SpawnBackgroundSleeper(seconds: 60, leakResultPipe: leakResultPipe), 0)
            .result(timeout: Self.hang)
        defer { kill(child.pid, SIGKILL) }
        // With the leak, the child holds the worker's result pipe: only the process's own end tells.
        #expect(child.descriptors == (leakResultPipe ? [4] : []), "\(child.targets)")
        let clock = ContinuousClock()
        let started = clock.now
        let error = #expect(throws: ClusterFuturesError.self) { try pool.submit(Crash(.exit3), 1).result(timeout: Self.hang) }
        let took = clock.now - started
        #expect(error?.code == .workerLost)
        #expect(took < .seconds(30), "the crash was reported after \(took)")
        #expect(try pool.submit(Square(), 6).result(timeout: Self.hang) == 36)
    }

    // MARK: Initializer, budget, identity

    @Test func theInitializerRunsInEveryWorkerFirst() throws {
        let pool = try pool(2) { $0.initializer = try? WorkerInitializer(SetWorkerTag(), "tagged") }
        defer { pool.shutdown() }
        let tags = try pool.map(ReadWorkerTag(), 0..<20).collect()
        #expect(tags == Array(repeating: "tagged", count: 20))
        #expect(ReadWorkerTag()(0) == "none", "the initializer never ran in the caller")
    }

    @Test(arguments: ["fail", "die"])
    func aFailingInitializerBreaksTheExecutorWithAReason(tag: String) throws {
        let pool = try pool() { $0.initializer = try? WorkerInitializer(SetWorkerTag(), tag) }
        defer { pool.shutdown() }
        let future = try? pool.submit(Square(), 2)
        let error = #expect(throws: ClusterFuturesError.self) {
            if let future { _ = try future.result(timeout: Self.hang) } else { _ = try pool.submit(Square(), 2) }
        }
        #expect(error?.code == .brokenExecutor)
        #expect(error?.message.contains("initializer") == true, "\(error?.message ?? "")")
        if tag == "fail" { #expect(error?.message.contains("refuses") == true) }
        let later = #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 3) }
        #expect(later?.code == .brokenExecutor)
    }

    @Test func maxTasksPerChildReplacesWorkersWithoutLosingTasks() throws {
        let pool = try pool(1) { $0.maxTasksPerWorker = 3 }
        defer { pool.shutdown() }
        let pids = try pool.map(WorkerPID(), Array(repeating: 0, count: 10)).collect()
        #expect(pids.count == 10)
        var perWorker: [Int32: Int] = [:]
        for pid in pids { perWorker[pid, default: 0] += 1 }
        #expect(perWorker.values.allSatisfy { $0 <= 3 })
        #expect(perWorker.count == 4)
    }

    @Test func idleWorkersStopAndComeBackWithWork() throws {
        let pool = try pool(1) { $0.idleTimeout = .milliseconds(100) }
        defer { pool.shutdown() }
        let first = try pool.submit(WorkerPID(), 0).result(timeout: Self.hang)
        #expect(TestPrograms.survivors(of: [first], within: 5.0).isEmpty, "the idle worker stopped")
        let second = try pool.submit(WorkerPID(), 0).result(timeout: Self.hang)
        #expect(second != first, "a new worker started for new work")
    }

    @Test func aWorkerOfAnotherBuildIsRefused() throws {
        let pool = try pool() { $0.workerExecutable = TestPrograms.scenarios }
        defer { pool.shutdown() }
        let error = #expect(throws: ClusterFuturesError.self) {
            if let future = try? pool.submit(Square(), 2) { _ = try future.result(timeout: Self.hang) } else { _ = try pool.submit(Square(), 2) }
        }
        #expect(error?.code == .brokenExecutor)
        #expect(error?.message.contains("refused") == true && error?.message.contains("build") == true, "\(error?.message ?? "")")
    }

    @Test func aMissingWorkerExecutableIsAClearError() {
        let error = #expect(throws: ClusterFuturesError.self) {
            _ = try pool() { $0.workerExecutable = "/nonexistent/worker" }
        }
        #expect(error?.code == .brokenExecutor)
        #expect(error?.message.contains("/nonexistent/worker") == true)
    }

    // MARK: Orphans, interrupts, termination

    @Test func killingTheParentWithSIGKILLLeavesNoWorkerBehind() throws {
        let scenario = try TestPrograms.start(["pool-then-sleep", "2"])
        let line = try #require(scenario.readLine())
        let pids = line.split(separator: " ").compactMap { pid_t($0) }
        #expect(pids.count == 2)
        #expect(pids.allSatisfy(TestPrograms.isAlive))
        kill(scenario.pid, SIGKILL)
        _ = TestPrograms.wait(scenario.pid)
        #expect(TestPrograms.survivors(of: pids, within: 1.0).isEmpty, "every worker exits within a second")
    }

    @Test func ctrlCToTheProcessGroupStopsThePoolCleanly() throws {
        let scenario = try TestPrograms.start(["pool-then-sleep", "2"])
        let line = try #require(scenario.readLine())
        let pids = line.split(separator: " ").compactMap { pid_t($0) }
        #expect(pids.count == 2)
        kill(-scenario.pid, SIGINT)
        let status = TestPrograms.wait(scenario.pid)
        #expect(status & 0x7f == SIGINT, "the program ends as a Ctrl-C'd program does")
        #expect(TestPrograms.survivors(of: pids, within: 1.0).isEmpty)
    }

    @Test func aCrashIsReportedPromptlyWhenTheProgramIgnoresSIGCHLD() throws {
        let scenario = try TestPrograms.start(["crash-ignoring-sigchld"])
        let error = try #require(scenario.readLine())
        let next = try #require(scenario.readLine())
        #expect(TestPrograms.wait(scenario.pid) == 0)
        #expect(error.hasPrefix("error after 0 s:"), "\(error)")
        #expect(error.contains("workerLost") && error.contains("unknown status"), "\(error)")
        #expect(next == "next: 49")
    }

    @Test func droppingTheExecutorStopsItsWorkers() throws {
        var pids: [Int32] = []
        do {
            let pool = try pool(2)
            pids = Array(Set(try pool.map(WorkerPID(), Array(repeating: 20, count: 8)).collect()))
        }
        #expect(!pids.isEmpty)
        #expect(TestPrograms.survivors(of: pids, within: 5.0).isEmpty)
    }

    @Test(arguments: ["terminate", "kill"])
    func terminatingWorkersFailsRunningAndCancelsQueuedWork(how: String) throws {
        let pool = try pool(1) { $0.tasksInFlightPerWorker = 1 }
        let running = try pool.submit(SleepThenReturn(milliseconds: 5_000), 1)
        let queued = try (0..<5).map { try pool.submit(Square(), $0) }
        while running.state == .pending { usleep(1_000) }
        if how == "terminate" { pool.terminateWorkers() } else { pool.killWorkers() }
        let error = #expect(throws: ClusterFuturesError.self) { try running.result(timeout: Self.hang) }
        #expect(error?.code == .workerLost)
        #expect(error?.message.contains(how == "terminate" ? "terminateWorkers()" : "killWorkers()") == true, "\(error?.message ?? "")")
        #expect(queued.allSatisfy { $0.isCancelled })
        #expect(pool.isShutDown)
        let after = #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 1) }
        #expect(after?.code == .executorShutDown)
    }

    // MARK: Shutdown

    @Test func shutdownWaitsForSubmittedWorkAndIsIdempotent() throws {
        let pool = try pool(1)
        let futures = try (0..<10).map { try pool.submit(SleepThenReturn(milliseconds: 10), $0) }
        pool.shutdown(wait: true, cancelFutures: false)
        #expect(futures.allSatisfy { $0.state == .finished })
        pool.shutdown(wait: true, cancelFutures: true)
        pool.shutdown(wait: false, cancelFutures: false)
        let error = #expect(throws: ClusterFuturesError.self) { _ = try pool.submit(Square(), 1) }
        #expect(error?.code == .executorShutDown)
    }

    @Test func shutdownWithCancelFuturesCancelsQueuedWork() throws {
        let pool = try pool(1) { $0.tasksInFlightPerWorker = 1 }
        let first = try pool.submit(SleepThenReturn(milliseconds: 300), 0)
        let rest = try (1..<20).map { try pool.submit(SleepThenReturn(milliseconds: 300), $0) }
        while first.state == .pending { usleep(1_000) }
        pool.shutdown(wait: true, cancelFutures: true)
        #expect(try first.result() == 0)
        #expect(rest.filter { $0.isCancelled }.count >= 18)
        #expect(rest.allSatisfy { $0.isDone })
    }

    @Test func shutdownRacingWithSubmitCancelAndCrashesNeverHangs() throws {
        for round in 0..<25 {
            let pool = try pool(1) { $0.tasksInFlightPerWorker = 2 }
            let futures = Mutex<[Future<Int>]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { lane in
                for index in 0..<25 {
                    switch (lane, index % 5) {
                    case (0, _):
                        if let future = try? pool.submit(SquareOrCrash(crashOn: round % 7 == 0 ? 13 : -1), index) {
                            futures.withLock { $0.append(future) }
                        }
                    case (1, _):
                        _ = futures.withLock { $0.last?.cancel() }
                    case (2, 3):
                        pool.shutdown(wait: round.isMultiple(of: 2), cancelFutures: round.isMultiple(of: 3))
                    default:
                        _ = try? pool.submit(Square(), index)
                    }
                }
            }
            pool.shutdown(wait: true, cancelFutures: false)
            let all = futures.withLock { $0 }
            let (_, notDone) = Futures.wait(all, timeout: Self.hang)
            #expect(notDone.isEmpty, "round \(round): every future is done after shutdown(wait: true)")
        }
    }

    // MARK: Scale

    @Test func mapOverAHundredThousandInputsInBoundedMemory() throws {
        let pool = try pool(1)
        defer { pool.shutdown() }
        let spy = SpyExecutor(pool, keepsFutures: false)
        let results = try spy.map(Square(), 0..<100_000, chunkSize: 100, bufferSize: 8)
        var total = 0
        var count = 0
        var largestAlive = 0
        while let square = try results.next() {
            total &+= square
            count += 1
            if count.isMultiple(of: 1_000) { largestAlive = max(largestAlive, spy.liveFutures) }
        }
        #expect(count == 100_000)
        #expect(total == (0..<100_000).reduce(0) { $0 &+ $1 * $1 })
        #expect(largestAlive <= 9, "at most bufferSize chunks and the one being read are held")
    }
}
