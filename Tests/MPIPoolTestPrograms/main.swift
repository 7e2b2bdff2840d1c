import ClusterFuturesMPI
import ClusterFuturesTestSupport
import Foundation
import Logging
import MPI
import Synchronization

/// The program the MPI pool tests launch: `mpiexec -n N mpi-pool-test-programs SCENARIO...`, or the
/// program alone (a world of one). Rank 0 runs each scenario and prints `ok SCENARIO details`, or
/// `FAIL SCENARIO: why` and exits 1; the other ranks become workers in the bootstrap and print
/// nothing.
@main
enum PoolTestPrograms {
    static func main() throws {
        // The worker ranks send their log records to rank 0, unless the program keeps its logging
        // to itself (then they log on their own, as the program set them up).
        let keepsLogging = ProcessInfo.processInfo.environment["CF_TEST_NO_LOG_HANDLER"] == "1"
        try TestFunctions.register(logHandler: keepsLogging ? nil : TestFunctions.environmentLogHandler)
        // Only rank 0 (or a program run without mpiexec) gets here.
        for scenario in CommandLine.arguments.dropFirst() {
            guard let body = scenarios[scenario] else {
                print("FAIL \(scenario): no such scenario")
                exit(2)
            }
            do {
                let details = try body()
                print("ok \(scenario)\(details.isEmpty ? "" : " \(details)")")
            } catch let failure as Failure {
                print("FAIL \(scenario): \(failure.message)")
                exit(1)
            }
            fflush(nil)
        }
    }

    /// A scenario's check that did not hold.
    struct Failure: Error {
        var message: String
    }

