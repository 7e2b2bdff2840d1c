import ClusterDoctor
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A cluster of network-namespace hosts on this machine, made by `scripts/virtual-cluster` from a
/// machinefile, for tests that run jobs across several hosts as Hydra would over ssh.
///
/// Use ``with(_:missing:_:)``: the cluster is removed when the body returns or throws. A cluster
/// left by a killed test run is removed by the next run's `up` (its owner, this process, is gone).
public struct VirtualCluster: Sendable {
    /// The cluster's folder: `machinefile`, `launcher` (ssh's stand-in), `hosts`.
    public let directory: String
    /// Its machinefile.
    public let machinefile: Machinefile

    /// Whether clusters can be made here: network namespaces, a bridge, veth links and mount
    /// namespaces need root, iproute2's `ip` and util-linux's `unshare`. CI runs as root.
    public static let isAvailable = getuid() == 0 && MPIRunner.which("ip") != nil && MPIRunner.which("unshare") != nil

    /// Why jobs on a virtual cluster are MPICH's only: `scripts/virtual-cluster` starts them with
    /// Hydra (`mpiexec.mpich -f machinefile -launcher-exec`, its ssh stand-in entering each host's
    /// network namespace), and the tests check Hydra's placement of ranks and how Hydra's proxies
    /// end a job that lost a rank or a host. Open MPI's `mpiexec` starts an `orted` daemon per host
    /// instead, with a hostfile of its own syntax; that is not what these tests exercise.
    public static let hydraOnly = "the virtual cluster runs jobs with Hydra's ssh launcher (MPICH's mpiexec); this is the Open MPI build"

    /// `scripts/virtual-cluster` in this checkout.
    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/virtual-cluster").path

    /// A failure to make or use a cluster.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Makes a cluster from `machinefile` (lines such as `host1:2`), with no namespace for the
    /// `missing` hosts (hosts that cannot be reached), runs `body` with it and removes it, also
    /// when `body` throws. Making and removing it run off Swift's cooperative threads.
    public static func with<T: Sendable>(_ machinefile: [String], missing: [String] = [],
                                         _ body: (VirtualCluster) async throws -> T) async throws -> T {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("cf-machinefile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try (machinefile.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let cluster = try await offThePool { try up(file, missing: missing) }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(cluster))
        } catch {
            result = .failure(error)
        }
        _ = try? await offThePool { cluster.down() }
        return try result.get()
    }

