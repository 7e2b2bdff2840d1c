import ClusterFutures
import Foundation

/// The executor contract as scenarios that run unchanged on every executor: the inline executor
/// (lazy and eager), the process pool, and the MPI pool under `mpiexec -n 1`, `-n 2` and `-n 4`
/// (where `mpi-pool-test-programs contract` runs them on rank 0).
///
/// Each scenario throws ``Failure`` when a check does not hold. A scenario about workers running
/// side by side is skipped (returns "skipped") where the executor has fewer than it needs.
public enum ContractScenarios {
    /// A check that did not hold.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The executor under test and what it promises.
    public struct Subject: Sendable {
        public var executor: any Executor
        /// Tasks run in the caller's thread (the inline executor): nothing runs beside it.
        public var runsInCaller: Bool

        public init(_ executor: any Executor, runsInCaller: Bool = false) {
            self.executor = executor
            self.runsInCaller = runsInCaller
        }

        /// Workers that run tasks at the same time.
        var parallelWorkers: Int { runsInCaller ? 0 : executor.workerCount }
    }

    /// A scenario: its name and its body, which returns a short detail for the report.
    public typealias Scenario = (name: String, run: @Sendable (Subject) throws -> String)

    /// Every scenario, in the order they run.
    public static let all: [Scenario] = [
        ("quick-then-slow", quickThenSlow),
        ("slow-then-quick", slowThenQuick),
        ("unordered-map-yields-the-quick-one-first", unorderedMapYieldsTheQuickOneFirst),
        ("short-tasks-around-a-long-one", shortTasksAroundALongOne),
        ("half-millisecond-tasks-around-a-long-one", halfMillisecondTasksAroundALongOne),
        ("declared-error-comes-back-as-itself", declaredErrorComesBackAsItself),
        ("async-function-bodies-run-concurrently-in-a-batch", asyncFunctionBodiesRunConcurrentlyInABatch),
        ("map-results-go-on-past-errors", mapResultsGoOnPastErrors),
        ("map-results-end-at-the-maps-timeout", mapResultsEndAtTheMapsTimeout),
        // Last: it shuts the executor down.
        ("shutdown-after-cancelling-a-queued-future", shutdownAfterCancellingAQueuedFuture),
    ]