    /// Fails the scenario with `message` unless `condition` holds.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(message: message()) }
    }

    /// Runs `body`, turning any error into a failure that names `what`.
    static func attempt<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "\(what): \(error)")
        }
    }

    /// Runs `round` (given its number) again until the worker ranks it reports, over all rounds,
    /// are every one of `workers`, or 50 rounds have passed, and returns those ranks. Which rank
    /// takes a task is up to the scheduler, and a rank the loaded machine leaves unscheduled for a
    /// while can miss a round.
    @discardableResult
    static func roundsUntilEveryRank(of workers: Int, _ round: (Int) throws -> Set<Int>) rethrows -> Set<Int> {
        var ranks = Set<Int>()
        for number in 0..<50 where ranks.count < workers {
            ranks.formUnion(try round(number))
        }
        return ranks
    }

    /// The error `body` throws, or a failure if it throws none.
    static func error(from what: String, _ body: () throws -> Void) throws -> any Error {
        do {
            try body()
        } catch {
            return error
        }
        throw Failure(message: "\(what) did not throw")
    }

    static let scenarios: [String: @Sendable () throws -> String] = [
        "results": results,
        "spread": spread,
        "long-tasks": longTasks,
        "binding": binding,
        "errors": errors,
        "map": map,
        "several": several,
        "handoffs": handoffs,
        "shutdown": shutdown,
        "initializer": initializer,
        "automatic": automatic,
        "spawn": spawn,
        "exit-running": exitRunning,
        "interrupt-report": interruptReport,
        "finalize": finalize,
        "finalize-in-pool-callback": { try stopInCallback(.finalize, waiting: false) },
        "finalize-in-waiting-callback": { try stopInCallback(.finalize, waiting: true) },
        "shutdown-in-pool-callback": { try stopInCallback(.shutdown, waiting: false) },
        "shutdown-in-waiting-callback": { try stopInCallback(.shutdown, waiting: true) },
        "finalize-in-broken-callback": finalizeInABrokenExecutorsCallback,
        "uncaught": uncaught,
        "uncaught-without-mpi": uncaughtWithoutMPI,
        "crash": crash,
        "pool-crash": processPoolCrash,
        "contract": contract,
        "exit-pending": exitPending,
        "logging": logging,
        "worker-logging": workerLogging,
    ]

    /// An executor with the default configuration, whose logger is the program's (standard error,
    /// at `LOG_LEVEL`), runs a task that logs at every level on each worker rank: what reaches rank
    /// 0's standard error is what the level lets through, with each rank, pid and host. (For a
    /// look by hand: `LOG_LEVEL=warning mpiexec -n 3 mpi-pool-test-programs worker-logging`.)
    static func workerLogging() throws -> String {
        try attempt("worker-logging") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            let futures = try (0..<pool.workerCount).map { try pool.submit(LogAtEveryLevel(), "task\($0)") }
            let pids = try futures.map { try $0.result(timeout: .seconds(30)) }
            return "pids=" + pids.map(String.init).joined(separator: ",")
        }
    }

    /// Two executors, one at `error` and one at `info`, each with a logger that keeps what it gets,
    /// run tasks that log at every level, interleaved on every worker rank. Each logger gets the
    /// records of its own tasks only, at or above its level, with the rank, pid and host; the
    /// detail names the levels each got, and the ranks and hosts they came from. Under
    /// `CF_TEST_NO_LOG_HANDLER=1` no record reaches rank 0 (detail `forwarded=0`).
    static func logging() throws -> String {
        try attempt("logging") {
            let quiet = LogCapture(), chatty = LogCapture()
            var configuration = MPIPoolExecutor.Configuration()
            configuration.logger = quiet.logger(label: "quiet", level: .error)
            let quietPool = try MPIPoolExecutor(configuration)
            configuration.logger = chatty.logger(label: "chatty", level: .info)
            let chattyPool = try MPIPoolExecutor(configuration)
            defer {
                quietPool.shutdown()
                chattyPool.shutdown()
            }
            try check(quietPool.worldSize > 1, "needs worker ranks: run under mpiexec -n 3")
            // Rounds of logging tasks through both pools, until every worker rank has run some.
            var origins: [String: TaskOrigin] = [:]
            try roundsUntilEveryRank(of: quietPool.workerCount) { round in
                let tags = (0..<(3 * quietPool.workerCount)).flatMap { ["quiet\(round).\($0)", "chatty\(round).\($0)"] }
                let futures = try tags.map { tag in
                    (tag, try (tag.hasPrefix("quiet") ? quietPool : chattyPool).submit(LogAtEveryLevel(), tag))
                }
                var ranks = Set<Int>()
                for (tag, future) in futures {
                    let pid = try future.result(timeout: .seconds(30))
                    let origin = try attemptOrigin(future)
                    try check(origin.pid == pid, "\(tag) returned pid \(pid), ran on \(origin)")
                    origins[tag] = origin
                    if let rank = origin.rank { ranks.insert(rank) }
                }
                return ranks
            }
            if ProcessInfo.processInfo.environment["CF_TEST_NO_LOG_HANDLER"] == "1" {
                let forwarded = quiet.records.count + chatty.records.count
                try check(forwarded == 0, "\(forwarded) records reached rank 0: \(quiet.records + chatty.records)")
                return "forwarded=0"
            }
            var ranks = Set<String>(), hosts = Set<String>()
            for (capture, prefix, level) in [(quiet, "quiet", Logger.Level.error), (chatty, "chatty", .info)] {
                let records = capture.records
                for record in records {
                    let tag = record.metadata["tag"] ?? "?"
                    try check(tag.hasPrefix(prefix), "\(prefix) got a record of \(tag): \(record)")
                    guard let origin = origins[tag] else { throw Failure(message: "a record of no task: \(record)") }
                    try check(record.metadata["rank"] == origin.rank.map { "\($0)" }
                              && record.metadata["worker"] == origin.rank.map { "\($0 - 1)" }
                              && record.metadata["pid"] == "\(origin.pid)" && record.metadata["host"] == origin.host,
                              "\(record) ran on \(origin)")
                    try check(record.file.hasSuffix("LoggingTestFunctions.swift") && record.line > 0, "where: \(record)")
                    ranks.insert(record.metadata["rank"] ?? "?")
                    hosts.insert(record.metadata["host"] ?? "?")
                }
                for tag in origins.keys where tag.hasPrefix(prefix) {
                    let levels = records.filter { $0.metadata["tag"] == tag }.map(\.level)
                    try check(levels == Logger.Level.allCases.filter { $0 >= level }, "\(tag) logged \(levels) into \(prefix)")
                }
            }
            return "quiet=" + Logger.Level.allCases.filter { $0 >= .error }.map(\.rawValue).joined(separator: ",")
                + " chatty=" + Logger.Level.allCases.filter { $0 >= .info }.map(\.rawValue).joined(separator: ",")
                + " ranks=" + ranks.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: ",")
                + " hosts=" + hosts.sorted().joined(separator: ",")
        }
    }

    /// Where `future`'s task ran.
    static func attemptOrigin<Value>(_ future: Future<Value>) throws -> TaskOrigin {
        guard let origin = future.origin else { throw Failure(message: "\(future) has no origin") }
        return origin
    }

    /// Every scenario of ``ContractScenarios`` on an MPI pool; the detail lists each one's outcome.
    static func contract() throws -> String {
        let pool = try attempt("making the pool") { try MPIPoolExecutor() }
        defer { pool.shutdown() }
        let (report, passed) = ContractScenarios.runAll(on: ContractScenarios.Subject(pool))
        let lines = report.map { name, outcome in
            switch outcome {
            case .success(let detail): "\(name): \(detail.isEmpty ? "passed" : detail)"
            case .failure(let failure): "\(name): FAILED: \(failure)"
            }
        }
        try check(passed, lines.joined(separator: "; "))
        return lines.joined(separator: "; ")
    }

    /// Submits 20 tasks that each append a line to the file `CF_TEST_OUTPUT` names, then returns
    /// from `main` without waiting (after `shutdown(wait: false)` when `CF_TEST_SHUTDOWN` is
    /// `nowait`): every line must be in the file once the job has exited.
    static func exitPending() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["CF_TEST_OUTPUT"] else {
            throw Failure(message: "CF_TEST_OUTPUT is not set")
        }
        let pool = try attempt("making the pool") { try MPIPoolExecutor() }
        for index in 0..<20 {
            _ = try attempt("submit") { try pool.submit(AppendLine(), LineToAppend(path: path, line: "line \(index)", delayMilliseconds: 20)) }
        }
        if ProcessInfo.processInfo.environment["CF_TEST_SHUTDOWN"] == "nowait" { pool.shutdown(wait: false, cancelFutures: false) }
        return "submitted=20"
    }

    /// Results come back right, from every worker rank, for small and large messages and batches.
    /// The CPUs each worker rank may run on, by rank: `1=0 2=1` (bound one each) or `1=0-1 2=0-1`.
    static func binding() throws -> String {
        try attempt("binding") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            var allowed: [Int: String] = [:]
            // Each round gives every worker a task of 100 ms; rounds go on until each has answered.
            try roundsUntilEveryRank(of: pool.workerCount) { _ in
                let futures = try (0..<(2 * pool.workerCount)).map { _ in try pool.submit(AllowedCPUs(), 100) }
                var ranks = Set<Int>()
                for future in futures {
                    let cpus = try future.result(timeout: .seconds(20))
                    if let rank = future.origin?.rank {
                        allowed[rank] = cpus
                        ranks.insert(rank)
                    }
                }
                return ranks
            }
            try check(allowed.count == pool.workerCount, "only ranks \(allowed.keys.sorted()) answered")
            return allowed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    /// Tasks of 10 ms and a chunked map of squares, for runs across hosts: prints the results (to
    /// compare with a run on one host) and how many tasks each host ran.
    static func spread() throws -> String {
        try attempt("spread") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            let futures = try (0..<(12 * pool.workerCount)).map { try pool.submit(SleepThenReturn(milliseconds: 10), $0) }
            var perHost: [String: Int] = [:]
            var values: [Int] = []
            for future in futures {
                values.append(try future.result(timeout: .seconds(30)))
                perHost[future.origin?.host ?? "?", default: 0] += 1
            }
            try check(values == Array(0..<futures.count), "results out of order: \(values)")
            let squares = try pool.map(Square(), 0..<2000, chunkSize: 7).collect()
            try check(squares == (0..<2000).map { $0 * $0 }, "squares")
            let total = squares.reduce(0, &+)
            return "squares=\(total) hosts=" + perHost.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
        }
    }

    /// Once every worker has run a task: two tasks of 20 s per worker; prints `running` once they
    /// are out (for a test to act on, such as stopping a rank), then waits for them.
    static func longTasks() throws -> String {
        try attempt("long-tasks") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            try roundsUntilEveryRank(of: pool.workerCount) { _ in
                let round = try (0..<(2 * pool.workerCount)).map { _ in try pool.submit(SleepThenReturn(milliseconds: 50), 0) }
                return Set(try round.compactMap { future in
                    _ = try future.result(timeout: .seconds(20))
                    return future.origin?.rank
                })
            }
            let futures = try (0..<(2 * pool.workerCount)).map { try pool.submit(SleepThenReturn(milliseconds: 20_000), $0) }
            print("running")
            fflush(nil)
            for future in futures { _ = try future.result(timeout: .seconds(60)) }
            return "finished"
        }
    }

    static func results() throws -> String {
        try attempt("results") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            try check(pool.workerCount == max(1, pool.worldSize - 1), "workerCount \(pool.workerCount) in a world of \(pool.worldSize)")
            let squares = try (0..<300).map { try pool.submit(Square(), $0) }
            for (x, future) in squares.enumerated() {
                try check(try future.result(timeout: .seconds(20)) == x * x, "square of \(x)")
            }
            // Tasks long enough to keep every worker busy, in rounds until each rank has run some.
            let ranks = try roundsUntilEveryRank(of: pool.workerCount) { _ in
                let slow = try (0..<(4 * pool.workerCount)).map { try pool.submit(SleepThenReturn(milliseconds: 40), $0) }
                var ranks = Set<Int>()
                for (x, future) in slow.enumerated() {
                    try check(try future.result(timeout: .seconds(20)) == x, "sleep-then-return \(x)")
                    try check(future.origin?.executor == "mpi", "origin \(String(describing: future.origin))")
                    if let rank = future.origin?.rank { ranks.insert(rank) }
                }
                return ranks
            }
            // Large messages both ways (sent without blocking the dispatcher).
            let blob = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            for _ in 0..<3 {
                try check(try pool.submit(Echo(), blob).result(timeout: .seconds(20)) == blob, "3 MiB echo")
            }
            // Large arrays travel beside the request and the reply, also to a busy worker, and
            // inside a struct among small fields.
            let blobs = (0..<6).map { n in (0..<(200_000 + n)).map { UInt8(truncatingIfNeeded: $0 &+ n) } }
            let echoes = try blobs.map { try pool.submit(Echo(), $0) }
            for (blob, echo) in zip(blobs, echoes) {
                try check(try echo.result(timeout: .seconds(20)) == blob, "pipelined echo of \(blob.count) bytes")
            }
            let samples = (0..<50_000).map { Double($0) / 7 }
            let summary = try pool.submit(Summarize(), Measurements(label: "run", samples: samples, flags: [1, 2]))
                .result(timeout: .seconds(20))
            try check(summary == Measurements(label: "run: 50000", samples: samples.map { $0 * 2 }, flags: [2, 1]),
                      "a struct with a large array")
            let batch = try pool.submit(Square(), batch: Array(0..<50)).result(timeout: .seconds(20))
            try check(try batch.values() == (0..<50).map { $0 * $0 }, "batch")
            return "world=\(pool.worldSize) workers=\(pool.workerCount) ranks=\(ranks.sorted().map(String.init).joined(separator: ","))"
        }
    }

    /// A task's error fails only its own future, says where it happened, and comes back as itself
    /// when its type is registered; bad input fails only its future; the pool stays usable.
    static func errors() throws -> String {
        try attempt("errors") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            let plain = try (0..<8).map { try pool.submit(FailOn([3, 5]), $0) }
            var failed: [Int] = []
            var origins = Set<String>()
            for (x, future) in plain.enumerated() {
                do {
                    try check(try future.result(timeout: .seconds(20)) == x * x, "value of \(x)")
                } catch let failure as TaskFailure {
                    failed.append(x)
                    try check("\(failure)".contains("input \(x)"), "failure text \(failure)")
                    try check(failure.functionName.contains("FailOn"), "function name \(failure.functionName)")
                    origins.insert("\(failure.origin.executor):\(failure.origin.rank.map(String.init) ?? "-")")
                }
            }
            try check(failed == [3, 5], "failed \(failed)")
            let registered = try error(from: "a registered error") {
                _ = try pool.submit(FailOn([7], kind: .registered), 7).result(timeout: .seconds(20))
            }
            try check((registered as? RegisteredError)?.code == 7, "registered error came back as \(type(of: registered))")
            let unregistered = try error(from: "submitting an unregistered function") {
                _ = try pool.submit(NeverRegistered(), 1)
            }
            try check((unregistered as? ClusterFuturesError)?.code == .unregisteredFunction, "\(unregistered)")
            let poisoned = try pool.submit(PassFragile(), Fragile(value: 1, poisoned: true))
            try check(poisoned.error(timeout: .seconds(20)) != nil, "a poisoned input did not fail its future")
            try check(try pool.submit(Square(), 12).result(timeout: .seconds(20)) == 144, "the pool after errors")
            return "failed=\(failed.map(String.init).joined(separator: ",")) origins=\(origins.sorted().joined(separator: ","))"
        }
    }

    /// Every way of waiting sees its result, whoever polls: a waiter that polls until the result
    /// comes, one that gives up polling and sleeps, a caller that only looks at `isDone`, and a
    /// done-callback; each also after a pause long enough for the dispatcher thread to go to sleep.
    static func handoffs() throws -> String {
        try attempt("handoffs") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            let timeout = Duration.seconds(20)
            for round in 0..<40 {
                if round.isMultiple(of: 4) { usleep(5_000) }
                // Polled by the waiter while it spins.
                try check(try pool.submit(Square(), round).result(timeout: timeout) == round * round, "quick \(round)")
                // Longer than the waiter spins: it sleeps, and the dispatcher thread must poll.
                try check(try pool.submit(SleepThenReturn(milliseconds: 1), round).result(timeout: timeout) == round,
                          "slow \(round)")
                // Nobody waits: only the dispatcher thread can bring the result in.
                let unattended = try pool.submit(Square(), round)
                let deadline = ContinuousClock.now + timeout
                while !unattended.isDone && ContinuousClock.now < deadline { usleep(100) }
                try check(unattended.isDone, "a future nobody waited for stayed \(unattended.state) for \(timeout)")
                // Only a callback.
                let called = DispatchSemaphore(value: 0)
                try pool.submit(Square(), round).addDoneCallback { _ in called.signal() }
                try check(called.wait(timeout: .now() + 20) == .success, "a done-callback never ran (round \(round))")
            }
            return ""
        }
    }

    /// `map` in order and unordered, with chunks, a bounded buffer, and an error at item k.
    static func map() throws -> String {
        try attempt("map") {
            let pool = try MPIPoolExecutor()
            defer { pool.shutdown() }
            let squares = (0..<1000).map { $0 * $0 }
            try check(try pool.map(Square(), 0..<1000, chunkSize: 7).collect() == squares, "ordered chunked map")
            try check(try pool.map(Square(), 0..<1000, chunkSize: 16, unordered: true).collect().sorted() == squares,
                      "unordered map")
            try check(try pool.map(Square(), 0..<200, bufferSize: 4).collect() == Array(squares.prefix(200)), "buffered map")
            var delivered: [Int] = []
            let failure = try error(from: "a map with a failing item") {
                let results = try pool.map(FailOn([50]), 0..<100, chunkSize: 8)
                while let value = try results.next() { delivered.append(value) }
            }
            try check(delivered == Array(squares.prefix(50)), "\(delivered.count) results before the failing item")
            try check(failure is TaskFailure, "map error \(failure)")
            return "chunks=7,16 delivered-before-error=\(delivered.count)"
        }
    }

    /// Executors share the workers by turns: a long queue in one does not hold up another; shutting
    /// one down leaves the others working.
    static func several() throws -> String {
        try attempt("several") {
            let busy = try MPIPoolExecutor()
            let quick = try MPIPoolExecutor()
            let third = try MPIPoolExecutor()
            let long = try (0..<(12 * busy.workerCount)).map { try busy.submit(SleepThenReturn(milliseconds: 50), $0) }
            let started = ContinuousClock.now
            let answers = try (0..<3).map { try quick.submit(Square(), $0) }
            for (x, future) in answers.enumerated() {
                try check(try future.result(timeout: .seconds(20)) == x * x, "quick \(x)")
            }
            let waited = ContinuousClock.now - started
            let unfinished = long.filter { !$0.isDone }.count
            try check(unfinished >= 6 * busy.workerCount, "the quick executor waited for the busy one: \(unfinished) left")
            busy.shutdown(wait: true, cancelFutures: true)
            let cancelled = long.filter(\.isCancelled).count
            try check(long.allSatisfy(\.isDone), "futures left pending after shutdown with cancelFutures")
            try check(try third.submit(Square(), 9).result(timeout: .seconds(20)) == 81, "third after busy's shutdown")
            try check(try quick.map(Square(), 0..<100, chunkSize: 5).collect() == (0..<100).map { $0 * $0 }, "quick map")
            quick.shutdown()
            third.shutdown()
            return "quick-waited-under-\(waited < .seconds(2) ? "2s" : "?") busy-unfinished=\(unfinished) cancelled=\(cancelled)"
        }
    }

    /// Shutdown drains queued work; later submits throw; cancelFutures cancels what was not sent;
    /// everything is idempotent and a new executor still works.
    static func shutdown() throws -> String {
        try attempt("shutdown") {
            let pool = try MPIPoolExecutor()
            let queued = try (0..<(5 * pool.workerCount)).map { try pool.submit(SleepThenReturn(milliseconds: 20), $0) }
            pool.shutdown()
            try check(queued.allSatisfy { $0.state == .finished }, "shutdown(wait: true) returned before the queue drained")
            try check(pool.isShutDown, "isShutDown")
            let refused = try error(from: "submit after shutdown") { _ = try pool.submit(Square(), 1) }
            try check((refused as? ClusterFuturesError)?.code == .executorShutDown, "\(refused)")
            pool.shutdown()
            pool.shutdown(wait: false, cancelFutures: true)

            let second = try MPIPoolExecutor()
            let many = try (0..<(30 * second.workerCount)).map { try second.submit(SleepThenReturn(milliseconds: 30), $0) }
            second.shutdown(wait: true, cancelFutures: true)
            let cancelled = many.filter(\.isCancelled).count
            let finished = many.filter { $0.state == .finished }.count
            try check(cancelled > 0 && cancelled + finished == many.count, "cancelled \(cancelled), finished \(finished)")

            let total = try withExecutor(try MPIPoolExecutor()) { try $0.map(Square(), 0..<10).collect().reduce(0, +) }
            try check(total == 285, "withExecutor")
            return "drained=\(queued.count) cancelled=\(cancelled) finished=\(finished)"
        }
    }

    /// An initializer runs on every worker before the executor's first task there; a failing one
    /// breaks only its own executor.
    static func initializer() throws -> String {
        try attempt("initializer") {
            var configuration = MPIPoolExecutor.Configuration()
            configuration.initializer = try WorkerInitializer(SetWorkerTag(), "blue")
            let tagged = try MPIPoolExecutor(configuration)
            let tags = try (0..<(4 * tagged.workerCount)).map { _ in try tagged.submit(ReadWorkerTag(), 0) }
                .map { try $0.result(timeout: .seconds(20)) }
            try check(Set(tags) == ["blue"], "tags \(Set(tags))")

            var failing = MPIPoolExecutor.Configuration()
            failing.initializer = try WorkerInitializer(SetWorkerTag(), "fail")
            let broken = try MPIPoolExecutor(failing)
            _ = try? broken.submit(Square(), 1).result(timeout: .seconds(20))
            // Give the failure a moment to reach rank 0, then submits are refused.
            let deadline = ContinuousClock.now + .seconds(10)
            var refusal: (any Error)?
            while refusal == nil && ContinuousClock.now < deadline {
                do { _ = try broken.submit(Square(), 2) } catch { refusal = error }
                usleep(10_000)
            }
            try check((refusal as? ClusterFuturesError)?.code == .brokenExecutor, "after a failed initializer: \(String(describing: refusal))")
            try check("\(refusal.map { "\($0)" } ?? "")".contains("SetWorkerTag"), "the error names the initializer: \(String(describing: refusal))")
            try check(try tagged.submit(ReadWorkerTag(), 0).result(timeout: .seconds(20)) == "blue", "the other executor")
            broken.shutdown()
            tagged.shutdown()
            return "tag=blue broken=brokenExecutor"
        }
    }

    /// `Executors.automatic()` picks MPI under mpiexec with more than one rank, else the process pool.
    static func automatic() throws -> String {
        try attempt("automatic") {
            let executor = try Executors.automatic()
            defer { executor.shutdown() }
            try check(try executor.submit(Square(), 7).result(timeout: .seconds(20)) == 49, "a task")
            return "\(type(of: executor)) workers=\(executor.workerCount)"
        }
    }

    /// Spawn mode is refused with a message that says how to launch instead.
    static func spawn() throws -> String {
        try attempt("spawn") {
            var configuration = MPIPoolExecutor.Configuration()
            configuration.launch = .spawn(workers: 2)
            let refused = try error(from: "spawn mode") { _ = try MPIPoolExecutor(configuration) }
            let error = refused as? ClusterFuturesError
            try check(error?.code == .invalidArgument && error?.message.contains("mpiexec -n N") == true, "\(refused)")
            return "refused"
        }
    }

    /// The program returns while a task still runs: rank 0 waits for it at exit, stops the workers,
    /// and every rank exits 0.
    static func exitRunning() throws -> String {
        try attempt("exit-running") {
            let pool = try MPIPoolExecutor()
            _ = try pool.submit(SleepThenReturn(milliseconds: 300), 1)
            return "left-running"
        }
    }

    /// Three tasks done, one of a minute running, four more submitted; then it waits for the test's
    /// Ctrl-C (to `mpiexec`, which passes it on to every rank) and prints "not interrupted" only if
    /// none came. Rank 0's log (standard error) must then say what became of the tasks.
    static func interruptReport() throws -> String {
        try attempt("interrupt-report") {
            try StopSignalScene.stage(on: try MPIPoolExecutor())
            return "not interrupted"
        }
    }

    /// The program finalizes MPI itself while the pool has tasks out and queued: the pool stops
    /// first (everything submitted finishes, nothing is cancelled), every later submit is refused,
    /// and the job ends with exit status 0.
    static func finalize() throws -> String {
        try attempt("finalize") {
            let pool = try MPIPoolExecutor()
            let futures = try (0..<200).map { try pool.submit(SleepThenReturn(milliseconds: 2), $0) }
            try check(try futures[0].result(timeout: .seconds(20)) == 0, "the first result")
            try MPI.finalize()
            try check(MPI.isFinalized, "MPI is not finalized")
            var finished = 0
            var cancelled = 0
            for (x, future) in futures.enumerated() {
                try check(future.isDone, "future \(x) is \(future.state) after MPI.finalize()")
                if future.isCancelled {
                    cancelled += 1
                } else {
                    try check(try future.result() == x, "result \(x)")
                    finished += 1
                }
            }
            let refused = try error(from: "a submit after MPI.finalize()") { _ = try pool.submit(Square(), 2) }
            try check((refused as? ClusterFuturesError)?.code == .executorShutDown, "\(refused)")
            let another = try error(from: "a new pool after MPI.finalize()") { _ = try MPIPoolExecutor() }
            try check(another is ClusterFuturesError, "\(another)")
            return "all-done=\(finished + cancelled == futures.count) cancelled=\(cancelled)"
        }
    }

    /// How a done-callback stops the pool in ``stopInCallback(_:waiting:)``.
    enum Stop {
        /// `MPI.finalize()`: the pool stops first, once everything submitted has finished.
        case finalize
        /// `shutdown(wait: true)`: later submits are refused, and everything submitted finishes.
        case shutdown
    }

    /// A done-callback stops the pool, on the thread that received its result: the pool's own
    /// thread when nobody waits (`waiting` false), or, usually, the thread blocked in `result()`.
    /// The call returns (a thread that completes the pool's futures cannot wait for them), every
    /// future ends with its value or cancelled, later submits are refused, and the job exits 0.
    /// Reports which thread ran the callback.
    static func stopInCallback(_ stop: Stop, waiting: Bool) throws -> String {
        try attempt("\(stop) in a done-callback") {
            let pool = try MPIPoolExecutor()
            // First a round trip, so that every worker has said hello.
            try check(try pool.submit(Square(), 2).result(timeout: .seconds(20)) == 4, "a first round trip")
            // Nobody waiting: the callback's future is queued behind others, so that the pool's
            // own thread receives its result. Waiting: it is sent first, and this thread waits.
            let before = waiting ? [] : try (0..<20).map { try pool.submit(SleepThenReturn(milliseconds: 1), $0) }
            let first = try pool.submit(Square(), 3)
            let returned = DispatchSemaphore(value: 0)
            let report = Mutex<(error: String?, onMain: Bool)>((nil, false))
            first.addDoneCallback { _ in
                do {
                    switch stop {
                    case .finalize: try MPI.finalize()
                    case .shutdown: pool.shutdown(wait: true, cancelFutures: false)
                    }
                } catch {
                    report.withLock { $0.error = "\(error)" }
                }
                report.withLock { $0.onMain = Thread.isMainThread }
                returned.signal()
            }
            // The callback may already have stopped the pool (in a world of one, the pool's thread
            // runs tasks itself): then a submit is refused. Waiting: only a few, so that this
            // thread waits before the result is in.
            var rest: [Future<Int>] = []
            for x in 0..<(waiting ? 3 : 100) {
                do {
                    rest.append(try pool.submit(SleepThenReturn(milliseconds: 1), x))
                } catch let refused as ClusterFuturesError where refused.code == .executorShutDown {
                    break
                }
            }
            if waiting { try check(try first.result(timeout: .seconds(20)) == 9, "the first result") }
            try check(returned.wait(timeout: .now() + 30) == .success, "\(stop) in a done-callback did not return")
            let (error, onMain) = report.withLock { $0 }
            try check(error == nil, "\(stop) in a done-callback threw: \(error ?? "")")
            if stop == .finalize { try check(MPI.isFinalized, "MPI is not finalized") }
            // Results received in the same round as the callback's complete right after it.
            for (x, future) in zip(Array(before.indices) + Array(rest.indices), before + rest) {
                do {
                    try check(try future.result(timeout: .seconds(20)) == x, "result \(x)")
                } catch is CancellationError where stop == .finalize {
                    continue
                }
            }
            let refused = try self.error(from: "a submit after \(stop)") { _ = try pool.submit(Square(), 2) }
            try check((refused as? ClusterFuturesError)?.code == .executorShutDown, "\(refused)")
            return "all-done=true callback-thread=\(onMain ? "main" : "other")"
        }
    }

    /// An executor's initializer fails while many of its tasks are queued: each queued future fails,
    /// and a done-callback on the last one finalizes MPI. The call returns, every future ends with
    /// the executor's error (or, if MPI stopped first, cancelled), and the job exits 0.
    static func finalizeInABrokenExecutorsCallback() throws -> String {
        try attempt("MPI.finalize() in a done-callback of a broken executor") {
            var failing = MPIPoolExecutor.Configuration()
            failing.initializer = try WorkerInitializer(SetWorkerTag(), "fail")
            let broken = try MPIPoolExecutor(failing)
            var futures: [Future<Int>] = []
            for x in 0..<200 {
                do {
                    futures.append(try broken.submit(SleepThenReturn(milliseconds: 1), x))
                } catch let refused as ClusterFuturesError where refused.code == .brokenExecutor {
                    break  // the failure is already in
                }
            }
            guard let last = futures.last else { throw Failure(message: "no task was accepted") }
            let returned = DispatchSemaphore(value: 0)
            let thrown = Mutex<String?>(nil)
            last.addDoneCallback { _ in
                do { try MPI.finalize() } catch { thrown.withLock { $0 = "\(error)" } }
                returned.signal()
            }
            try check(returned.wait(timeout: .now() + 30) == .success, "MPI.finalize() in the done-callback did not return")
            try check(thrown.withLock { $0 } == nil, "MPI.finalize() threw: \(thrown.withLock { $0 } ?? "")")
            try check(MPI.isFinalized, "MPI is not finalized")
            var failed = 0
            for future in futures {
                do {
                    _ = try future.result(timeout: .seconds(20))
                    throw Failure(message: "a task of the broken executor succeeded")
                } catch let error as ClusterFuturesError where error.code == .brokenExecutor {
                    failed += 1
                } catch is CancellationError {
                    continue
                }
            }
            try check(failed > 0, "no future failed with the executor's error")
            return "all-done=true"
        }
    }

    /// An error nobody catches on rank 0, while a worker is busy: the job must end non-zero.
    static func uncaught() throws -> String {
        let pool = try MPIPoolExecutor()
        _ = try pool.submit(SleepThenReturn(milliseconds: 5000), 1)
        print("throwing", terminator: "\n")
        fflush(nil)
        throw UncaughtOnRankZero()
    }

    struct UncaughtOnRankZero: Error {}

    /// Without mpiexec, in a program that links MPICH but never starts MPI: an uncaught error after a
    /// task on the process pool.
    static func uncaughtWithoutMPI() throws -> String {
        let pool = try LocalProcessPoolExecutor()
        _ = try pool.submit(Square(), 3).result(timeout: .seconds(30))
        print("throwing", terminator: "\n")
        fflush(nil)
        throw UncaughtOnRankZero()
    }

    /// Without mpiexec, in a program that links MPICH: a task that crashes its process-pool worker
    /// fails only its future, with the signal, and the pool goes on. The test also reads what the
    /// worker printed as it died.
    static func processPoolCrash() throws -> String {
        try attempt("pool-crash") {
            var configuration = LocalProcessPoolExecutor.Configuration()
            configuration.workers = 1
            let pool = try LocalProcessPoolExecutor(configuration)
            defer { pool.shutdown() }
            let refused = try error(from: "a crashing task") {
                _ = try pool.submit(Crash(.segmentationFault), 1).result(timeout: .seconds(20))
            }
            let lost = refused as? ClusterFuturesError
            try check(lost?.code == .workerLost && lost?.message.contains("SIGSEGV") == true, "\(refused)")
            try check(try pool.submit(Square(), 7).result(timeout: .seconds(20)) == 49, "the pool after the crash")
            return "workerLost=SIGSEGV"
        }
    }

    /// A task that kills its worker rank: MPI cannot replace a rank, so the job must end, non-zero.
    static func crash() throws -> String {
        let pool = try MPIPoolExecutor()
        // CF_TEST_CRASH_KIND: segmentationFault or sigkill instead (by hand, on either MPI).
        let kind = ProcessInfo.processInfo.environment["CF_TEST_CRASH_KIND"].flatMap(CrashKind.init(rawValue:)) ?? .fatalError
        let future = try pool.submit(Crash(kind), 1)
        _ = try? future.result(timeout: .seconds(60))
        return "survived: \(String(describing: future.state))"
    }
}
