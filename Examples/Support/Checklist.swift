import Foundation
import MPI

/// The checks of an MPI example, made on every rank and printed by rank 0: one line per check,
/// `OK   NAME (ranks ...)` or `FAIL NAME (...): what was wrong`, then a summary. `cf-point-to-point`
/// and `cf-collectives` use it; their tests read the lines.
public struct Checklist: Sendable {
    /// One check on one rank.
    package struct Check: Codable, Sendable {
        /// What was checked; the same on every rank that makes it.
        package var name: String
        /// Whether it held.
        package var passed: Bool
        /// What was wrong, if it did not.
        package var detail: String

        /// A check named `name`, passed or not, with what was wrong.
        package init(name: String, passed: Bool, detail: String) {
            self.name = name
            self.passed = passed
            self.detail = detail
        }
    }

    /// This rank's checks, in the order made.
    private var checks: [Check] = []

    /// An empty list.
    public init() {}

    /// Runs an MPI example's checks and ends the program: initializes MPI, runs `body` on every
    /// rank with the world and an empty list, has rank 0 print the ``report(on:)``, finalizes MPI
    /// and exits with 0 if every check on every rank passed, else 1.
    ///
    /// An error thrown on any rank is printed, prefixed with `program`, and ends the whole job
    /// (`MPI.abort`): the other ranks would otherwise wait for that rank in their next call.
    public static func run(program: String, _ body: (Communicator, inout Checklist) throws -> Void) -> Never {
        do {
            try MPI.initialize(threadLevel: .single)
            let world = Communicator.world
            var checks = Checklist()
            try body(world, &checks)
            let passed = try checks.report(on: world)
            try MPI.finalize(exitStatus: passed ? 0 : 1)
            exit(passed ? 0 : 1)
        } catch {
            FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
            MPI.abort(1)
        }
    }

    /// Records a check named `name` that passed if `condition` holds; `detail` (what was received,
    /// say) is printed only if it failed.
    public mutating func check(_ name: String, _ condition: Bool, _ detail: @autoclosure () -> String = "") {
        checks.append(Check(name: name, passed: condition, detail: condition ? "" : detail()))
    }

    /// Collects every rank's checks at rank 0, which prints the lines of
    /// ``summary(ofRanks:)``. Collective: every rank calls it. Returns on every rank whether every
    /// check on every rank passed.
    public func report(on world: Communicator) throws -> Bool {
        var passed = true
        if let all = try world.gather(checks) {
            let summary = Self.summary(ofRanks: all)
            summary.lines.forEach { print($0) }
            passed = summary.passed
        }
        return try world.broadcast(passed, root: 0)
    }

    /// The lines for every rank's checks (`ranks[r]` rank r's): one per check name with the ranks
    /// that made it, `OK` if it passed on all of them, else `FAIL` with each failing rank's detail;
    /// then a summary line. The checks come in the order of the rank that made the most, then any
    /// others as first seen.
    package static func summary(ofRanks ranks: [[Check]]) -> (lines: [String], passed: Bool) {
        var names = ranks.max { $0.count < $1.count }?.map(\.name) ?? []
        var byName: [String: [(rank: Int, check: Check)]] = [:]
        for (rank, checks) in ranks.enumerated() {
            for check in checks {
                if !names.contains(check.name) { names.append(check.name) }
                byName[check.name, default: []].append((rank, check))
            }
        }
        var lines: [String] = []
        var failed = 0
        for name in names {
            let made = byName[name] ?? []
            let failures = made.filter { !$0.check.passed }
            let ranks = "rank\(made.count == 1 ? "" : "s") " + made.map { String($0.rank) }.joined(separator: ",")
            if failures.isEmpty {
                lines.append("OK   \(name) (\(ranks))")
            } else {
                failed += 1
                let details = failures.map { "rank \($0.rank): \($0.check.detail)" }.joined(separator: "; ")
                lines.append("FAIL \(name) (\(ranks)): \(details)")
            }
        }
        lines.append(failed == 0 ? "all \(names.count) checks passed" : "\(failed) of \(names.count) checks FAILED")
        return (lines, failed == 0)
    }
}
