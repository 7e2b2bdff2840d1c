import ClusterFuturesMPI
import ClusterFuturesTestSupport
import Foundation
import Testing

/// Launches `mpi-pool-test-programs` under a real `mpiexec -n 1/2/4` (and without it) and checks
/// what rank 0 reports and how the job ends.
///
/// Serialized: the machine may have only two cores, and MPI ranks poll while they wait.
@Suite("MPIPoolExecutor under mpiexec", .serialized)
struct MPIPoolExecutorTests {
    static let program = "mpi-pool-test-programs"

    /// Runs `scenarios` on `processes` ranks (nil: without mpiexec) and expects exit status 0 and
    /// one `ok` line per scenario from rank 0, and nothing else on standard output (worker ranks
    /// never run the program's code). Returns the `ok` lines' details by scenario.
    @discardableResult
    func expectSuccess(_ processes: Int?, _ scenarios: String..., environment: [String: String] = [:],
                       timeout: Double = 60, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: String] {
        let outcome = try await MPIRunner.run(Self.program, processes: processes, scenarios, environment: environment, timeout: timeout)
        #expect(!outcome.timedOut, "timed out:\n\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.status == 0, "failed:\n\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.lines.count == scenarios.count, "expected one line per scenario:\n\(outcome)", sourceLocation: sourceLocation)
        var details: [String: String] = [:]
        for scenario in scenarios {
            let line = outcome.lines.first { $0 == "ok \(scenario)" || $0.hasPrefix("ok \(scenario) ") }
            #expect(line != nil, "no `ok \(scenario)` line:\n\(outcome)", sourceLocation: sourceLocation)
            details[scenario] = line.map { String($0.dropFirst("ok \(scenario)".count)).trimmingPrefix(" ").description }
        }
        return details
    }

    @Test("results from every worker rank, small and large messages, batches", arguments: [2, 4])
    func results(processes: Int) async throws {
        let details = try await expectSuccess(processes, "results")
        let ranks = (1..<processes).map(String.init).joined(separator: ",")
        #expect(details["results"] == "world=\(processes) workers=\(processes - 1) ranks=\(ranks)")
    }

    @Test("worker ranks are bound one per CPU when the host has a CPU for each, and left alone otherwise or when told",
          arguments: [3, 4])
    func workersAreBound(processes: Int) async throws {
        // What this machine offers, as the ranks will see it.
        let usable = AllowedCPUs.numbers(in: AllowedCPUs.ofThisProcess)
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let workers = processes - 1
        let unbound = AllowedCPUs.ofThisProcess
        let bindsHere = usable.count >= workers && usable.count >= online
        let expected = (1...workers).map { rank in
            "\(rank)=\(bindsHere ? String(usable[usable.count - workers + rank - 1]) : unbound)"
        }.joined(separator: " ")
        #expect(try await expectSuccess(processes, "binding")["binding"] == expected)
        let asked = try await expectSuccess(processes, "binding", environment: ["CLUSTERFUTURES_BIND_WORKERS": "none"])
        #expect(asked["binding"] == (1...workers).map { "\($0)=\(unbound)" }.joined(separator: " "))
    }

    @Test("a CLUSTERFUTURES_BIND_WORKERS that is neither auto nor none ends the job non-zero, saying so, without hanging")
    func badBindingSetting() async throws {
        let outcome = try await MPIRunner.run(Self.program, processes: 2, ["results"],
                                        environment: ["CLUSTERFUTURES_BIND_WORKERS": "sometimes"], timeout: 60)
        #expect(!outcome.timedOut, "\(outcome)")
        #expect(outcome.status != 0, "\(outcome)")
        #expect((outcome.output + outcome.errors).contains("CLUSTERFUTURES_BIND_WORKERS must be auto or none, not 'sometimes'"), "\(outcome)")
    }

    @Test("a world of one runs tasks on rank 0: mpiexec -n 1, and no mpiexec at all", arguments: [1, nil] as [Int?])
    func worldOfOne(processes: Int?) async throws {
        let details = try await expectSuccess(processes, "results", "errors", "map", "shutdown", "initializer")
        #expect(details["results"] == "world=1 workers=1 ranks=0")
    }

