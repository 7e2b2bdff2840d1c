import ClusterFuturesTestSupport
import Testing

/// What the pi examples print, read back: the value, and the scaling table's rows.
struct PiOutput {
    /// The `pi: VALUE` line's value.
    var pi: Double?
    /// The `error: ERROR ...` line's value.
    var error: Double?
    /// The table's rows: workers, seconds, speedup.
    var rows: [(workers: Int, seconds: Double, speedup: Double)] = []

    init(_ outcome: MPIRunner.Outcome) {
        var inTable = false
        for line in outcome.lines {
            if line.hasPrefix("pi: ") { pi = Double(line.dropFirst(4)) }
            if line.hasPrefix("error: ") { error = line.dropFirst(7).split(separator: " ").first.flatMap { Double($0) } }
            if line.hasPrefix("workers  time (s)") { inTable = true; continue }
            let fields = line.split(separator: " ")
            if inTable, fields.count == 4, let workers = Int(fields[0]), let seconds = Double(fields[1]), let speedup = Double(fields[2]) {
                rows.append((workers, seconds, speedup))
            }
        }
    }

    /// Checks that the printed value is within 1e-6 of pi (computed here, not taken from the
    /// printed error) and agrees with the printed error, and that the table has a row for each of
    /// 1...workers with a speedup of 1 in the first.
    static func expectCorrect(_ outcome: MPIRunner.Outcome, workers: Int?, sourceLocation: SourceLocation = #_sourceLocation) {
        let output = PiOutput(outcome)
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)", sourceLocation: sourceLocation)
        guard let pi = output.pi, let error = output.error else {
            Issue.record("no pi: or error: line\n\(outcome)", sourceLocation: sourceLocation)
            return
        }
        #expect(abs(pi - Double.pi) < 1e-6, "pi \(pi) is \(pi - Double.pi) from Double.pi\n\(outcome)", sourceLocation: sourceLocation)
        #expect(abs(error - (pi - Double.pi)) < 1e-9, "the printed error \(error) is not pi - Double.pi\n\(outcome)", sourceLocation: sourceLocation)
        if let workers {
            #expect(output.rows.map(\.workers) == Array(1...workers), "\(outcome)", sourceLocation: sourceLocation)
            #expect(output.rows.first?.speedup == 1, "\(outcome)", sourceLocation: sourceLocation)
            #expect(output.rows.allSatisfy { $0.seconds > 0 && $0.speedup > 0 }, "\(outcome)", sourceLocation: sourceLocation)
        }
    }
}
