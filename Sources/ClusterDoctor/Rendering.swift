extension Doctor.Result {
    /// The doctor's printout: a line about this machine, a table of hosts (host, slots, address,
    /// ssh, MPI, program, status), then each problem on a line of its own with its fix, then a
    /// verdict.
    public func rendered(machinefile: String, program: String) -> String {
        let slots = hosts.reduce(0) { $0 + $1.host.slots }
        let identity = local.buildID.map { "build id \($0.hexString.prefix(12))" }
            ?? local.sha256.map { "no build id, sha256 \($0.prefix(12))" } ?? "no build id"
        var lines = ["cf-doctor: \(hosts.count) hosts, \(slots) slots in \(machinefile); here: \(local.mpi?.description ?? "no MPI"), \(program) \(identity)"]
        let header = ["HOST", "SLOTS", "ADDRESS", "SSH", "MPI", "PROGRAM", "STATUS"]
        let rows = hosts.map { check in
            [check.host.name, String(check.host.slots), check.address ?? "-", check.ssh, check.mpi, check.program, check.status]
        }
        lines += table([header] + rows)
        let problems = localProblems.map { ("here", $0) } + hosts.flatMap { check in check.problems.map { (check.host.name, $0) } }
        if problems.isEmpty {
            lines.append("")
            lines.append("All \(hosts.count) hosts are ready.")
        } else {
            lines.append("")
            for (name, problem) in problems {
                lines.append("\(name): \(problem.message): \(problem.fix)")
            }
            let failing = hosts.filter { !$0.problems.isEmpty }.count
            lines.append("")
            lines.append("\(failing) of \(hosts.count) hosts \(failing == 1 ? "has" : "have") problems\(localProblems.isEmpty ? "" : ", and so has this machine").")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Rows with columns padded to their widest cell.
    private func table(_ rows: [[String]]) -> [String] {
        var widths: [Int] = []
        for row in rows {
            for (column, cell) in row.enumerated() {
                if column < widths.count { widths[column] = max(widths[column], cell.count) } else { widths.append(cell.count) }
            }
        }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }
    }
}
