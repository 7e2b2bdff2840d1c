import ClusterFuturesTestSupport
import Testing

/// `cf-bench osu` runs, C and Swift in turns, and reads both: figures are for the benchmark report,
/// not for a test.
@Suite("cf-bench osu", .serialized)
struct OSUBenchmarkTests {
    @Test("cf-bench osu prints a C and a Swift figure and their ratio for every size, and the worst ratio",
          .timeLimit(.minutes(3)))
    func printsEverySize() async throws {
        let outcome = try await offThePool {
            try MPIRunner.run("cf-bench", processes: nil, ["osu", "--rounds", "1", "--max-size", "1024"], timeout: 150)
        }
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        for test in ["latency", "bw", "bibw"] {
            for size in (0...10).map({ 1 << $0 }) {
                #expect(outcome.lines.contains { $0.hasPrefix("osu_\(test) size=\(size) c_") && $0.contains(" ratio=") },
                        "no osu_\(test) line for \(size) bytes:\n\(outcome)")
            }
            #expect(outcome.lines.contains { $0.hasPrefix("osu_\(test): worst swift/c") }, "\(outcome)")
        }
    }
}
