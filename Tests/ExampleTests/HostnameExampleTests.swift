import ClusterFuturesTestSupport
import Testing

/// `Examples/Hostname` (`cf-hostname`): every worker reports its host and rank or worker index,
/// alone, under `mpiexec -n 5`, and across the articles' machinefile `host1:2`, `host2:3`.
@Suite("The hostname example", .serialized)
struct HostnameExampleTests {
    /// The `rank R on HOST, pid P` (or `worker W on ...`) lines, as `[name: host]`.
    static func places(in outcome: MPIRunner.Outcome) -> [String: String] {
        var places: [String: String] = [:]
        for line in outcome.lines {
            guard let on = line.range(of: " on "), let comma = line.range(of: ", pid ") else { continue }
            places[String(line[..<on.lowerBound])] = String(line[on.upperBound..<comma.lowerBound])
        }
        return places
    }

    @Test("alone, with --workers 3, each of the 3 worker processes reports")
    func alone() async throws {
        let outcome = try await offThePool { try MPIRunner.run("cf-hostname", processes: nil, ["--workers", "3"], timeout: 60) }
        #expect(outcome.status == 0 && outcome.lines.first?.hasPrefix("3 worker(s)") == true, "\(outcome)")
        #expect(Set(Self.places(in: outcome).keys) == ["worker 0", "worker 1", "worker 2"], "\(outcome)")
    }

    @Test("under mpiexec -n 5, each of the 4 worker ranks reports")
    func underMPI() async throws {
        let outcome = try await offThePool { try MPIRunner.run("cf-hostname", processes: 5, [], timeout: 90) }
        #expect(outcome.status == 0 && outcome.lines.first?.hasPrefix("4 worker(s)") == true, "\(outcome)")
        #expect(Set(Self.places(in: outcome).keys) == ["rank 1", "rank 2", "rank 3", "rank 4"], "\(outcome)")
    }

    @Test("on a virtual cluster with the machinefile host1:2, host2:3, each rank reports the host it was placed on",
          .enabled(if: VirtualCluster.isAvailable, "making network-namespace hosts needs root, ip and unshare"),
          .disabled(if: MPIRunner.isOpenMPI, Comment(rawValue: VirtualCluster.hydraOnly)))
    func onACluster() async throws {
        try await VirtualCluster.with(["host1:2", "host2:3"]) { cluster in
            let outcome = try await cluster.mpiexec("cf-hostname", [], tcp: true, timeout: 120)
            #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
            let expected = Dictionary(uniqueKeysWithValues: cluster.placement.enumerated().dropFirst().map { ("rank \($0.offset)", $0.element) })
            #expect(Self.places(in: outcome) == expected, "\(outcome)")
        }
    }
}