    @Test("a task's error fails only its future, comes back with its type and where it ran")
    func errors() async throws {
        let details = try await expectSuccess(2, "errors")
        #expect(details["errors"] == "failed=3,5 origins=mpi:1")
    }

    @Test("map with chunks, unordered, a bounded buffer, an error at item k", arguments: [2, 4])
    func map(processes: Int) async throws {
        try await expectSuccess(processes, "map")
    }

    @Test("every way of waiting gets its result: polling, sleeping, isDone only, a callback only", arguments: [1, 2])
    func handoffs(processes: Int) async throws {
        try await expectSuccess(processes, "handoffs")
    }

    @Test("several executors share the workers by turns; shutting one down leaves the others")
    func severalExecutors() async throws {
        try await expectSuccess(4, "several")
    }

    @Test("shutdown drains, refuses later submits, cancels what was never sent")
    func shutdownPaths() async throws {
        try await expectSuccess(2, "shutdown")
    }

    @Test("an initializer runs on every worker; a failing one breaks only its executor")
    func initializer() async throws {
        try await expectSuccess(4, "initializer")
    }

    @Test("worker ranks' log records reach the logger of the executor whose tasks they run, at its level, with rank, pid and host")
    func workerLogRecordsReachRankZero() async throws {
        let details = try await expectSuccess(3, "logging")
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(details["logging"] == "quiet=error,critical chatty=info,notice,warning,error,critical ranks=1,2 hosts=\(host)",
                "\(details)")
    }

    @Test("a program that keeps LoggingSystem to itself: worker ranks log on their own, nothing reaches rank 0, the job ends well")
    func workerRanksWithoutForwarding() async throws {
        let details = try await expectSuccess(3, "logging", environment: ["CF_TEST_NO_LOG_HANDLER": "1"])
        #expect(details["logging"] == "forwarded=0", "\(details)")
    }

    @Test("spawn mode is refused with a message that says to launch with mpiexec -n N")
    func spawnRefused() async throws {
        try await expectSuccess(2, "spawn")
    }

    @Test("the executor contract's scenarios (ContractScenarios) on the MPI pool", arguments: [1, 2, 4])
    func contract(processes: Int) async throws {
        let details = try await expectSuccess(processes, "contract", timeout: 120)
        #expect(details["contract"]?.contains("FAILED") == false)
    }

