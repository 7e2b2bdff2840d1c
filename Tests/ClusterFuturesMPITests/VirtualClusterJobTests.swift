import ClusterFuturesTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Jobs across several hosts, as on a cluster of machines started by `mpiexec -f machinefile`:
/// network-namespace hosts made by `scripts/virtual-cluster`, each with its own name and address,
/// reached over TCP on veth links (`tcp: true`) or over shared memory, as UCX finds it otherwise.
///
/// Serialized: the hosts share this machine's two cores.
@Suite("Jobs on a virtual cluster", .serialized,
       .enabled(if: VirtualCluster.isAvailable, "making network-namespace hosts needs root, ip and unshare"),
       .disabled(if: MPIRunner.isOpenMPI, Comment(rawValue: VirtualCluster.hydraOnly)))
struct VirtualClusterJobTests {
    /// The articles' uneven machinefile on two hosts, and three hosts; every host has a worker rank
    /// (Hydra fills each host's slots in order, and rank 0 is the first slot of the first host:
    /// ``VirtualCluster/placement``).
    static let layouts: [[String]] = [["host1:2", "host2:3"], ["host1:2", "host2:1", "host3:2"]]

    /// The value of `key=VALUE` in a line of space-separated fields.
    static func field(_ key: String, in line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    @Test("the MPI pool spreads tasks over 2 and 3 hosts, each host runs some, and the results equal one host's",
          arguments: layouts, [true, false])
    func executorAcrossHosts(machinefile: [String], tcp: Bool) async throws {
        try await VirtualCluster.with(machinefile) { cluster in
            let outcome = try await cluster.mpiexec("mpi-pool-test-programs", ["spread"], tcp: tcp, timeout: 120)
            #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
            let line = try #require(outcome.lines.first { $0.hasPrefix("ok spread ") }, "\(outcome)")

            let slots = cluster.slots
            let alone = try await offThePool { try MPIRunner.run("mpi-pool-test-programs", processes: slots, ["spread"], timeout: 120) }
            let aloneLine = try #require(alone.lines.first { $0.hasPrefix("ok spread ") }, "\(alone)")
            #expect(Self.field("squares", in: line) != nil && Self.field("squares", in: line) == Self.field("squares", in: aloneLine),
                    "\(line) against one host's \(aloneLine)")

            // Each task reports the host that ran it: every host with a worker rank ran some.
            let counts = (Self.field("hosts", in: line) ?? "").split(separator: ",").reduce(into: [String: Int]()) { counts, entry in
                let parts = entry.split(separator: ":")
                if parts.count == 2 { counts[String(parts[0])] = Int(parts[1]) }
            }
            let workerHosts = Set(cluster.placement.dropFirst())
            #expect(Set(counts.keys) == workerHosts && counts.values.allSatisfy { $0 > 0 }, "\(line)")
        }
    }

    @Test("worker ranks on other hosts send their log records to rank 0's loggers, each tagged with its own rank and host")
    func logRecordsAcrossHosts() async throws {
        try await VirtualCluster.with(["host1:2", "host2:3"]) { cluster in
            let outcome = try await cluster.mpiexec("mpi-pool-test-programs", ["logging"], tcp: true, timeout: 120)
            #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
            let line = try #require(outcome.lines.first { $0.hasPrefix("ok logging ") }, "\(outcome)")
            #expect(Self.field("ranks", in: line) == (1..<cluster.slots).map(String.init).joined(separator: ","), "\(line)")
            let hosts = Set((Self.field("hosts", in: line) ?? "").split(separator: ",").map(String.init))
            #expect(hosts == Set(cluster.placement.dropFirst()), "\(line)")
        }
    }

    @Test("plain MPI programs (point-to-point, collectives, non-blocking, split) run over 2 and 3 hosts",
          arguments: layouts, [true, false])
    func plainProgramsAcrossHosts(machinefile: [String], tcp: Bool) async throws {
        let scenarios = ["init", "p2p", "collectives", "typed-collectives", "nonblocking", "sendrecv", "split", "hosts"]
        try await VirtualCluster.with(machinefile) { cluster in
            let outcome = try await cluster.mpiexec("mpi-test-programs", scenarios, tcp: tcp, timeout: 120)
            #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
            let size = cluster.slots
            let lines = Set(outcome.lines)
            let missing = (0..<size).flatMap { rank in scenarios.map { "rank \(rank)/\(size) ok \($0)" } }.filter { !lines.contains($0) }
            #expect(missing.isEmpty, "missing \(missing):\n\(outcome)")
            #expect(lines.contains("hosts: " + cluster.placement.joined(separator: " ")), "\(outcome)")
        }
    }

    @Test("20 jobs in a row over TCP each exit 0 with their output, none hangs at exit")
    func consecutiveJobsOverTCP() async throws {
        try await VirtualCluster.with(["host1:2", "host2:3"]) { cluster in
            for job in 1...20 {
                let outcome = try await cluster.mpiexec("mpi-test-programs", ["init", "collectives", "hosts"], tcp: true, timeout: 60)
                #expect(outcome.status == 0 && !outcome.timedOut, "job \(job):\n\(outcome)")
                #expect(outcome.lines.filter { $0.hasSuffix(" ok collectives") }.count == 5, "job \(job):\n\(outcome)")
                if outcome.status != 0 { break }
            }
        }
    }