    /// `virtual-cluster up` on the machinefile at `path`, owned by this process.
    public static func up(_ path: String, missing: [String] = []) throws -> VirtualCluster {
        let machinefile: Machinefile
        do {
            machinefile = try Machinefile(parsing: try String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw Failure(description: "the machinefile \(path) does not parse: \(error)")
        }
        InterfaceChanges.lock.writeLock()
        defer { InterfaceChanges.lock.unlock() }
        let outcome = try MPIRunner.run(executable: script, arguments: ["up", "--owner", String(getpid()), path],
                                        environment: ["CLUSTERFUTURES_VC_MISSING": missing.joined(separator: " ")], timeout: 120)
        guard outcome.status == 0, let directory = outcome.lines.last, directory.hasPrefix("/") else {
            throw Failure(description: "virtual-cluster up failed:\n\(outcome)")
        }
        return VirtualCluster(directory: directory, machinefile: machinefile)
    }

    /// Removes the cluster: its namespaces, links and folder, and every process still in them.
    public func down() {
        InterfaceChanges.lock.writeLock()
        defer { InterfaceChanges.lock.unlock() }
        _ = try? MPIRunner.run(executable: Self.script, arguments: ["down", directory], timeout: 60)
    }

    /// The number of slots in the machinefile (a host without `:N` has one).
    public var slots: Int { machinefile.totalSlots }

    /// The host of each rank, by rank, when every slot runs one: Hydra fills the hosts in order.
    public var placement: [String] {
        machinefile.hosts.flatMap { Array(repeating: $0.name, count: $0.slots) }
    }

    /// Runs `mpiexec -n processes PROGRAM arguments` across the cluster (every slot by default),
    /// with UCX over TCP on the hosts' links when `tcp`, else over shared memory as UCX finds it.
    /// `programName` is a program beside the test runner, or an absolute path.
    /// Waits off Swift's cooperative threads; `action` runs once when the output holds `marker`.
    public func mpiexec(_ programName: String, processes: Int? = nil, _ arguments: [String], tcp: Bool,
                        environment: [String: String] = [:], timeout: Double = 60,
                        whenOutput marker: String? = nil,
                        _ action: @escaping @Sendable () -> Void = {}) async throws -> MPIRunner.Outcome {
        let program = programName.hasPrefix("/") ? programName : MPIRunner.program(programName)
        let arguments = ["mpiexec", directory] + (tcp ? ["--tcp"] : []) + ["-n", String(processes ?? slots), program] + arguments
        return try await offThePool {
            try MPIRunner.run(executable: Self.script, arguments: arguments, environment: environment, timeout: timeout,
                              whenOutput: marker.map { ($0, action) })
        }
    }

    /// Runs a command on the head node, that is this machine, seeing the cluster's host names (the
    /// cluster's hosts file over /etc/hosts, in a mount namespace of its own).
    public func onHeadNode(_ executable: String, _ arguments: [String], timeout: Double = 60) throws -> MPIRunner.Outcome {
        guard let unshare = MPIRunner.which("unshare") else { throw Failure(description: "unshare is missing") }
        return try MPIRunner.run(
            executable: unshare,
            arguments: ["-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && shift && exec \"$@\"", "\(directory)/hosts", "_", executable]
                + arguments,
            timeout: timeout)
    }

    /// The cluster's slot number: its bridge is `cfvcSLOT`, its hosts' namespaces `cfvcSLOT-HOST`.
    var slot: String? {
        try? String(contentsOfFile: "\(directory)/slot", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The process ids of every process running on `host`, lowest first.
    public func processes(on host: String) -> [pid_t] {
        guard let slot, let ip = MPIRunner.which("ip") else { return [] }
        let outcome = try? MPIRunner.run(executable: ip, arguments: ["netns", "pids", "cfvc\(slot)-\(host)"], timeout: 10)
        return (outcome?.lines ?? []).compactMap { pid_t($0) }.sorted()
    }

    /// Makes `host` see the file `source` at the path `target` (`virtual-cluster bind`): another
    /// build of a program, say. Neither path may hold a space.
    public func bind(_ source: String, at target: String, on host: String) throws {
        let outcome = try MPIRunner.run(executable: Self.script, arguments: ["bind", directory, host, source, target], timeout: 30)
        guard outcome.status == 0 else { throw Failure(description: "virtual-cluster bind failed:\n\(outcome)") }
    }

    /// The worker ranks' own processes on `host` (each started by its supervisor, the process
    /// Hydra started; see `CLUSTERFUTURES_SUPERVISE_WORKERS`), lowest first.
    public func workerRankProcesses(on host: String) -> [pid_t] {
        processes(on: host).filter { pid in
            guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environment.split(separator: 0).contains { $0.starts(with: Array("CLUSTERFUTURES_SUPERVISOR_PID=".utf8)) }
        }
    }

    /// Takes `host` off the network, as a pulled cable or a power cut would: its link to the
    /// bridge goes down, and packets to and from it are lost without a word.
    public func cutOff(_ host: String) {
        guard let slot, let ip = MPIRunner.which("ip"),
              let index = machinefile.hosts.firstIndex(where: { $0.name == host }) else { return }
        _ = try? MPIRunner.run(executable: ip, arguments: ["link", "set", "cfvc\(slot)v\(index + 1)", "down"], timeout: 10)
    }
}

/// Keeps this test process's single-host MPI jobs and its virtual clusters' network interfaces
/// apart: UCX lists every interface as MPI starts, and a job fails if one it listed vanishes. Jobs
/// on this host hold it to read; making or removing a cluster holds it to write.
public enum InterfaceChanges {
    public static let lock = ReadWriteLock()
}

/// A `pthread_rwlock_t`, for locks held across blocking calls by threads that are not Swift tasks'.
// @unchecked Sendable: the lock is a pthread read-write lock, made for sharing between threads; the
// storage is allocated once, never moved, and freed only in deinit, when no thread can hold it.
public final class ReadWriteLock: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        storage = .allocate(capacity: 1)
        storage.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(storage, nil)
    }

    deinit {
        pthread_rwlock_destroy(storage)
        storage.deallocate()
    }

    public func readLock() { pthread_rwlock_rdlock(storage) }
    public func writeLock() { pthread_rwlock_wrlock(storage) }
    public func unlock() { pthread_rwlock_unlock(storage) }
}
