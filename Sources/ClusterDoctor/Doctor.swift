import Foundation

/// One thing wrong with a host (or with this machine), and what to do about it.
public struct Problem: Equatable, Sendable {
    /// The kind of problem: the word the table's status column shows.
    public enum Kind: String, Equatable, Sendable {
        /// The machinefile's name for the host is not a valid host name.
        case name
        /// The name does not resolve here.
        case resolve
        /// ssh refused, failed, or could not reach the host.
        case ssh
        /// The host did not answer in time.
        case timeout
        /// The host's own name (`uname -n`) is invalid or shared with another host.
        case node
        /// No MPI, or another MPI than here.
        case mpi
        /// The program is missing or not executable there.
        case program
        /// The program there is another build than here.
        case build
    }

    /// The kind.
    public var kind: Kind
    /// What is wrong.
    public var message: String
    /// What to do about it.
    public var fix: String

    /// A problem.
    public init(_ kind: Kind, _ message: String, fix: String) {
        self.kind = kind
        self.message = message
        self.fix = fix
    }
}

/// What this machine has, to compare each host with.
public struct LocalFacts: Equatable, Sendable {
    /// The MPI here, or nil when there is none on `PATH`.
    public var mpi: MPIIdentity?
    /// The program's build id here, if it has one.
    public var buildID: [UInt8]?
    /// The program's `sha256sum` here, when it has no build id.
    public var sha256: String?

    /// Facts; for tests.
    public init(mpi: MPIIdentity?, buildID: [UInt8]?, sha256: String? = nil) {
        self.mpi = mpi
        self.buildID = buildID
        self.sha256 = sha256
    }
}

/// The checks of one host, and their verdict.
public struct HostCheck: Equatable, Sendable {
    /// The host as the machinefile gives it.
    public var host: Machinefile.Host
    /// Its address here, if it resolves.
    public var address: String?
    /// The ssh column: `ok`, `unresolved`, `refused`, `host key`, `no sshd`, `unreachable`,
    /// `timeout` or `failed`.
    public var ssh: String
    /// The host's report, when ssh worked.
    public var report: HostReport?
    /// The MPI column.
    public var mpi: String
    /// The program column: `same`, `other build`, `missing`, `not exec`, ... or `-`.
    public var program: String
    /// Everything wrong with the host.
    public var problems: [Problem]

    /// The status column: `ok`, or `FAIL` and the kinds of problems.
    public var status: String {
        guard !problems.isEmpty else { return "ok" }
        var kinds: [String] = []
        for problem in problems where !kinds.contains(problem.kind.rawValue) { kinds.append(problem.kind.rawValue) }
        return "FAIL " + kinds.joined(separator: ",")
    }
}

/// Checks every host of a machinefile before a run: its name, that it resolves and answers over
/// ssh without a prompt, that it has the MPI this machine has, and the same build of the program
/// at the same path.
public struct Doctor: Sendable {
    /// The ssh command and its options (`ssh -o BatchMode=yes -o ConnectTimeout=5`), to which the
    /// host and the remote command are added.
    public var ssh: [String]
    /// How long each host's checks may take.
    public var timeout: Duration
    /// The program's absolute path, the same on every host.
    public var program: String

    /// A doctor.
    public init(ssh: [String], timeout: Duration, program: String) {
        self.ssh = ssh
        self.timeout = timeout
        self.program = program
    }

    /// The outcome of a whole check.
    public struct Result: Sendable {
        /// This machine's facts.
        public var local: LocalFacts
        /// Problems of this machine (no MPI here).
        public var localProblems: [Problem]
        /// Each host's checks, in machinefile order.
        public var hosts: [HostCheck]

        /// A result; for tests.
        public init(local: LocalFacts, localProblems: [Problem], hosts: [HostCheck]) {
            self.local = local
            self.localProblems = localProblems
            self.hosts = hosts
        }

        /// Whether anything is wrong.
        public var hasProblems: Bool { !localProblems.isEmpty || hosts.contains { !$0.problems.isEmpty } }
    }