    /// Runs every scenario on `subject`; returns `(name, detail or failure)` for each, and whether
    /// all passed.
    public static func runAll(on subject: Subject) -> (report: [(String, Result<String, Failure>)], passed: Bool) {
        var report: [(String, Result<String, Failure>)] = []
        for scenario in all {
            do {
                report.append((scenario.name, .success(try scenario.run(subject))))
            } catch let failure as Failure {
                report.append((scenario.name, .failure(failure)))
            } catch {
                report.append((scenario.name, .failure(Failure(description: "threw \(error)"))))
            }
        }
        return (report, report.allSatisfy { if case .success = $0.1 { true } else { false } })
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(description: message()) }
    }

    /// Generous: only to catch a hang.
    static let hang: Duration = .seconds(30)

    /// A quick task submitted before a slow one completes first: in a world of one MPI process it
    /// used to wait until the slow one had run too.
    static func quickThenSlow(_ subject: Subject) throws -> String {
        let executor = subject.executor
        let quick = try executor.submit(Square(), 7)
        let slow = try executor.submit(SleepMicroseconds(), 1_500_000)
        let (done, _) = Futures.wait([quick, slow], timeout: hang, until: .firstCompleted)
        try check(done.contains { $0 === quick }, "the quick task was not done first: done \(done.count)")
        if !subject.runsInCaller {
            try check(!slow.isDone, "the quick task's future completed only once the slow one was done")
        }
        try check(try quick.result() == 49, "square of 7")
        try check(try slow.result(timeout: hang) == 1_500_000, "the slow task's result")
        return ""
    }

    /// A slow task, then a quick one, on two or more workers: the quick one runs on another worker
    /// at once, not behind the slow one.
    static func slowThenQuick(_ subject: Subject) throws -> String {
        guard subject.parallelWorkers >= 2 else { return "skipped" }
        let executor = subject.executor
        let slow = try executor.submit(SleepMicroseconds(), 2_000_000)
        let quick = try executor.submit(Square(), 5)
        let (done, notDone) = Futures.wait([slow, quick], timeout: hang, until: .firstCompleted)
        try check(done.count == 1 && done[0] === quick && notDone.count == 1,
                  "the quick task waited behind the slow one (done first: \(done.map { $0 === quick ? "quick" : "slow" }))")
        _ = try slow.result(timeout: hang)
        return ""
    }

    /// `map(unordered: true)` over a 2.5 s and a 10 ms input with a 1.5 s timeout yields the quick
    /// one before the timeout.
    static func unorderedMapYieldsTheQuickOneFirst(_ subject: Subject) throws -> String {
        guard subject.parallelWorkers >= 2 else { return "skipped" }
        let results = try subject.executor.map(SleepMicroseconds(), [2_500_000, 10_000], timeout: .milliseconds(1_500),
                                               unordered: true)
        let first: Int?
        do {
            first = try results.next()
        } catch {
            throw Failure(description: "nothing before the timeout: \(error)")
        }
        try check(first == 10_000, "first result \(String(describing: first))")
        return ""
    }

    /// Quick tasks grow every worker's window; then a long task comes with more quick ones right
    /// behind it. None of those may wait for the long one: each quick task is done while the long
    /// one still runs.
    static func shortTasksAroundALongOne(_ subject: Subject) throws -> String {
        guard subject.parallelWorkers >= 2 else { return "skipped" }
        let executor = subject.executor
        for _ in 0..<3 { _ = try executor.map(Square(), 0..<400).collect() }
        let before = try (0..<50).map { try executor.submit(SleepMicroseconds(), $0 % 3) }
        let long = try executor.submit(SleepMicroseconds(), 3_000_000)
        let after = try (0..<200).map { try executor.submit(SleepMicroseconds(), $0 % 3) }
        let (_, notDone) = Futures.wait(before + after, timeout: hang)
        try check(notDone.isEmpty, "\(notDone.count) quick tasks not done after \(hang)")
        try check(!long.isDone, "a quick task waited for the long one to finish")
        _ = try long.result(timeout: hang)
        return ""
    }

    /// Every worker busy, one more task queued and then cancelled: `shutdown(wait: true)` returns
    /// once the running tasks are done (the process pool used to sleep for ever, counting the
    /// cancelled task as still queued).
    static func shutdownAfterCancellingAQueuedFuture(_ subject: Subject) throws -> String {
        let executor = subject.executor
        let busy = try (0..<max(1, subject.parallelWorkers)).map { _ in try executor.submit(SleepMicroseconds(), 300_000) }
        let queued = try executor.submit(Square(), 3)
        let cancelled = queued.cancel()
        let returned = DispatchSemaphore(value: 0)
        Thread {
            executor.shutdown(wait: true, cancelFutures: false)
            returned.signal()
        }.start()
        try check(returned.wait(timeout: .now() + .seconds(30)) == .success, "shutdown(wait: true) did not return")
        try check(busy.allSatisfy(\.isDone), "shutdown returned before the running tasks were done")
        return cancelled ? "" : "the queued task had started"
    }

    /// `mapResults` yields a failure for every input whose call threw, and for one that could not be
    /// encoded, and goes on to the end: each of the 30 inputs comes once, under its own index, with
    /// its own result, in input order and unordered, over chunks of 3 with 2 in flight. (`map` over
    /// the same inputs ends at input 0.)
    static func mapResultsGoOnPastErrors(_ subject: Subject) throws -> String {
        let executor = subject.executor
        let failing: Set<Int> = [0, 4, 5, 11, 29]
        for unordered in [false, true] {
            let results = try executor.mapResults(FailOn(failing, kind: .registered), 0..<30, timeout: hang,
                                                  chunkSize: 3, bufferSize: 2, unordered: unordered).collect()
            let indices = results.map(\.index)
            try check((unordered ? indices.sorted() : indices) == Array(0..<30),
                      "unordered \(unordered): every input once\(unordered ? "" : ", in order"): \(indices)")
            for (index, result) in results {
                switch result {
                case .success(let square):
                    try check(!failing.contains(index) && square == index * index, "input \(index) gave \(square)")
                case .failure(let error):
                    try check(failing.contains(index) && (error as? RegisteredError)?.code == index,
                              "input \(index) failed with \(error)")
                }
            }
        }
        let fragile = (0..<7).map { Fragile(value: $0, poisoned: $0 == 3) }
        let passed = try executor.mapResults(PassFragile(), fragile, timeout: hang, chunkSize: 2).collect()
        try check(passed.map(\.index) == Array(0..<7), "every fragile input once, in order: \(passed.map(\.index))")
        for (index, result) in passed {
            switch result {
            case .success(let value): try check(index != 3 && value.value == index, "input \(index) gave \(value)")
            case .failure(let error): try check(index == 3 && error is ClusterFuturesError, "input \(index) failed with \(error)")
            }
        }
        do {
            _ = try executor.map(FailOn(failing), 0..<30, timeout: hang, chunkSize: 3, bufferSize: 2).collect()
            throw Failure(description: "map went past the error of input 0")
        } catch is TaskFailure {}
        return ""
    }

    /// The map's own timeout still ends `mapResults` by throwing: three tasks of 300 ms with a
    /// 100 ms timeout. (Inline, the first task runs in the caller before the timeout is looked at;
    /// the eager inline executor runs them all in the call, and a result ready is never late.)
    static func mapResultsEndAtTheMapsTimeout(_ subject: Subject) throws -> String {
        let called = ContinuousClock.now
        let results = try subject.executor.mapResults(SleepMicroseconds(), [300_000, 300_000, 300_000],
                                                      timeout: .milliseconds(100))
        if subject.runsInCaller && ContinuousClock.now - called >= .milliseconds(900) {
            return "skipped: every task ran in the call"
        }
        var received = 0
        do {
            while try results.next() != nil { received += 1 }
            throw Failure(description: "all \(received) results came before a 100 ms timeout")
        } catch let error as ClusterFuturesError {
            try check(error.code == .timedOut, "the map ended with \(error)")
        }
        try check(received < 3, "\(received) results of 300 ms tasks within 100 ms")
        try check(try results.next() == nil, "the map is over after its timeout")
        return ""
    }

    /// 200 tasks of 0.5 ms with one of 3 s among them: every short task is done while the long one
    /// still runs (it used to be that one of them waited for it, in about half the runs).
    static func halfMillisecondTasksAroundALongOne(_ subject: Subject) throws -> String {
        guard subject.parallelWorkers >= 2 else { return "skipped" }
        let executor = subject.executor
        let inputs = (0..<200).map { $0 == 60 ? 3_000_000 : 500 }
        let futures = try inputs.map { try executor.submit(SleepMicroseconds(), $0) }
        let long = futures[60]
        let short = futures.enumerated().filter { $0.offset != 60 }.map(\.element)
        let (_, notDone) = Futures.wait(short, timeout: hang)
        try check(notDone.isEmpty, "\(notDone.count) short tasks not done after \(hang)")
        try check(!long.isDone, "a short task waited for the long one to finish")
        _ = try long.result(timeout: hang)
        return ""
    }

    /// A function that declares a `Codable` error with typed throws gets it back as itself, from a
    /// single call and from a batch, though no one listed it in `bootstrap(errors:)`.
    static func declaredErrorComesBackAsItself(_ subject: Subject) throws -> String {
        let executor = subject.executor
        try check(try executor.submit(ParseDigits(), "42").result(timeout: hang) == 42, "42 parsed")
        do {
            _ = try executor.submit(ParseDigits(), "4x2").result(timeout: hang)
            throw Failure(description: "\"4x2\" parsed")
        } catch let error as NotADigit {
            try check(error == NotADigit(character: "x", position: 1), "the error came back as \(error)")
        }
        let results = try executor.map(ParseDigits(), ["1", "22", "z3"], chunkSize: 3)
        try check(try results.next() == 1 && results.next() == 22, "the inputs before the bad one")
        do {
            _ = try results.next()
            throw Failure(description: "\"z3\" parsed in a batch")
        } catch let error as NotADigit {
            try check(error == NotADigit(character: "z", position: 0), "the batch's error came back as \(error)")
        }
        return ""
    }

    /// An `async` function body runs on every executor: a single call, its declared error, and a
    /// batch of 8 whose calls all run at the same time on the one worker that takes it.
    static func asyncFunctionBodiesRunConcurrentlyInABatch(_ subject: Subject) throws -> String {
        let executor = subject.executor
        try check(try executor.submit(AsyncDouble(), 21).result(timeout: hang) == 42, "AsyncDouble of 21")
        do {
            _ = try executor.submit(SleepAndCountInFlight(), -5).result(timeout: hang)
            throw Failure(description: "a negative delay was accepted")
        } catch let error as NegativeDelay {
            try check(error.milliseconds == -5, "the declared error came back as \(error)")
        }
        let mostInFlight = try executor.map(SleepAndCountInFlight(), Array(repeating: 300, count: 8), timeout: hang,
                                            chunkSize: 8).collect()
        try check(mostInFlight.max() == 8, "at most \(mostInFlight.max() ?? 0) of the batch's 8 calls ran at once")
        // Without a chunkSize, map sends batches of concurrentCallsPerWorker.
        let byDefault = try executor.map(SleepAndCountInFlight(), Array(repeating: 300, count: 8), timeout: hang).collect()
        try check(byDefault.max() == 8, "map without a chunkSize ran at most \(byDefault.max() ?? 0) calls at once")
        let doubled = try executor.map(AsyncDouble(), 0..<20, timeout: hang, chunkSize: 5).collect()
        try check(doubled == (0..<20).map { 2 * $0 }, "AsyncDouble over 0..<20 in batches of 5")
        return "8 calls in flight"
    }
}
