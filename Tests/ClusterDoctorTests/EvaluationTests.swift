import ClusterDoctor
import Testing

/// The verdict on a host from what its checks gave, without any process.
@Suite struct EvaluationTests {
    static let program = "/opt/app/prog"
    static let mpich = MPIIdentity(implementation: "MPICH", version: "4.0.2")
    static let here = LocalFacts(mpi: mpich, buildID: [1, 2, 3, 4, 5, 6, 7, 8])

    static func answer(node: String = "host2", mpi: String = "MPICH Version:\t4.0.2", program: String = "ok",
                       head: [UInt8] = TinyELF.file(wide: true, bigEndian: false, notes: [
                           TinyELF.note(name: "GNU", type: 3, descriptor: [1, 2, 3, 4, 5, 6, 7, 8], bigEndian: false, align: 4),
                       ])) -> CommandOutcome {
        let text = "cf-doctor-report\nnode \(node)\nmpi \(mpi)\nprogram \(program)\ncf-doctor-bytes\n"
        return CommandOutcome(status: 0, timedOut: false, output: Array(text.utf8) + head, errors: [], launchFailure: nil)
    }

    static func sshFailed(_ message: String, status: Int32 = 255) -> CommandOutcome {
        CommandOutcome(status: status, timedOut: false, output: [], errors: Array(message.utf8), launchFailure: nil)
    }

    static func evaluate(_ outcome: CommandOutcome, local: LocalFacts = here) -> HostCheck {
        evaluate("host2", outcome, local: local)
    }

    static func evaluate(_ name: String, address: Resolver.Outcome = .address("10.0.0.12"), _ outcome: CommandOutcome,
                         local: LocalFacts = here) -> HostCheck {
        Doctor.evaluate(.init(name: name, slots: 3), address: address, ssh: outcome, local: local, program: program,
                        timeout: .seconds(5))
    }

    /// The lines the doctor prints for a host's problems.
    static func lines(_ check: HostCheck) -> [String] {
        check.problems.map { "\(check.host.name): \($0.message): \($0.fix)" }
    }

    @Test func aGoodHost() {
        let check = Self.evaluate(Self.answer())
        #expect(check.problems.isEmpty)
        #expect(check.status == "ok")
        #expect([check.address, check.ssh, check.mpi, check.program] == ["10.0.0.12", "ok", "MPICH 4.0.2", "same"])
    }

    @Test func sshFailures() {
        let refused = Self.evaluate("host3", Self.sshFailed("root@host3: Permission denied (publickey,password).\n"))
        #expect(refused.ssh == "refused" && refused.status == "FAIL ssh")
        #expect(Self.lines(refused) == ["host3: ssh asked for a password or refused: run ssh-copy-id host3"])
        #expect(Self.evaluate(Self.sshFailed("Host key verification failed.\n")).ssh == "host key")
        #expect(Self.evaluate(Self.sshFailed("ssh: connect to host host2 port 22: Connection refused\n")).ssh == "no sshd")
        #expect(Self.evaluate(Self.sshFailed("ssh: connect to host host2 port 22: No route to host\n")).ssh == "unreachable")
        #expect(Self.evaluate(Self.sshFailed("kex_exchange_identification: read: Connection reset by peer\n")).ssh == "failed")
        // The login shell ran, but not the report: an exit status of the remote side, not 255.
        let noShell = Self.evaluate(Self.sshFailed("bash: sh: command not found\n", status: 127))
        #expect(noShell.ssh == "ok" && noShell.status == "FAIL ssh")
    }

