import ClusterFuturesTestSupport
import Testing

/// Launches `cluster-command-test-program`, a `@main` `ClusterCommand` with `ExecutorOptions`, alone
/// and under a real `mpiexec -n 3`, and checks the executor it chose, its results, and that worker
/// ranks never parse the command line.
///
/// Serialized: the machine may have only two cores, and MPI ranks poll while they wait.
@Suite("ClusterCommand", .serialized)
struct ClusterCommandTests {
    static let program = "cluster-command-test-program"

    /// The program's run on `processes` ranks (nil: alone), with `environment` added.
    func run(_ processes: Int?, _ arguments: [String], environment: [String: String] = [:]) async throws -> MPIRunner.Outcome {
        let outcome = try await MPIRunner.run(Self.program, processes: processes, arguments, environment: environment, timeout: 60)
        #expect(!outcome.timedOut, "timed out:\n\(outcome)")
        return outcome
    }

    @Test("alone, --executor process --workers 3 gives a pool of 3 processes, with the worker initializer")
    func processPool() async throws {
        let outcome = try await run(nil, ["--executor", "process", "--workers", "3", "--tag", "blue"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines == ["executor: LocalProcessPoolExecutor workers=3", "sum of squares: 338350", "tags: blue"],
                "\(outcome)")
    }

    @Test("--executor beats CLUSTERFUTURES_EXECUTOR, which beats the automatic choice")
    func precedence() async throws {
        let environment = ["CLUSTERFUTURES_EXECUTOR": "inline"]
        let fromVariable = try await run(nil, [], environment: environment)
        #expect(fromVariable.status == 0 && fromVariable.lines.first == "executor: InlineDummyExecutor workers=1", "\(fromVariable)")
        let fromFlag = try await run(nil, ["--executor", "process", "--workers", "2"], environment: environment)
        #expect(fromFlag.status == 0 && fromFlag.lines.first == "executor: LocalProcessPoolExecutor workers=2", "\(fromFlag)")
        #expect(fromFlag.errors.contains("overrides CLUSTERFUTURES_EXECUTOR=inline"), "\(fromFlag)")
    }

    @Test("under mpiexec -n 3 it chooses the MPI pool; --workers is ignored there with a notice, the initializer applies")
    func underMPI() async throws {
        let outcome = try await run(3, ["--workers", "5", "--tag", "violet"])
        #expect(outcome.status == 0, "\(outcome)")
        // One rank printed: the others became workers in the bootstrap.
        #expect(outcome.lines == ["executor: MPIPoolExecutor workers=2", "sum of squares: 338350", "tags: violet"],
                "\(outcome)")
        #expect(outcome.errors.contains("using the mpi executor: launched by Hydra")
                && outcome.errors.contains("workers: 5 does not apply to the MPI pool, which has 2 worker ranks"), "\(outcome)")
    }

    @Test("under mpiexec, worker ranks never parse the arguments: help and errors appear once")
    func workersDoNotParse() async throws {
        let help = try await run(3, ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.output.components(separatedBy: "OVERVIEW:").count == 2, "help printed other than once:\n\(help)")
        #expect(help.output.contains("compute (default)"), "\(help)")
        let subcommandHelp = try await run(3, ["compute", "--help"])
        #expect(subcommandHelp.status == 0 && subcommandHelp.output.components(separatedBy: "USAGE:").count == 2, "\(subcommandHelp)")
        #expect(subcommandHelp.output.contains("--executor <kind>") && subcommandHelp.output.contains("--workers <n>"),
                "\(subcommandHelp)")

        let bad = try await run(3, ["--workers", "0"])
        #expect(bad.status == 64, "\(bad)")
        #expect(bad.errors.components(separatedBy: "--workers must be at least 1, not 0").count == 2,
                "the error printed other than once:\n\(bad)")
        #expect(bad.output.isEmpty, "\(bad)")
    }

    @Test("--executor mpi without mpiexec fails with a message that says how to launch")
    func mpiWithoutLauncher() async throws {
        let outcome = try await run(nil, ["--executor", "mpi"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.errors.contains("Error: ") && outcome.errors.contains("mpiexec -n N program"), "\(outcome)")
        #expect(!outcome.errors.contains("Fatal error"), "\(outcome)")
    }

    @Test("a bootstrap that fails is reported as an error of the command, not a crash")
    func bootstrapFailure() async throws {
        let outcome = try await run(nil, [], environment: ["CF_TEST_DUPLICATE_FUNCTION": "1"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.errors.contains("Error: ClusterFutures could not start:") && outcome.errors.contains("claimed by both"),
                "\(outcome)")
        #expect(!outcome.errors.contains("Fatal error") && outcome.output.isEmpty, "\(outcome)")
    }

    @Test("a synchronous subcommand runs on the main actor and holds none of Swift's cooperative threads")
    func synchronousSubcommand() async throws {
        let outcome = try await run(nil, ["thread"])
        #expect(outcome.status == 0 && outcome.lines == ["cooperative threads free: true"], "\(outcome)")
    }
}