    /// Runs every host's checks at once, each within ``timeout``, and this machine's too.
    public func examine(_ machinefile: Machinefile) async -> Result {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let head = Self.readHead(program)
        let localBuildID = ELFBuildID.parse(head).bytes
        let withChecksum = localBuildID == nil
        async let localOutcome = Command.run(["sh", "-c", HostReport.script(program: program, withChecksum: withChecksum)], until: deadline)
        let hosts = await withTaskGroup(of: (Int, Resolver.Outcome, CommandOutcome).self) { group in
            for (index, host) in machinefile.hosts.enumerated() {
                let command = sshCommand(for: host, withChecksum: withChecksum)
                group.addTask {
                    async let address = Resolver.resolve(host.name, until: deadline)
                    let outcome = await Command.run(command, until: deadline)
                    return (index, await address, outcome)
                }
            }
            var results: [(Int, Resolver.Outcome, CommandOutcome)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        let localReport = HostReport(parsing: await localOutcome.output)
        let local = LocalFacts(mpi: localReport?.mpi, buildID: localBuildID, sha256: localReport?.sha256)
        var localProblems: [Problem] = []
        if local.mpi == nil {
            localProblems.append(Problem(.mpi, "no MPI on PATH here (neither mpichversion nor mpiexec)",
                                         fix: "install MPICH here and on every host (apt-get install mpich libmpich-dev)"))
        }
        var checks = hosts.map { index, address, outcome in
            Self.evaluate(machinefile.hosts[index], address: address, ssh: outcome, local: local, program: program, timeout: timeout)
        }
        Self.flagSharedNodeNames(&checks)
        return Result(local: local, localProblems: localProblems, hosts: checks)
    }

    /// `ssh [-l user] HOST sh -c '...'`.
    public func sshCommand(for host: Machinefile.Host, withChecksum: Bool) -> [String] {
        ssh + (host.user.map { ["-l", $0] } ?? []) + [host.name, HostReport.command(program: program, withChecksum: withChecksum)]
    }

    /// The first ``HostReport/headBytes`` bytes of the file at `path` here (none if unreadable).
    static func readHead(_ path: String) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: HostReport.headBytes)).map { [UInt8]($0) } ?? []
    }

    /// The verdict on one host from what its checks gave: the name rules, the lookup here, and
    /// what ssh printed (or why it failed), compared with this machine's facts.
    public static func evaluate(_ host: Machinefile.Host, address: Resolver.Outcome, ssh outcome: CommandOutcome,
                                local: LocalFacts, program: String, timeout: Duration) -> HostCheck {
        let name = host.name
        let target = host.user.map { "\($0)@\(name)" } ?? name
        var problems: [Problem] = []
        if let problem = HostName.problem(with: name) {
            let fix = if let suggestion = HostName.suggestion(for: name) {
                "rename it, e.g. to \(suggestion): in the machinefile and /etc/hosts, and on the host with hostnamectl set-hostname \(suggestion)"
            } else {
                "give it a valid name in the machinefile and /etc/hosts, and on the host with hostnamectl set-hostname"
            }
            problems.append(Problem(.name, "not a valid host name: \(problem)", fix: fix))
        }
        var addressText: String?
        switch address {
        case .address(let text):
            addressText = text
        case .failed(let reason):
            problems.append(Problem(.resolve, "does not resolve here (\(reason))",
                                    fix: "add its address to /etc/hosts here (a line \"ADDRESS \(name)\") or to DNS"))
        case .timedOut:
            problems.append(Problem(.resolve, "no answer from the name lookup within \(seconds(timeout))",
                                    fix: "check /etc/resolv.conf, or add \(name) to /etc/hosts here"))
        }
        let report = HostReport(parsing: outcome.output)
        var sshColumn = "ok"
        if outcome.timedOut {
            sshColumn = "timeout"
            problems.append(Problem(.timeout, "did not answer within \(seconds(timeout))",
                                    fix: "check that \(name) is up and on this network (ping \(name)) and that ssh \(target) true returns at once"))
        } else if report == nil {
            let (column, problem) = sshFailure(outcome, name: name, target: target)
            sshColumn = column
            // ssh's own "Could not resolve hostname" says what the lookup here said already.
            if let problem, !(problem.kind == .resolve && problems.contains { $0.kind == .resolve }) {
                problems.append(problem)
            }
        }
        guard let report else {
            return HostCheck(host: host, address: addressText, ssh: sshColumn, report: nil, mpi: "-", program: "-", problems: problems)
        }

        if let node = report.nodeName, let problem = HostName.problem(with: node) {
            let rename = HostName.problem(with: name) == nil ? name : (HostName.suggestion(for: node) ?? "a valid name")
            problems.append(Problem(.node, "calls itself \"\(node)\" (uname -n): \(problem)",
                                    fix: "on \(name), run hostnamectl set-hostname \(rename) (and list that name in its /etc/hosts)"))
        }

        var mpiColumn = report.mpi?.description ?? "none"
        if let mpi = report.mpi, let here = local.mpi, mpi != here {
            problems.append(Problem(.mpi, "has \(mpi), here \(here)",
                                    fix: "install \(here) on \(name), the same MPI as here (or run from a machine with \(mpi))"))
        } else if report.mpi == nil {
            mpiColumn = "none"
            let wanted = local.mpi.map(\.description) ?? "MPICH"
            problems.append(Problem(.mpi, "no MPI on the PATH of a non-interactive ssh shell (neither mpichversion nor mpiexec)",
                                    fix: "install \(wanted) on \(name) (apt-get install mpich), or set PATH early in its ~/.bashrc, before the line that returns for non-interactive shells"))
        }

        let folder = (program as NSString).deletingLastPathComponent
        let copy = "rsync -a \(shellWord(program)) \(shellWord("\(target):\(folder)/"))"
        let path = shellWord(program)
        var programColumn: String
        switch report.program {
        case .ok?, .notExecutable?:
            programColumn = report.program == .ok ? "same" : "not exec"
            if report.program == .notExecutable {
                problems.append(Problem(.program, "\(program) is not executable there", fix: "run ssh \(target) chmod +x \(path)"))
            }
            if let problem = compareBuilds(report, local: local, program: program, name: name, copy: copy) {
                programColumn = "other build"
                problems.append(problem)
            }
        case .missing?:
            programColumn = "missing"
            problems.append(Problem(.program, "\(program) is missing", fix: "copy it there (\(copy)), or build on a file system every host shares"))
        case .directory?:
            programColumn = "directory"
            problems.append(Problem(.program, "\(program) is a directory there", fix: "replace it with the program (\(copy))"))
        case .unreadable?:
            programColumn = "unreadable"
            problems.append(Problem(.program, "\(program) cannot be read there", fix: "run ssh \(target) chmod a+rx \(path)"))
        case nil:
            programColumn = "?"
            problems.append(Problem(.program, "the report did not say whether \(program) exists", fix: "run ssh \(target) ls -l \(path) and look"))
        }
        return HostCheck(host: host, address: addressText, ssh: sshColumn, report: report, mpi: mpiColumn,
                         program: programColumn, problems: problems)
    }

    /// A problem when the program there is not the build here: by build id, or by checksum when
    /// the program here has none.
    static func compareBuilds(_ report: HostReport, local: LocalFacts, program: String, name: String, copy: String) -> Problem? {
        let fix = "copy the new build to \(name) (\(copy))"
        if let here = local.buildID {
            switch ELFBuildID.parse(report.head) {
            case .buildID(let there) where there == here:
                return nil
            case .buildID(let there):
                return Problem(.build, "\(program) has build id \(short(there)), here \(short(here))", fix: fix)
            case .noBuildID, .notELF, .truncated:
                return Problem(.build, "\(program) has no build id there, here \(short(here))", fix: fix)
            }
        }
        guard let here = local.sha256 else { return nil }
        guard let there = report.sha256 else {
            return Problem(.build, "\(program) could not be checksummed there (sha256sum)", fix: "install coreutils on \(name), or \(fix)")
        }
        return there == here ? nil : Problem(.build, "\(program) has sha256 \(there.prefix(12)), here \(here.prefix(12))", fix: fix)
    }

    /// The ssh column and the problem for an ssh that printed no report.
    static func sshFailure(_ outcome: CommandOutcome, name: String, target: String) -> (String, Problem?) {
        if let reason = outcome.launchFailure {
            return ("failed", Problem(.ssh, "the ssh command could not start (\(reason))", fix: "check --ssh"))
        }
        let errors = outcome.errorText
        let firstLine = errors.split(whereSeparator: \.isNewline).first.map { String($0.prefix(160)) } ?? "no message"
        func has(_ text: String) -> Bool { errors.range(of: text, options: .caseInsensitive) != nil }
        guard outcome.status == 255 else {
            return ("ok", Problem(.ssh, "ssh ran but the check printed no report (exit status \(outcome.status): \(firstLine))",
                                  fix: "run ssh \(target) sh -c true and fix what its login shell prints or lacks (a POSIX sh is needed)"))
        }
        if has("Could not resolve hostname") || has("Name or service not known") {
            return ("unresolved", Problem(.resolve, "ssh cannot resolve the name (\(firstLine))",
                                          fix: "add its address to /etc/hosts here (a line \"ADDRESS \(name)\") or to DNS"))
        }
        if has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return ("host key", Problem(.ssh, "its ssh host key changed since it was last seen",
                                        fix: "if the host was reinstalled, run ssh-keygen -R \(name), then ssh \(target) once to accept the new key"))
        }
        if has("Host key verification failed") || has("No ED25519 host key is known") || has("host key is known") {
            return ("host key", Problem(.ssh, "ssh does not know its host key and may not ask",
                                        fix: "run ssh \(target) once and accept the key (or ssh-keyscan \(name) >> ~/.ssh/known_hosts after checking it)"))
        }
        if has("Permission denied") || has("password") || has("publickey") {
            return ("refused", Problem(.ssh, "ssh asked for a password or refused", fix: "run ssh-copy-id \(target)"))
        }
        if has("Connection refused") {
            return ("no sshd", Problem(.ssh, "no ssh server answers (connection refused)",
                                       fix: "start one on \(name) (apt-get install openssh-server; systemctl enable --now ssh)"))
        }
        if has("timed out") || has("No route to host") || has("Network is unreachable") || has("Host is down") {
            return ("unreachable", Problem(.ssh, "cannot be reached (\(firstLine))",
                                           fix: "check that \(name) is up, cabled and on this network (ping \(name))"))
        }
        return ("failed", Problem(.ssh, "ssh failed (\(firstLine))", fix: "run ssh \(target) true and fix what it reports"))
    }

    /// Hosts that answer with one name are one machine listed twice, or machines cloned from one
    /// image: each is flagged.
    public static func flagSharedNodeNames(_ checks: inout [HostCheck]) {
        var byNode: [String: [Int]] = [:]
        for (index, check) in checks.enumerated() {
            if let node = check.report?.nodeName, HostName.problem(with: node) == nil { byNode[node, default: []].append(index) }
        }
        for (node, indices) in byNode where indices.count > 1 {
            let names = indices.map { checks[$0].host.name }
            for index in indices {
                let name = checks[index].host.name
                let others = names.filter { $0 != name }.joined(separator: ", ")
                let rename = HostName.problem(with: name) == nil ? name : "a name of its own"
                checks[index].problems.append(Problem(.node, "answers as \"\(node)\" (uname -n), as \(others) does",
                                                      fix: "if it is another machine, give it a name of its own (on \(name), hostnamectl set-hostname \(rename)); if it is the same machine, list it once"))
            }
        }
    }

    static func short(_ id: [UInt8]) -> String { String(id.hexString.prefix(12)) }

    static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return fraction == 0 ? "\(whole) s" : String(format: "%.1f s", Double(whole) + Double(fraction) / 1e18)
    }
}
