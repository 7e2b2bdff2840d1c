import ClusterFuturesTestSupport
import Testing

/// `Examples/PointToPoint` (`cf-point-to-point`): every check OK between ranks 0 and 1, and alone
/// with rank 0 as both ends.
@Suite("The point-to-point example", .serialized)
struct PointToPointExampleTests {
    /// The checks, with the ranks that make them, for a receiver `receiver` (1, or 0 alone).
    static func checks(receiver: Int) -> [(name: String, ranks: String)] {
        let one = "(rank \(receiver))"
        return [
            ("a [String: Int] from rank 0 with tag 7", one),
            ("its status names source 0 and tag 7", one),
            ("sent with tag 1 then tag 2, received tag 2 first", one),
            ("a typed buffer of 1,000 Int32", one),
            ("non-blocking: isend and ireceive(into:)", receiver == 0 ? "(rank 0)" : "(ranks 0,1)"),
            ("persistent requests: sendInit and receiveInit", one),
        ]
    }

    @Test("alone: rank 0 sends to itself, and every check is OK", .timeLimit(.minutes(1)))
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-point-to-point", processes: nil, [], timeout: 50)
        #expect(outcome.lines.first?.hasPrefix("a world of 1 rank") == true, "\(outcome)")
        CheckLines.expectAllPassed(outcome, Self.checks(receiver: 0))
    }

    @Test("under mpiexec with 2 and 4 ranks: every check between ranks 0 and 1 is OK", .timeLimit(.minutes(2)), arguments: [2, 4])
    func underMPI(ranks: Int) async throws {
        let outcome = try await MPIRunner.run("cf-point-to-point", processes: ranks, [], timeout: 90)
        CheckLines.expectAllPassed(outcome, Self.checks(receiver: 1))
    }
}
