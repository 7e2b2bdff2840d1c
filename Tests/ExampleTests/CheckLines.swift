import ClusterFuturesTestSupport
import Testing

/// The check lines of `cf-point-to-point` and `cf-collectives`: `OK   NAME (ranks ...)` and
/// `FAIL NAME ...`.
struct CheckLines {
    var passed: [String]
    var failed: [String]

    init(_ outcome: MPIRunner.Outcome) {
        passed = outcome.lines.filter { $0.hasPrefix("OK   ") }
        failed = outcome.lines.filter { $0.hasPrefix("FAIL ") }
    }

    /// Checks that the run ended with status 0, that no check failed, and that each of `expected`
    /// (the start of a check's name, and the ranks that made it as printed) has its OK line, and
    /// nothing else has one.
    static func expectAllPassed(_ outcome: MPIRunner.Outcome, _ expected: [(name: String, ranks: String)],
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = CheckLines(outcome)
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)", sourceLocation: sourceLocation)
        #expect(lines.failed.isEmpty, "\(outcome)", sourceLocation: sourceLocation)
        for check in expected {
            #expect(lines.passed.contains { $0.hasPrefix("OK   " + check.name) && $0.hasSuffix(check.ranks) },
                    "no OK line for \(check)\n\(outcome)", sourceLocation: sourceLocation)
        }
        #expect(lines.passed.count == expected.count, "\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.lines.last == "all \(lines.passed.count) checks passed", "\(outcome)", sourceLocation: sourceLocation)
    }
}