    @Test("a program that returns from main with work queued: every task runs before the job exits 0",
          arguments: [1, 2], ["wait", "nowait"])
    func exitRunsPendingWork(processes: Int, shutdown: String) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cf-exit-pending-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await expectSuccess(processes, "exit-pending", environment: ["CF_TEST_OUTPUT": path, "CF_TEST_SHUTDOWN": shutdown])
        let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 20, "lines written by the tasks: \(lines.count) of 20")
        #expect(Set(lines).count == 20, "each task ran once")
    }

    @Test("Ctrl-C to mpiexec: rank 0 says in one line what became of the tasks, and the job ends")
    func aStopSignalIsReported() async throws {
        let outcome = try await MPIRunner.run(Self.program, processes: 2, ["interrupt-report"], timeout: 60,
                                        interrupt: (SIGINT, afterOutput: "ready 4"))
        #expect(!outcome.timedOut, "the job did not end after SIGINT:\n\(outcome)")
        // (mpiexec's own status after it passed Ctrl-C on is Hydra's: 2 or 0 were both seen here.)
        #expect(!outcome.lines.contains { $0.contains("not interrupted") }, "the program went on:\n\(outcome)")
        // Hydra passes SIGINT on to the ranks; Open MPI's mpiexec ends the job with SIGTERM to each.
        let received = MPIRunner.isOpenMPI ? "SIGTERM" : "SIGINT"
        let report = outcome.errors.split(separator: "\n").filter { $0.contains("\(received): stopping the MPI pool's 1 worker rank;") }
        #expect(report.count == 1, "one line from rank 0:\n\(outcome)")
        #expect(StopSignalScene.matchesTheScene(StopSignalScene.counts(in: report.first ?? "")),
                "3 tasks done; the long task (and perhaps one sent ahead) running, the rest never started:\n\(outcome)")
    }

    @Test("a program that returns while a task runs: the job still finalizes and exits 0")
    func exitWhileRunning() async throws {
        try await expectSuccess(4, "exit-running", "exit-running")
    }

    @Test("a program that finalizes MPI itself: the pool stops first, later submits are refused, the job exits 0",
          arguments: [1, 2, 4])
    func programFinalizesMPI(processes: Int) async throws {
        let details = try await expectSuccess(processes, "finalize")
        #expect(details["finalize"] == "all-done=true cancelled=0", "queued tasks run before MPI is finalized")
    }

    @Test("MPI.finalize() or shutdown(wait: true) in a done-callback, on the pool's thread or a thread waiting for a result, returns; the work finishes, the job exits 0",
          arguments: [1, 2, 4], ["finalize-in-pool-callback", "finalize-in-waiting-callback",
                                 "shutdown-in-pool-callback", "shutdown-in-waiting-callback"])
    func stoppingInADoneCallback(processes: Int, scenario: String) async throws {
        let details = try await expectSuccess(processes, scenario)
        #expect(details[scenario]?.hasPrefix("all-done=true") == true, "\(scenario): \(details)")
    }

    @Test("MPI.finalize() in a done-callback of a future failed by a failing initializer returns, and the job exits 0",
          arguments: [1, 2, 4])
    func finalizingWhenAnInitializerFails(processes: Int) async throws {
        let details = try await expectSuccess(processes, "finalize-in-broken-callback")
        #expect(details["finalize-in-broken-callback"] == "all-done=true", "\(details)")
    }

    @Test("a process-pool worker of a program that links MPICH dies from a crash at once, reported in one line, without UCX's backtrace")
    func processPoolCrashInAProgramThatLinksMPICH() async throws {
        let outcome = try await MPIRunner.run(Self.program, processes: nil, ["pool-crash"], timeout: 60)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome)")
        #expect(outcome.lines.contains("ok pool-crash workerLost=SIGSEGV"), "\(outcome)")
        #expect((outcome.output + outcome.errors).contains("died from signal 11 (SIGSEGV)"), "\(outcome)")
        // UCX, under MPICH, catches crash signals in every process that loads it, and prints a
        // backtrace from its handler, which is not async-signal-safe.
        #expect(!(outcome.output + outcome.errors).contains("Caught signal"), "\(outcome)")
    }

    @Test("an uncaught error on rank 0 ends the whole job with a non-zero status, without hanging, with Swift's message and not UCX's backtrace")
    func uncaughtErrorOnRankZero() async throws {
        let outcome = try await MPIRunner.run(Self.program, processes: 4, ["uncaught"], timeout: 60)
        #expect(!outcome.timedOut, "hung:\n\(outcome)")
        #expect(outcome.status != 0, "exited 0:\n\(outcome)")
        #expect(outcome.lines.contains("throwing"), "\(outcome)")
        #expect(outcome.errors.contains("UncaughtOnRankZero"), "the error is not reported:\n\(outcome)")
        // Swift's own message, not UCX's crash handler and its raw backtrace.
        #expect(outcome.errors.contains("Fatal error") && !outcome.errors.contains("Caught signal")
                && !outcome.errors.contains("==== backtrace"), "\(outcome)")
    }

    @Test("outside mpiexec, a program that links MPICH reports an uncaught error with Swift's message, not UCX's backtrace")
    func uncaughtErrorWithoutMPI() async throws {
        let outcome = try await MPIRunner.run(Self.program, processes: nil, ["uncaught-without-mpi"], timeout: 60)
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
        #expect(outcome.lines.contains("throwing"), "\(outcome)")
        #expect(outcome.errors.contains("Fatal error") && outcome.errors.contains("UncaughtOnRankZero")
                && !outcome.errors.contains("Caught signal") && !outcome.errors.contains("==== backtrace"), "\(outcome)")
    }

    @Test("a task that kills its worker rank ends the job non-zero, without hanging, naming the rank and function")
    func crashingWorker() async throws {
        let outcome = try await MPIRunner.run(Self.program, processes: 2, ["crash"], timeout: 60)
        #expect(!outcome.timedOut, "hung:\n\(outcome)")
        #expect(outcome.status != 0, "exited 0:\n\(outcome)")
        #expect(!outcome.lines.contains { $0.hasPrefix("ok crash") }, "\(outcome)")
        #expect(outcome.errors.contains("MPI worker rank 1") && outcome.errors.contains("died while running")
                && outcome.errors.contains("Crash")
                && (outcome.errors.contains("(SIGILL)") || outcome.errors.contains("(SIGTRAP)")),  // x86, ARM
                "the dying rank does not say what it was running:\n\(outcome)")
    }

    @Test("the same program picks MPI under mpiexec and the process pool without it")
    func automaticChoice() async throws {
        let underMPI = try await expectSuccess(3, "automatic")
        #expect(underMPI["automatic"] == "MPIPoolExecutor workers=2")
        let alone = try await expectSuccess(nil, "automatic")
        #expect(alone["automatic"]?.hasPrefix("LocalProcessPoolExecutor") == true, "\(alone)")
    }

    @Test("CLUSTERFUTURES_EXECUTOR forces a choice, and fails clearly when it cannot be honoured")
    func forcedChoice() async throws {
        let inline = try await expectSuccess(3, "automatic", environment: ["CLUSTERFUTURES_EXECUTOR": "inline"])
        #expect(inline["automatic"] == "InlineDummyExecutor workers=1")
        let outcome = try await MPIRunner.run(Self.program, processes: nil, ["automatic"],
                                        environment: ["CLUSTERFUTURES_EXECUTOR": "mpi"], timeout: 60)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.output.contains("FAIL automatic") && outcome.output.contains("mpiexec -n N"), "\(outcome)")
    }
}

