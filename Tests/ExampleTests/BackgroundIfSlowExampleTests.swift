import ClusterFuturesTestSupport
import Testing

/// `Examples/BackgroundIfSlow` (`cf-background-if-slow`): cheap calls run in place, expensive ones
/// start in place and finish in a worker, and every count is right.
@Suite("The background-if-slow example", .serialized)
struct BackgroundIfSlowExampleTests {
    /// The example's default calls and the number of primes below each: the cheap ones, one step of
    /// 5,000 numbers each, and the expensive ones, hundreds of steps.
    static let cheap = [1_000: 168, 3_000: 430, 500: 95, 4_999: 668]
    static let expensive = [400_000: 33_860, 500_000: 41_538, 300_000: 25_997]

    /// One call's line: `primes below B = C (correct): ran in place, ...` or `...: went to the pool
    /// after S of T step(s) in place, finished on worker 0, pid P`.
    struct CallLine {
        var below: Int
        var count: Int
        var how: String
    }

    static func calls(in outcome: MPIRunner.Outcome) -> [Int: CallLine] {
        var calls: [Int: CallLine] = [:]
        for line in outcome.lines where line.hasPrefix("primes below ") {
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            guard numbers.count >= 2, let colon = line.range(of: "): ") else { continue }
            calls[numbers[0]] = CallLine(below: numbers[0], count: numbers[1], how: String(line[colon.upperBound...]))
        }
        return calls
    }

    /// The caller's pid, from `...; the caller is pid P`.
    static func callerPID(in outcome: MPIRunner.Outcome) -> String? {
        outcome.lines.first { $0.hasPrefix("executor: ") }?.components(separatedBy: "the caller is pid ").last
    }

    static func check(_ outcome: MPIRunner.Outcome, workers: Set<String>) {
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let calls = Self.calls(in: outcome)
        let caller = Self.callerPID(in: outcome)
        #expect(caller != nil, "\(outcome)")
        for (below, count) in Self.cheap {
            #expect(calls[below]?.count == count, "primes below \(below)\n\(outcome)")
            #expect(calls[below]?.how == "ran in place, 1 step(s), pid \(caller ?? "?")", "\(outcome)")
        }
        for (below, count) in Self.expensive {
            #expect(calls[below]?.count == count, "primes below \(below)\n\(outcome)")
            let how = calls[below]?.how ?? ""
            #expect(how.hasPrefix("went to the pool after "), "\(outcome)")
            guard let on = how.range(of: "finished on "), let pid = how.range(of: ", pid ") else {
                Issue.record("no place for primes below \(below)\n\(outcome)")
                continue
            }
            #expect(workers.contains(String(how[on.upperBound..<pid.lowerBound])), "\(outcome)")
            #expect(String(how[pid.upperBound...]) != caller, "ran in a worker, not the caller\n\(outcome)")
        }
        #expect(outcome.lines.contains("7 of 7 results correct"), "\(outcome)")
    }

    @Test("alone, with --workers 2: the cheap calls run in place, the expensive ones finish in a worker process")
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-background-if-slow", processes: nil, ["--workers", "2"], timeout: 300)
        Self.check(outcome, workers: ["worker 0", "worker 1"])
    }

    @Test("under mpiexec -n 3: the cheap calls run in place on rank 0, the expensive ones finish on a worker rank")
    func underMPI() async throws {
        let outcome = try await MPIRunner.run("cf-background-if-slow", processes: 3, [], timeout: 300)
        Self.check(outcome, workers: ["rank 1", "rank 2"])
    }
}
