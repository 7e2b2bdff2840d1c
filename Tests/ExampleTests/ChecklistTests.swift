import ExampleSupport
import Testing

/// What `cf-point-to-point` and `cf-collectives` print from their checks, and whether they pass: a
/// check that failed on any rank is a FAIL line and makes the example exit 1.
@Suite("The MPI examples' checklist")
struct ChecklistTests {
    typealias Check = Checklist.Check

    @Test("checks that pass on every rank are OK lines, in the order of the rank with the most, and the run passes")
    func allPass() {
        let summary = Checklist.summary(ofRanks: [
            [Check(name: "swap", passed: true, detail: "")],
            [Check(name: "dictionary", passed: true, detail: ""), Check(name: "swap", passed: true, detail: "")],
        ])
        #expect(summary.lines == ["OK   dictionary (rank 1)", "OK   swap (ranks 0,1)", "all 2 checks passed"])
        #expect(summary.passed)
    }

    @Test("a check that fails on one rank is a FAIL line with that rank's detail, and the run fails")
    func oneFails() {
        let summary = Checklist.summary(ofRanks: [
            [Check(name: "broadcast", passed: true, detail: "")],
            [Check(name: "broadcast", passed: false, detail: "received [:]")],
            [Check(name: "broadcast", passed: true, detail: "")],
        ])
        #expect(summary.lines == ["FAIL broadcast (ranks 0,1,2): rank 1: received [:]", "1 of 1 checks FAILED"])
        #expect(!summary.passed)
    }
}
