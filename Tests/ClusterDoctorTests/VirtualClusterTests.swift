import ClusterDoctor
import ClusterFuturesTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `cf-doctor` itself, against a cluster of network-namespace hosts made by
/// `scripts/virtual-cluster`, with its launcher standing in for ssh.
@Suite(.serialized) struct VirtualClusterTests {
    static let canMakeClusters = VirtualCluster.isAvailable
    static let script = VirtualCluster.script

    /// A scratch folder (a path without spaces, as `virtual-cluster bind` wants).
    static func scratch() throws -> String {
        let path = "/tmp/cf-doctor-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `cf-doctor ARGUMENTS` as the head node of `cluster` would, seeing its host names.
    static func doctor(_ cluster: VirtualCluster, _ arguments: [String]) async throws -> (MPIRunner.Outcome, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = try await offThePool { try cluster.onHeadNode(MPIRunner.program("cf-doctor"), arguments, timeout: 100) }
        return (outcome, start.duration(to: outcome.exitedAt))
    }

    /// A row of the table, split into its cells (columns are two or more spaces apart).
    static func row(_ host: String, in outcome: MPIRunner.Outcome) -> [String]? {
        outcome.lines.first { $0.hasPrefix(host + " ") }.map { line in
            line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    static func buildID(of path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let head = [UInt8](try handle.read(upToCount: HostReport.headBytes) ?? Data())
        return String(try #require(ELFBuildID.parse(head).bytes).hexString.prefix(12))
    }

    @Test(.enabled(if: canMakeClusters), .timeLimit(.minutes(2)))
    func brokenHostsAmongGoodOnes() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // The program the run would start: a copy of cf-doctor, as good an ELF file as any.
        try FileManager.default.createDirectory(atPath: "\(scratch)/bin", withIntermediateDirectories: true)
        let program = "\(scratch)/bin/app"
        try FileManager.default.copyItem(atPath: MPIRunner.program("cf-doctor"), toPath: program)
        let machinefile = "\(scratch)/machinefile"
        try """
            # good hosts
            host1:2
            host2:3
            # broken ones: unreachable, an invalid name, a stale build, two that never answer
            host3
            node_1
            stale:2
            hung
            hung2

            """.write(toFile: machinefile, atomically: true, encoding: .utf8)

        let cluster = try await offThePool { try VirtualCluster.up(machinefile, missing: ["host3"]) }
        defer { cluster.down() }
        let dir = cluster.directory
        // On "stale", the program's path holds another build: this test binary.
        let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let bind = try await offThePool { try MPIRunner.run(executable: Self.script, arguments: ["bind", dir, "stale", me, program], timeout: 30) }
        try #require(bind.status == 0, "\(bind)")
        // ssh, as far as the doctor knows: the cluster's launcher, except that "hung" and "hung2"
        // never answer.
        // Run by sh, not executed: a file just written may still be open for writing in a child
        // that another test spawned meanwhile, and executing it would fail with ETXTBSY.
        let ssh = "\(scratch)/ssh"
        try """
            #!/bin/sh
            case "$1" in hung|hung2) exec sleep 90;; esac
            exec \(dir)/launcher "$@"

            """.write(toFile: ssh, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ssh)

        // A timeout long enough for a good host to answer on a loaded machine.
        let (outcome, elapsed) = try await Self.doctor(cluster, ["--ssh", "/bin/sh \(ssh)", "--timeout", "20", machinefile, program])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(!outcome.timedOut)
        // The hosts are asked at once, not one after another: the two that never answer cost one
        // timeout of 20 s, not two.
        #expect(elapsed < .seconds(38), "\(elapsed)")

        #expect(outcome.lines.first?.hasPrefix("cf-doctor: 7 hosts, 11 slots in \(machinefile); here: MPICH") == true, "\(outcome)")
        #expect(Self.row("HOST", in: outcome) == ["HOST", "SLOTS", "ADDRESS", "SSH", "MPI", "PROGRAM", "STATUS"])
        for (host, slots) in [("host1", "2"), ("host2", "3")] {
            let row = try #require(Self.row(host, in: outcome), "\(outcome)")
            #expect(row.count == 7 && row[1] == slots && row[2].hasPrefix("10.79.") && row[3] == "ok"
                        && row[4].hasPrefix("MPICH") && row[5] == "same" && row[6] == "ok", "\(row)")
        }
        let host3 = try #require(Self.row("host3", in: outcome))
        #expect(host3 == ["host3", "1", "-", "unresolved", "-", "-", "FAIL resolve"])
        let node1 = try #require(Self.row("node_1", in: outcome))
        #expect(node1.last == "FAIL name" && node1[3] == "ok" && node1[5] == "same", "\(node1)")
        let stale = try #require(Self.row("stale", in: outcome))
        #expect(stale[1] == "2" && stale[5] == "other build" && stale.last == "FAIL build", "\(stale)")
        for host in ["hung", "hung2"] {
            let hung = try #require(Self.row(host, in: outcome), "\(outcome)")
            #expect(hung[3] == "timeout" && hung.last == "FAIL timeout", "\(hung)")
        }

        let there = try Self.buildID(of: me)
        let here = try Self.buildID(of: program)
        let fixes = outcome.lines.filter { !$0.hasPrefix("cf-doctor:") && $0.contains(": ") }
        #expect(fixes == [
            "host3: does not resolve here (Name or service not known): add its address to /etc/hosts here (a line \"ADDRESS host3\") or to DNS",
            "node_1: not a valid host name: an underscore is not allowed in a host name (a hyphen is): rename it, e.g. to node-1: in the machinefile and /etc/hosts, and on the host with hostnamectl set-hostname node-1",
            "stale: \(program) has build id \(there), here \(here): copy the new build to stale (rsync -a \(program) stale:\(scratch)/bin/)",
            "hung: did not answer within 20 s: check that hung is up and on this network (ping hung) and that ssh hung true returns at once",
            "hung2: did not answer within 20 s: check that hung2 is up and on this network (ping hung2) and that ssh hung2 true returns at once",
        ], "\(outcome)")
        #expect(outcome.lines.last == "5 of 7 hosts have problems.")
    }

    @Test(.enabled(if: canMakeClusters), .timeLimit(.minutes(2)))
    func onlyGoodHosts() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let machinefile = "\(scratch)/machinefile"
        try "host1:2\nhost2:3\n".write(toFile: machinefile, atomically: true, encoding: .utf8)
        let cluster = try await offThePool { try VirtualCluster.up(machinefile) }
        defer { cluster.down() }
        let dir = cluster.directory

        // A timeout long enough for a host to answer on a loaded machine; the doctor ends when
        // every host has answered, well before it.
        let (outcome, elapsed) = try await Self.doctor(cluster, ["--ssh", "\(dir)/launcher", "--timeout", "60", machinefile, MPIRunner.program("cf-doctor")])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(elapsed < .seconds(45), "\(elapsed)")
        #expect(Self.row("host1", in: outcome)?.last == "ok" && Self.row("host2", in: outcome)?.last == "ok", "\(outcome)")
        #expect(outcome.lines.last == "All 2 hosts are ready.")
    }
}
