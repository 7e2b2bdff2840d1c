import ClusterFuturesTestSupport
import Testing

/// `cf-demo`, as `scripts/demo` and `.ci/run` run it: alone, under `mpiexec -n 3`, and with the
/// executor chosen on its command line.
@Suite("cf-demo", .serialized)
struct DemoTests {
    static let arguments = ["--primes-below", "200000", "--million-darts", "1"]

    func run(_ processes: Int?, _ extra: [String] = []) async throws -> MPIRunner.Outcome {
        let outcome = try await MPIRunner.run("cf-demo", processes: processes, Self.arguments + extra, timeout: 120)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome)")
        #expect(outcome.lines.contains { $0.hasPrefix("primes below 200000: 17984 ") }, "\(outcome)")
        #expect(outcome.lines.contains { $0.hasPrefix("skipped bad record: \"nairobi,twenty\"") }, "\(outcome)")
        return outcome
    }

    @Test("alone it uses the process pool; --executor and --workers choose for it")
    func alone() async throws {
        let automatic = try await run(nil)
        #expect(automatic.lines.first?.hasPrefix("executor: LocalProcessPoolExecutor (--executor auto)") == true
                || automatic.lines.first?.hasPrefix("executor: InlineDummyExecutor (--executor auto)") == true, "\(automatic)")
        let sized = try await run(nil, ["--executor", "process", "--workers", "3"])
        #expect(sized.lines.first == "executor: LocalProcessPoolExecutor (--executor process), 3 worker(s)", "\(sized)")
        let eager = try await run(nil, ["--executor", "inline", "--eager"])
        #expect(eager.lines.first == "executor: InlineDummyExecutor (--executor inline), 1 worker(s)", "\(eager)")
    }

    @Test("under mpiexec -n 3 it uses 2 MPI worker ranks, and only rank 0 prints")
    func underMPI() async throws {
        let outcome = try await run(3)
        #expect(outcome.lines.first == "executor: MPIPoolExecutor (--executor auto), 2 worker(s)", "\(outcome)")
        #expect(outcome.lines.filter { $0.hasPrefix("executor:") }.count == 1, "\(outcome)")
    }
}
