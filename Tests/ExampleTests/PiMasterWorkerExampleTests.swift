import ClusterFuturesTestSupport
import Testing

/// `Examples/PiMasterWorker` (`cf-pi-master-worker`): the same pi as a master/worker loop over the
/// MPI module, alone (rank 0 sums every slice) and under `mpiexec`.
@Suite("The master/worker pi example", .serialized)
struct PiMasterWorkerExampleTests {
    @Test("alone: rank 0 sums every slice itself, pi within 1e-6", .timeLimit(.minutes(2)))
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-pi-master-worker", processes: nil, PiExampleTests.fewerTerms, timeout: 100)
        #expect(outcome.lines.contains { $0.hasPrefix("a world of 1 rank has no workers") }, "\(outcome)")
        PiOutput.expectCorrect(outcome, workers: nil)
    }

    @Test("under mpiexec with 2 and 4 ranks: pi within 1e-6, a row for the first 1...N-1 worker ranks",
          .timeLimit(.minutes(3)), arguments: [2, 4])
    func underMPI(ranks: Int) async throws {
        let outcome = try await MPIRunner.run("cf-pi-master-worker", processes: ranks, PiExampleTests.fewerTerms, timeout: 150)
        #expect(outcome.lines.first?.hasSuffix("\(ranks - 1) worker rank(s)") == true, "\(outcome)")
        PiOutput.expectCorrect(outcome, workers: ranks - 1)
    }
}
