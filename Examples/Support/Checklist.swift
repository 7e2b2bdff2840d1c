import MPI

/// The checks of an MPI example, made on every rank and printed by rank 0: one line per check,
/// `OK   NAME (ranks ...)` or `FAIL NAME (...): what was wrong`, then a summary. `cf-point-to-point`
/// and `cf-collectives` use it; their tests read the lines.
public struct Checklist: Sendable {
    /// One check on one rank.
    struct Check: Codable, Sendable {
        var name: String
        var passed: Bool
        var detail: String
    }

    /// This rank's checks, in the order made.
    private var checks: [Check] = []

    /// An empty list.
    public init() {}

    /// Records a check named `name` that passed if `condition` holds; `detail` (what was received,
    /// say) is printed only if it failed.
    public mutating func check(_ name: String, _ condition: Bool, _ detail: @autoclosure () -> String = "") {
        checks.append(Check(name: name, passed: condition, detail: condition ? "" : detail()))
    }

    /// Collects every rank's checks at rank 0, which prints one line per check with the ranks that
    /// made it, failures with each failing rank's detail, and a summary line. Collective: every rank
    /// calls it. Returns on every rank whether every check on every rank passed.
    public func report(on world: Communicator) throws -> Bool {
        let all = try world.gather(checks)
        var passed = true
        if let all {
            // In the order of the rank that made the most checks, then any others as first seen.
            var names = all.max { $0.count < $1.count }?.map(\.name) ?? []
            var byName: [String: [(rank: Int, check: Check)]] = [:]
            for (rank, checks) in all.enumerated() {
                for check in checks {
                    if !names.contains(check.name) { names.append(check.name) }
                    byName[check.name, default: []].append((rank, check))
                }
            }
            var failed = 0
            for name in names {
                let made = byName[name] ?? []
                let failures = made.filter { !$0.check.passed }
                let ranks = made.map { String($0.rank) }.joined(separator: ",")
                if failures.isEmpty {
                    print("OK   \(name) (rank\(made.count == 1 ? "" : "s") \(ranks))")
                } else {
                    failed += 1
                    let details = failures.map { "rank \($0.rank): \($0.check.detail)" }.joined(separator: "; ")
                    print("FAIL \(name) (rank\(made.count == 1 ? "" : "s") \(ranks)): \(details)")
                }
            }
            passed = failed == 0
            print(passed ? "all \(names.count) checks passed" : "\(failed) of \(names.count) checks FAILED")
        }
        return try world.broadcast(passed, root: 0)
    }
}