    @Test("a host with another build of the program is refused, naming the rank and the host, and the job ends non-zero",
          .timeLimit(.minutes(2)))
    func staleBuildOnOneHost() async throws {
        // Another build: the same program with one byte of its GNU build id changed, which the
        // loader ignores and the pool's hello compares.
        let program = MPIRunner.program("mpi-pool-test-programs")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: program)))
        let noteHeader: [UInt8] = [4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0] + Array("GNU".utf8) + [0]
        let start = try #require((0...(bytes.count - noteHeader.count - 20)).first { bytes[$0..<($0 + noteHeader.count)].elementsEqual(noteHeader) },
                                 "no GNU build id note in \(program)")
        bytes[start + noteHeader.count] ^= 0xFF
        let stale = FileManager.default.temporaryDirectory.appendingPathComponent("cf-stale-\(getpid())").path
        try Data(bytes).write(to: URL(fileURLWithPath: stale))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stale)
        defer { try? FileManager.default.removeItem(atPath: stale) }

        try await VirtualCluster.with(["host1:2", "host2:3"]) { cluster in
            try await offThePool { try cluster.bind(stale, at: program, on: "host2") }
            let outcome = try await cluster.mpiexec("mpi-pool-test-programs", ["results"], tcp: true, timeout: 60)
            #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
            let all = outcome.output + outcome.errors
            // Ranks 2, 3 and 4 run on host2; the first whose hello arrives is named.
            #expect(["2", "3", "4"].contains { all.contains("refused rank \($0) on host2: it runs build") }
                    && all.contains("every worker must run the same build"), "\(outcome)")
        }
    }

    @Test("a host in the machinefile that cannot be reached fails start-up within the bound, naming the host",
          .timeLimit(.minutes(2)))
    func unreachableHost() async throws {
        try await VirtualCluster.with(["host1:2", "host2:2", "host3:1"], missing: ["host3"]) { cluster in
            let clock = ContinuousClock()
            let start = clock.now
            let outcome = try await cluster.mpiexec("mpi-pool-test-programs", ["results"], tcp: true,
                                              environment: ["CLUSTERFUTURES_STARTUP_TIMEOUT": "3"], timeout: 60)
            let elapsed = start.duration(to: outcome.exitedAt)
            #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
            #expect(outcome.errors.contains("ClusterFutures: MPI did not start within 3 s")
                    && outcome.errors.contains("host3 does not resolve to an address")
                    && outcome.errors.contains("cf-doctor"), "\(outcome)")
            // The bound plus some seconds to print and end, on a loaded machine: not mpiexec's wait
            // forever.
            #expect(elapsed < .seconds(30), "took \(elapsed)")
        }
    }
}

/// Losing a worker rank or a whole host in the middle of a job, on a virtual cluster over TCP.
@Suite("Losses on a virtual cluster", .serialized,
       .enabled(if: VirtualCluster.isAvailable, "making network-namespace hosts needs root, ip and unshare"),
       .disabled(if: MPIRunner.isOpenMPI, Comment(rawValue: VirtualCluster.hydraOnly)))
struct VirtualClusterLossTests {
    /// How a host or rank is lost.
    /// When something happened, set once from another thread.
    final class Moment: Sendable {
        private let value = Mutex<ContinuousClock.Instant?>(nil)
        func mark() { value.withLock { $0 = .now } }
        var instant: ContinuousClock.Instant? { value.withLock { $0 } }
    }

    enum Loss: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// One worker rank on host2 stops (SIGSTOP): alive to the kernel, silent to MPI.
        case rankStopped
        /// One worker rank on host2 is killed by SIGKILL, as `kill -9` or the kernel's
        /// out-of-memory killer would: it cannot say anything itself.
        case rankKilled
        /// Every process on host2 stops, Hydra's proxy included: a host that froze.
        case hostFrozen
        /// host2's link goes down: a host that lost its network, or its power.
        case hostCutOff

        var testDescription: String { rawValue }
    }

    @Test("a worker rank or a whole host lost mid-run ends the job non-zero within seconds, rank 0 naming rank, host and task",
          .timeLimit(.minutes(2)), arguments: Loss.allCases)
    func lostMidRun(_ loss: Loss) async throws {
        try await VirtualCluster.with(["host1:2", "host2:3"]) { cluster in
            let lostAt = Moment()
            let outcome = try await cluster.mpiexec(
                "mpi-pool-test-programs", ["long-tasks"], tcp: true, environment: ["CLUSTERFUTURES_LOSS_TIMEOUT": "3"], timeout: 60,
                whenOutput: "running") { [cluster] in
                    switch loss {
                    case .rankStopped:
                        if let pid = cluster.workerRankProcesses(on: "host2").first { kill(pid, SIGSTOP) }
                    case .rankKilled:
                        if let pid = cluster.workerRankProcesses(on: "host2").first { kill(pid, SIGKILL) }
                    case .hostFrozen:
                        for pid in cluster.processes(on: "host2") { kill(pid, SIGSTOP) }
                    case .hostCutOff:
                        cluster.cutOff("host2")
                    }
                    lostAt.mark()
                }
            #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
            let lines = outcome.errors.split(separator: "\n").filter { $0.contains("was lost while running") }
            #expect(!lines.isEmpty && lines.allSatisfy {
                $0.contains("host host2") && $0.contains("SleepThenReturn") && $0.hasPrefix("ClusterFutures: MPI worker rank ")
            }, "\(outcome)")
            // host2 has ranks 2, 3 and 4: a frozen or cut-off host loses all three.
            #expect(lines.count == (loss == .rankStopped || loss == .rankKilled ? 1 : 3), "\(outcome)")
            if loss == .rankKilled {
                // The rank's supervisor says how it died; rank 0 names the task.
                #expect(outcome.errors.contains("was killed by SIGKILL, which it cannot catch"), "\(outcome)")
            }
            // The loss timeout of 3 s and some seconds to end, on a loaded machine: not a hang, and
            // not the running tasks' 20 s.
            let took = try #require(lostAt.instant).duration(to: outcome.exitedAt)
            #expect(took < .seconds(15), "ended \(took) after the loss")
        }
    }
}
