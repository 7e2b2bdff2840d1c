import ClusterFuturesTestSupport
import Testing

/// `Examples/Pi` (`cf-pi`): pi by the alternating series in slices handed out by the executor,
/// within 1e-6 of the true value, with a scaling table, alone (a process pool) and under `mpiexec`.
@Suite("The pi example", .serialized)
struct PiExampleTests {
    /// 50 slices of 100,000 terms: the series' own error is about 2e-7, inside 1e-6.
    static let fewerTerms = ["--terms", "100000"]

    @Test("alone with 2 worker processes: pi within 1e-6, and a table for pools of 1 and 2 workers", .timeLimit(.minutes(2)))
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-pi", processes: nil, ["--workers", "2"] + Self.fewerTerms, timeout: 100)
        #expect(outcome.lines.first?.hasSuffix("2 worker process(es)") == true, "\(outcome)")
        PiOutput.expectCorrect(outcome, workers: 2)
    }

    @Test("at the defaults (50 slices of 1,000,000 terms): pi within 1e-6", .timeLimit(.minutes(2)))
    func defaults() async throws {
        let outcome = try await MPIRunner.run("cf-pi", processes: nil, ["--workers", "2", "--no-scaling"], timeout: 100)
        #expect(outcome.lines.first?.contains("50 slices of 1000000 terms") == true, "\(outcome)")
        PiOutput.expectCorrect(outcome, workers: nil)
        #expect(PiOutput(outcome).rows.isEmpty, "--no-scaling printed a table\n\(outcome)")
    }

    @Test("inline: pi within 1e-6, a table of one row", .timeLimit(.minutes(2)))
    func inline() async throws {
        let outcome = try await MPIRunner.run("cf-pi", processes: nil, ["--executor", "inline"] + Self.fewerTerms, timeout: 100)
        PiOutput.expectCorrect(outcome, workers: 1)
    }

    @Test("under mpiexec with 2 and 4 ranks: pi within 1e-6, a row for each number of worker ranks",
          .timeLimit(.minutes(3)), arguments: [2, 4])
    func underMPI(ranks: Int) async throws {
        let outcome = try await MPIRunner.run("cf-pi", processes: ranks, Self.fewerTerms, timeout: 150)
        #expect(outcome.lines.first?.hasSuffix("\(ranks - 1) MPI worker rank(s)") == true, "\(outcome)")
        PiOutput.expectCorrect(outcome, workers: ranks - 1)
    }
}