    @Test func anUnresolvableHostIsOneProblem() {
        let check = Self.evaluate("host3", address: .failed("Name or service not known"),
                                  Self.sshFailed("ssh: Could not resolve hostname host3: Name or service not known\n"))
        #expect(check.ssh == "unresolved" && check.address == nil && check.mpi == "-" && check.program == "-")
        #expect(Self.lines(check) == [
            "host3: does not resolve here (Name or service not known): add its address to /etc/hosts here (a line \"ADDRESS host3\") or to DNS",
        ])
    }

    @Test func aHostThatDoesNotAnswer() {
        let outcome = CommandOutcome(status: 137, timedOut: true, output: [], errors: [], launchFailure: nil)
        let check = Self.evaluate(outcome)
        #expect(check.ssh == "timeout" && check.status == "FAIL timeout")
        #expect(Self.lines(check).first?.hasPrefix("host2: did not answer within 5 s: ") == true)
    }

    @Test func namesAndNodeNames() {
        let underscore = Self.evaluate("node_1", Self.answer(node: "node_1"))
        #expect(underscore.status == "FAIL name,node")
        #expect(Self.lines(underscore).first == "node_1: not a valid host name: an underscore is not allowed in a host name (a hyphen is): rename it, e.g. to node-1: in the machinefile and /etc/hosts, and on the host with hostnamectl set-hostname node-1")
        let unset = Self.evaluate(Self.answer(node: "(none)"))
        #expect(unset.status == "FAIL node")
        #expect(Self.lines(unset).first?.contains("calls itself \"(none)\"") == true)
        #expect(Self.lines(unset).first?.hasSuffix("on host2, run hostnamectl set-hostname host2 (and list that name in its /etc/hosts)") == true)
        // A hyphen inside a name is fine.
        #expect(Self.evaluate("rpi-2", Self.answer(node: "rpi-2")).problems.isEmpty)
    }

    @Test func sharedNodeNames() {
        var checks = [
            Self.evaluate("rpi1", Self.answer(node: "raspberrypi")),
            Self.evaluate("rpi2", Self.answer(node: "raspberrypi")),
            Self.evaluate("rpi3", Self.answer(node: "rpi3")),
        ]
        Doctor.flagSharedNodeNames(&checks)
        #expect(checks.map(\.status) == ["FAIL node", "FAIL node", "ok"])
        #expect(Self.lines(checks[1]).first?.hasPrefix("rpi2: answers as \"raspberrypi\" (uname -n), as rpi1 does: ") == true)
    }

    @Test func mpi() {
        let openMPI = Self.evaluate(Self.answer(mpi: "mpiexec (OpenRTE) 4.1.2"))
        #expect(openMPI.mpi == "Open MPI 4.1.2" && openMPI.status == "FAIL mpi")
        #expect(Self.lines(openMPI) == ["host2: has Open MPI 4.1.2, here MPICH 4.0.2: install MPICH 4.0.2 on host2, the same MPI as here (or run from a machine with Open MPI 4.1.2)"])
        let older = Self.evaluate(Self.answer(mpi: "MPICH Version:\t3.4.1"))
        #expect(older.status == "FAIL mpi")
        let none = Self.evaluate(Self.answer(mpi: ""))
        #expect(none.mpi == "none")
        #expect(Self.lines(none).first?.contains("no MPI on the PATH of a non-interactive ssh shell") == true)
    }

    @Test func program() {
        let missing = Self.evaluate(Self.answer(program: "missing", head: []))
        #expect(missing.program == "missing")
        #expect(Self.lines(missing) == ["host2: /opt/app/prog is missing: copy it there (rsync -a /opt/app/prog host2:/opt/app/), or build on a file system every host shares"])
        let notExecutable = Self.evaluate(Self.answer(program: "not-executable"))
        #expect(notExecutable.program == "not exec")
        #expect(Self.lines(notExecutable) == ["host2: /opt/app/prog is not executable there: run ssh host2 chmod +x /opt/app/prog"])
    }

    @Test func builds() {
        let other = TinyELF.file(wide: true, bigEndian: false, notes: [
            TinyELF.note(name: "GNU", type: 3, descriptor: [0xaa, 0xbb, 0xcc], bigEndian: false, align: 4),
        ])
        let stale = Self.evaluate(Self.answer(head: other))
        #expect(stale.program == "other build" && stale.status == "FAIL build")
        #expect(Self.lines(stale) == ["host2: /opt/app/prog has build id aabbcc, here 010203040506: copy the new build to host2 (rsync -a /opt/app/prog host2:/opt/app/)"])
        let script = Self.evaluate(Self.answer(head: Array("#!/bin/sh\n".utf8)))
        #expect(Self.lines(script).first?.hasPrefix("host2: /opt/app/prog has no build id there, here 010203040506") == true)

        // No build id here: the checksums decide.
        let noID = LocalFacts(mpi: Self.mpich, buildID: nil, sha256: "aaaa")
        var same = Self.answer(head: [])
        same.output = Array("cf-doctor-report\nnode host2\nmpi MPICH Version: 4.0.2\nprogram ok\nsha256 aaaa  /opt/app/prog\ncf-doctor-bytes\n".utf8)
        #expect(Self.evaluate(same, local: noID).problems.isEmpty)
        var differs = same
        differs.output = Array("cf-doctor-report\nnode host2\nmpi MPICH Version: 4.0.2\nprogram ok\nsha256 bbbb  /opt/app/prog\ncf-doctor-bytes\n".utf8)
        #expect(Self.lines(Self.evaluate(differs, local: noID)) == ["host2: /opt/app/prog has sha256 bbbb, here aaaa: copy the new build to host2 (rsync -a /opt/app/prog host2:/opt/app/)"])
    }

    @Test func userFromTheMachinefile() {
        let check = Doctor.evaluate(.init(name: "host3", user: "pi"), address: .address("10.0.0.13"),
                                    ssh: Self.sshFailed("pi@host3: Permission denied (publickey).\n"), local: Self.here,
                                    program: Self.program, timeout: .seconds(5))
        #expect(Self.lines(check) == ["host3: ssh asked for a password or refused: run ssh-copy-id pi@host3"])
        let doctor = Doctor(ssh: ["ssh", "-o", "BatchMode=yes"], timeout: .seconds(5), program: Self.program)
        let command = doctor.sshCommand(for: .init(name: "host3", user: "pi"), withChecksum: false)
        #expect(Array(command.prefix(6)) == ["ssh", "-o", "BatchMode=yes", "-l", "pi", "host3"])
        #expect(command.last?.hasPrefix("sh -c '") == true)
    }

    @Test func rendering() {
        let result = Doctor.Result(local: Self.here, localProblems: [], hosts: [
            Self.evaluate("host1", Self.answer(node: "host1")),
            Self.evaluate("host3", address: .failed("Name or service not known"),
                          Self.sshFailed("ssh: Could not resolve hostname host3: Name or service not known\n")),
        ])
        let text = result.rendered(machinefile: "mf", program: Self.program)
        #expect(text == """
            cf-doctor: 2 hosts, 6 slots in mf; here: MPICH 4.0.2, /opt/app/prog build id 010203040506
            HOST   SLOTS  ADDRESS    SSH         MPI          PROGRAM  STATUS
            host1  3      10.0.0.12  ok          MPICH 4.0.2  same     ok
            host3  3      -          unresolved  -            -        FAIL resolve

            host3: does not resolve here (Name or service not known): add its address to /etc/hosts here (a line "ADDRESS host3") or to DNS

            1 of 2 hosts has problems.

            """)
        #expect(result.hasProblems)
    }
}