/// The choice itself, without launching anything.
@Suite("Executors.choose")
struct ExecutorChoiceTests {
    func choose(_ variables: [String: String], cpus: Int = 4) throws -> Executors.Choice {
        try Executors.choose(environment: { variables[$0] }, usableCPUs: cpus)
    }

    @Test("launchers with more than one process mean MPI", arguments: [
        ["PMI_RANK": "0", "PMI_SIZE": "4"],
        ["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2", "PMIX_RANK": "0"],
        ["PMIX_RANK": "0"],
        ["SLURM_PROCID": "0", "SLURM_NTASKS": "8"],
    ])
    func launchers(variables: [String: String]) throws {
        let choice = try choose(variables)
        #expect(choice.kind == .mpi)
        #expect(choice.reason.contains("launched by"))
    }

    @Test("a launcher of one process, or none, means the process pool, or inline on one CPU")
    func noWorkersFromMPI() throws {
        #expect(try choose(["PMI_RANK": "0", "PMI_SIZE": "1"]).kind == .process)
        #expect(try choose([:]).kind == .process)
        #expect(try choose([:], cpus: 1).kind == .inline)
    }

    @Test("the environment variable forces a kind; impossible or unknown values throw")
    func forced() throws {
        #expect(try choose(["CLUSTERFUTURES_EXECUTOR": "inline", "PMI_RANK": "0", "PMI_SIZE": "4"]).kind == .inline)
        #expect(try choose(["CLUSTERFUTURES_EXECUTOR": " Process "], cpus: 1).kind == .process)
        #expect(try choose(["CLUSTERFUTURES_EXECUTOR": "auto"]).kind == .process)
        #expect(try choose(["CLUSTERFUTURES_EXECUTOR": "mpi", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"]).kind == .mpi)
        let noLauncher = #expect(throws: ClusterFuturesError.self) { try choose(["CLUSTERFUTURES_EXECUTOR": "mpi"]) }
        #expect(noLauncher?.code == .invalidArgument)
        #expect(noLauncher?.message.contains("mpiexec -n N") == true)
        let unknown = #expect(throws: ClusterFuturesError.self) { try choose(["CLUSTERFUTURES_EXECUTOR": "gpu"]) }
        #expect(unknown?.message.contains("auto, mpi, process, inline") == true)
    }

    @Test("MPILaunch reads each launcher's variables")
    func launchDetection() {
        let hydra = MPILaunch.detect { ["PMI_RANK": "2", "PMI_SIZE": "4"][$0] }
        #expect(hydra == MPILaunch(launcher: "Hydra", rank: 2, size: 4, evidence: ["PMI_RANK=2", "PMI_SIZE=4"]))
        #expect(MPILaunch.detect { _ in nil } == nil)
        #expect(MPILaunch.detect { ["PMIX_RANK": "1"][$0] }?.size == nil)
    }
}
