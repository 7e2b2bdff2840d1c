import ClusterFuturesTestSupport
import Testing

/// `Examples/Fallback` (`cf-fallback`): the same program on the MPI pool, a process pool and the
/// inline executor, saying which it got and why, with the same result on each.
@Suite("The fallback example", .serialized)
struct FallbackExampleTests {
    /// The result on every executor: there are 25,997 primes below 300,000.
    static let result = "25997 primes below 300000"

    /// The automatic choice, whatever the test runner's environment says.
    static let automatic = ["CLUSTERFUTURES_EXECUTOR": "auto"]

    /// The value of the line `NAME: value`.
    static func field(_ name: String, in outcome: MPIRunner.Outcome) -> String? {
        outcome.lines.first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) }
    }

    /// The places the tasks ran, from `ran on: worker 0, worker 1`.
    static func places(in outcome: MPIRunner.Outcome) -> Set<String> {
        Set((field("ran on", in: outcome) ?? "").split(separator: ", ").map(String.init))
    }

    @Test("alone, with --workers 2: the process pool, because there is no MPI launcher and workers are configured")
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-fallback", processes: nil, ["--workers", "2"], environment: Self.automatic,
                                              timeout: 120)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(Self.field("executor", in: outcome) == "process", "\(outcome)")
        #expect(Self.field("reason", in: outcome)
                == "no MPI launcher with more than one process, workers: 2 configured; 2 worker processes", "\(outcome)")
        let places = Self.places(in: outcome)
        #expect(!places.isEmpty && places.isSubset(of: ["worker 0", "worker 1"]), "\(outcome)")
        #expect(Self.field("result", in: outcome) == Self.result, "\(outcome)")
    }

    @Test("inline, asked for by the option or by the environment variable, and the reason says which", arguments: [
        (["--executor", "inline"], [:], "inline was asked for"),
        ([], ["CLUSTERFUTURES_EXECUTOR": "inline"], "CLUSTERFUTURES_EXECUTOR=inline"),
    ])
    func inline(arguments: [String], environment: [String: String], reason: String) async throws {
        let outcome = try await MPIRunner.run("cf-fallback", processes: nil, arguments,
                                              environment: Self.automatic.merging(environment) { $1 }, timeout: 120)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(Self.field("executor", in: outcome) == "inline", "\(outcome)")
        #expect(Self.field("reason", in: outcome) == reason, "\(outcome)")
        #expect(Self.places(in: outcome) == ["inline"], "\(outcome)")
        #expect(Self.field("result", in: outcome) == Self.result, "\(outcome)")
    }

    @Test("under mpiexec -n 3: the MPI pool, because a launcher started 3 processes, with 2 worker ranks")
    func underMPI() async throws {
        let outcome = try await MPIRunner.run("cf-fallback", processes: 3, [], environment: Self.automatic, timeout: 120)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(Self.field("executor", in: outcome) == "mpi", "\(outcome)")
        let reason = Self.field("reason", in: outcome) ?? ""
        #expect(reason.hasPrefix("launched by ") && reason.hasSuffix("; 2 worker ranks"), "\(outcome)")
        let places = Self.places(in: outcome)
        #expect(!places.isEmpty && places.isSubset(of: ["rank 1", "rank 2"]), "\(outcome)")
        #expect(Self.field("result", in: outcome) == Self.result, "\(outcome)")
    }
}
