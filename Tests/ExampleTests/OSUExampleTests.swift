import ClusterFuturesTestSupport
import Testing

/// `Examples/OSU` (`cf-osu`): latency, bandwidth and bidirectional bandwidth between two ranks.
@Suite("The OSU example", .serialized)
struct OSUExampleTests {
    @Test("mpiexec -n 2 cf-osu all 1024 prints the three tables, a row for each size from 1 B to 1 KiB",
          .timeLimit(.minutes(2)))
    func threeTables() async throws {
        let outcome = try await MPIRunner.run("cf-osu", processes: 2, ["all", "1024"], timeout: 90)
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let titles = ["# OSU MPI Latency Test", "# OSU MPI Bandwidth Test", "# OSU MPI Bi-Directional Bandwidth Test"]
        let starts = titles.map { title in outcome.lines.firstIndex { $0.hasPrefix(title) } }
        #expect(starts.allSatisfy { $0 != nil } && starts == starts.sorted { ($0 ?? 0) < ($1 ?? 0) }, "\(outcome)")
        let bounds = starts.compactMap { $0 } + [outcome.lines.count]
        for table in 0..<(bounds.count - 1) {
            let rows = outcome.lines[(bounds[table] + 2)..<bounds[table + 1]].compactMap { line -> (Int, Double)? in
                let fields = line.split(separator: " ")
                guard fields.count == 2, let size = Int(fields[0]), let value = Double(fields[1]) else { return nil }
                return (size, value)
            }
            #expect(rows.map(\.0) == (0...10).map { 1 << $0 }, "\(titles[table])\n\(outcome)")
            #expect(rows.allSatisfy { $0.1 > 0 && $0.1.isFinite }, "\(titles[table])\n\(outcome)")
        }
    }

    @Test("alone, cf-osu says it needs exactly 2 ranks and exits with status 2", .timeLimit(.minutes(1)))
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-osu", processes: nil, [], timeout: 30)
        #expect(outcome.status == 2 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.errors.contains("cf-osu measures between exactly 2 ranks; this world has 1"), "\(outcome)")
        #expect(outcome.errors.contains("usage: mpiexec -n 2 cf-osu"), "\(outcome)")
    }
}
