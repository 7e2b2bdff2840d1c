import ClusterFuturesTestSupport
import Foundation
import Testing

/// `Examples/Precompute` (`cf-precompute`): a table computed once and shared with the workers
/// through the worker initializer and through a file; each way agrees with the local computation,
/// and each worker set up once, not once per task.
@Suite("The precompute example", .serialized)
struct PrecomputeExampleTests {
    /// One way's report: its summary line, and each worker's set-ups and tasks.
    struct Way {
        var summary: String
        var workers: [String: (setUps: Int, tasks: Int)] = [:]
    }

    /// The way whose summary line starts with `prefix`, and the indented worker lines under it
    /// (`  worker 0: set up 1 time(s), ran 12 task(s)`).
    static func way(_ prefix: String, in outcome: MPIRunner.Outcome) -> Way? {
        guard let start = outcome.lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { return nil }
        var way = Way(summary: outcome.lines[start])
        for line in outcome.lines[(start + 1)...] {
            guard line.hasPrefix("  "), let colon = line.firstIndex(of: ":") else { break }
            let numbers = line[colon...].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            guard numbers.count == 2 else { break }
            way.workers[line.dropFirst(2).prefix { $0 != ":" }.description] = (numbers[0], numbers[1])
        }
        return way
    }

    /// Checks both ways: each agrees with the local count, all 24 tasks ran on `workers`, and every
    /// worker that ran tasks set up exactly once (though some ran several tasks).
    static func checkBothWays(_ outcome: MPIRunner.Outcome, workers: Set<String>) {
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        for prefix in ["through the initializer:", "through the file "] {
            guard let way = way(prefix, in: outcome) else {
                Issue.record("no line starting \(prefix)\n\(outcome)")
                continue
            }
            #expect(way.summary.contains("24 tasks counted") && way.summary.hasSuffix("they agree"), "\(outcome)")
            #expect(!way.workers.isEmpty && Set(way.workers.keys).isSubset(of: workers), "\(outcome)")
            #expect(way.workers.values.reduce(0) { $0 + $1.tasks } == 24, "\(outcome)")
            #expect(way.workers.values.allSatisfy { $0.setUps == 1 }, "\(outcome)")
            #expect(way.workers.values.contains { $0.tasks > 1 }, "\(outcome)")
        }
    }

    @Test("alone, with --workers 2: both ways agree, and each worker process set up once")
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-precompute", processes: nil, ["--workers", "2"], timeout: 300)
        Self.checkBothWays(outcome, workers: ["worker 0", "worker 1"])
    }

    @Test("under mpiexec -n 3, with the table in a file given by --table-file: both ways agree, each rank set up once")
    func underMPI() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cf-precompute-test-\(UUID()).table").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let outcome = try await MPIRunner.run("cf-precompute", processes: 3, ["--table-file", file], timeout: 300)
        Self.checkBothWays(outcome, workers: ["rank 1", "rank 2"])
        #expect(outcome.lines.contains { $0.hasPrefix("through the file \(file):") }, "\(outcome)")
        #expect(FileManager.default.fileExists(atPath: file), "a table file given by --table-file is kept")
    }
}
