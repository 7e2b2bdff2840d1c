import ClusterDoctor
import Foundation
import Testing

@Suite struct HostReportTests {
    @Test func mpiVersions() {
        #expect(MPIIdentity.parse("MPICH Version:    \t4.0.2\n") == MPIIdentity(implementation: "MPICH", version: "4.0.2"))
        #expect(MPIIdentity.parse("mpiexec (OpenRTE) 4.1.2\n\nReport bugs to http://www.open-mpi.org/community/help/")
            == MPIIdentity(implementation: "Open MPI", version: "4.1.2"))
        #expect(MPIIdentity.parse("mpiexec (Open MPI) 5.0.3") == MPIIdentity(implementation: "Open MPI", version: "5.0.3"))
        #expect(MPIIdentity.parse("HYDRA build details:\n    Version:                                 4.0.2\n    Release Date: x")
            == MPIIdentity(implementation: "MPICH", version: "4.0.2"))
        #expect(MPIIdentity.parse("Intel(R) MPI Library for Linux* OS, Version 2021.6 Build 20220227 (id: 28877f3f32)")
            == MPIIdentity(implementation: "Intel MPI", version: "2021.6"))
        #expect(MPIIdentity.parse("something else 1.0") == MPIIdentity(implementation: "unknown", version: "something else 1.0"))
        #expect(MPIIdentity.parse("\n  \n") == nil)
    }

    @Test func quoting() {
        #expect(shellQuoted("it's") == "'it'\\''s'")
        #expect(shellWord("/opt/app/prog") == "/opt/app/prog")
        #expect(shellWord("pi@host2:/opt/app/") == "pi@host2:/opt/app/")
        #expect(shellWord("/opt/my app/prog") == "'/opt/my app/prog'")
        #expect(shellWord("/opt/$HOME") == "'/opt/$HOME'")
        #expect(shellWord("") == "''")
    }

    @Test func parsesAReportAfterALoginBanner() throws {
        let binary: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 0, 10, 255, 0x63]
        let text = """
            Welcome to host1!
            cf-doctor-report
            node host1
            mpi MPICH Version:\t4.0.2
            program not-executable
            sha256 0123abcd  /opt/app/prog
            cf-doctor-bytes

            """
        let report = try #require(HostReport(parsing: Array(text.utf8) + binary))
        #expect(report == HostReport(nodeName: "host1", mpi: MPIIdentity(implementation: "MPICH", version: "4.0.2"),
                                     program: .notExecutable, sha256: "0123abcd", head: binary))
        #expect(HostReport(parsing: Array("bash: sh: command not found\n".utf8)) == nil)
        #expect(HostReport(parsing: Array("cf-doctor-report\ncf-doctor-bytes\n".utf8)) == HostReport())
    }

    /// The script as a shell runs it, on a path that needs quoting, directly and as the command
    /// line ssh hands to the remote login shell.
    @Test func theScriptOnARealFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cf-doctor it's \(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let program = folder.appendingPathComponent("my prog").path
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: program))
        // A bound that only catches a hang: with every suite running, this test has waited 30 s
        // for a thread before its first command ran, and a 20 s bound killed the commands.
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))

        let direct = await Command.run(["sh", "-c", HostReport.script(program: program, withChecksum: true)], until: deadline)
        let viaLoginShell = await Command.run(["sh", "-c", HostReport.command(program: program, withChecksum: true)], until: deadline)
        for outcome in [direct, viaLoginShell] {
            let report = try #require(HostReport(parsing: outcome.output), "\(outcome.errorText)")
            #expect(report.program == .notExecutable)
            #expect(report.head == Array(bytes.prefix(HostReport.headBytes)))
            #expect(report.sha256?.count == 64)
            #expect(report.nodeName?.isEmpty == false)
        }

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        let executable = try #require(HostReport(parsing: await Command.run(["sh", "-c", HostReport.command(program: program, withChecksum: false)], until: deadline).output))
        #expect(executable.program == .ok)
        #expect(executable.sha256 == nil)

        let missing = try #require(HostReport(parsing: await Command.run(["sh", "-c", HostReport.command(program: program + ".gone", withChecksum: true)], until: deadline).output))
        #expect(missing.program == .missing)
        #expect(missing.head.isEmpty && missing.sha256 == nil)
    }
}

/// Timed on the calling thread, with `runBlocking`: an async test resumes only when a thread of
/// Swift's cooperative pool is free, which, with the other suites' synchronous tests running,
/// takes seconds.
@Suite struct CommandTests {
    @Test func killsTheGroupAtTheDeadline() {
        let clock = ContinuousClock()
        let start = clock.now
        // 2 s for the shell to start and echo, on a machine every suite is loading; the command
        // itself would run 30 s.
        let outcome = Command.runBlocking(["sh", "-c", "echo started; sleep 30; echo never"], until: start.advanced(by: .seconds(2)))
        #expect(outcome.timedOut)
        #expect(String(decoding: outcome.output, as: UTF8.self) == "started\n")
        #expect(clock.now - start < .seconds(12), "it returned at the deadline, not after the 30 s sleep")
    }

    /// A command that leaves something behind holding its output ends when it ends, give or take
    /// a second, not when what it left does.
    @Test func doesNotWaitForWhatTheCommandLeftBehind() {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = Command.runBlocking(["sh", "-c", "sleep 20 & echo done"], until: start.advanced(by: .seconds(15)))
        #expect(!outcome.timedOut)
        #expect(outcome.status == 0)
        #expect(String(decoding: outcome.output, as: UTF8.self) == "done\n")
        #expect(clock.now - start < .seconds(12), "it returned when sh did, not after the 20 s sleep it left")
    }

    @Test func statusAndErrors() async {
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))  // only catches a hang
        let outcome = await Command.run(["sh", "-c", "echo oops >&2; exit 3"], until: deadline)
        #expect(outcome.status == 3 && outcome.errorText == "oops\n" && !outcome.timedOut)
        let missing = await Command.run(["/nonexistent/ssh", "host1"], until: deadline)
        #expect(missing.status == -1 && missing.launchFailure != nil)
    }
}
