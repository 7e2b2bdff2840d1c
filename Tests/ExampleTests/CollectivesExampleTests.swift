import ClusterFuturesTestSupport
import Testing

/// `Examples/Collectives` (`cf-collectives`): broadcast, scatter, gather and reductions, each exact
/// on every rank.
@Suite("The collectives example", .serialized)
struct CollectivesExampleTests {
    /// The checks, each made on every one of `ranks` ranks.
    static func checks(ranks: Int) -> [(name: String, ranks: String)] {
        let suffix = ranks == 1 ? "(rank 0)" : "(ranks \((0..<ranks).map(String.init).joined(separator: ",")))"
        return [
            "broadcast of a [String: Int]", "broadcast of a typed buffer", "scatter of one String", "scatter of a typed buffer",
            "gather of each rank's square", "gather of a typed buffer", "all-gather", "all-reduce (sum)", "reduce (sum) of a typed buffer",
            "reduce of Codable values with a closure, in rank order",
        ].map { ($0, suffix) }
    }

    @Test("alone: every collective runs in a world of one rank, exact", .timeLimit(.minutes(1)))
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-collectives", processes: nil, [], timeout: 50)
        #expect(outcome.lines.first?.hasPrefix("a world of 1 rank") == true, "\(outcome)")
        CheckLines.expectAllPassed(outcome, Self.checks(ranks: 1))
    }

    @Test("under mpiexec with 2 and 4 ranks: every collective exact on every rank", .timeLimit(.minutes(2)), arguments: [2, 4])
    func underMPI(ranks: Int) async throws {
        let outcome = try await MPIRunner.run("cf-collectives", processes: ranks, [], timeout: 90)
        CheckLines.expectAllPassed(outcome, Self.checks(ranks: ranks))
    }
}
