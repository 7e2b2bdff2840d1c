@testable import ClusterFuturesMPI
import ClusterFuturesTestSupport
import Testing

/// `Executors.Configuration`: which kind wins (the configuration, then `CLUSTERFUTURES_EXECUTOR`, then
/// the automatic rule), and that its settings reach the executor made.
@Suite("Executors.Configuration")
struct ExecutorsConfigurationTests {
    init() throws { try TestFunctions.register() }

    func choose(_ configuration: Executors.Configuration, _ variables: [String: String] = [:],
                cpus: Int = 4) throws -> Executors.Choice {
        try Executors.choose(configuration, environment: { variables[$0] }, usableCPUs: cpus)
    }

    static let hydra = ["PMI_RANK": "0", "PMI_SIZE": "3"]

    @Test("a kind in the configuration beats the environment variable, which beats the automatic choice")
    func precedence() throws {
        // Automatic: MPI under a launcher, else the process pool, else inline.
        #expect(try choose(.init(), Self.hydra).kind == .mpi)
        #expect(try choose(.init(), cpus: 1).kind == .inline)
        // The environment variable beats the automatic choice...
        #expect(try choose(.init(), Self.hydra.merging(["CLUSTERFUTURES_EXECUTOR": "inline"]) { $1 }).kind == .inline)
        // ...and the configuration beats both.
        let configured = try choose(.init(kind: .process), Self.hydra.merging(["CLUSTERFUTURES_EXECUTOR": "inline"]) { $1 })
        #expect(configured.kind == .process && configured.isForced)
        #expect(configured.reason.contains("process was asked for")
                && configured.reason.contains("overrides CLUSTERFUTURES_EXECUTOR=inline"), "\(configured)")
        #expect(try choose(.init(kind: .inline), Self.hydra).kind == .inline)
        #expect(try choose(.init(kind: .mpi), Self.hydra.merging(["CLUSTERFUTURES_EXECUTOR": "process"]) { $1 }).kind == .mpi)
        // Agreeing with the variable, or a variable of auto, is not an override.
        #expect(try !choose(.init(kind: .inline), ["CLUSTERFUTURES_EXECUTOR": "inline"]).reason.contains("overrides"))
        #expect(try !choose(.init(kind: .inline), ["CLUSTERFUTURES_EXECUTOR": "auto"]).reason.contains("overrides"))
        // A configured kind does not look at the variable's value at all.
        #expect(try choose(.init(kind: .process), ["CLUSTERFUTURES_EXECUTOR": "gpu"]).kind == .process)
    }

    @Test("mpi in the configuration without an MPI launcher of more than one process throws")
    func mpiWithoutLauncher() throws {
        let error = #expect(throws: ClusterFuturesError.self) { try choose(.init(kind: .mpi)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("mpi was asked for") == true && error?.message.contains("mpiexec -n N") == true,
                "\(String(describing: error))")
        #expect(throws: ClusterFuturesError.self) { try choose(.init(kind: .mpi), ["PMI_RANK": "0", "PMI_SIZE": "1"]) }
    }

    @Test("workers pick the process pool over inline on one CPU, never over MPI, and must be at least 1")
    func workers() throws {
        let one = try choose(.init(workers: 3), cpus: 1)
        #expect(one.kind == .process && !one.isForced && one.reason.contains("workers: 3"), "\(one)")
        #expect(try choose(.init(workers: 3), Self.hydra).kind == .mpi)
        #expect(try choose(.init(workers: 3), ["CLUSTERFUTURES_EXECUTOR": "inline"]).kind == .inline)
        for bad in [0, -2] {
            let error = #expect(throws: ClusterFuturesError.self) { try choose(.init(workers: bad)) }
            #expect(error?.code == .invalidArgument && error?.message.contains("at least 1") == true)
        }
    }

    @Test("workers is the process pool's worker count")
    func workersIsTheProcessPools() {
        var configuration = Executors.Configuration(workers: 5)
        #expect(configuration.process.workers == 5)
        configuration.process.workers = 2
        #expect(configuration.workers == 2)
        #expect(Executors.Configuration().workers == nil && Executors.Configuration().kind == nil)
    }

    @Test("workers: 3 gives a process pool of 3 workers, which runs tasks")
    func processPoolSize() throws {
        let executor = try Executors.automatic(.init(kind: .process, workers: 3))
        defer { executor.shutdown() }
        let pool = try #require(executor as? LocalProcessPoolExecutor)
        #expect(pool.workerCount == 3)
        #expect(try pool.submit(Square(), 7).result(timeout: .seconds(30)) == 49)
    }

    @Test("automaticWithChoice returns the choice that made the executor: its kind, and the reason with the worker count")
    func automaticWithChoice() throws {
        let (pool, poolChoice) = try Executors.automaticWithChoice(.init(kind: .process, workers: 2))
        defer { pool.shutdown() }
        #expect(pool is LocalProcessPoolExecutor && pool.workerCount == 2)
        #expect(poolChoice.kind == .process && poolChoice.isForced)
        // A CLUSTERFUTURES_EXECUTOR in the test's environment would add "(overrides ...)" between.
        #expect(poolChoice.reason.hasPrefix("process was asked for") && poolChoice.reason.hasSuffix("; 2 worker processes"),
                "\(poolChoice)")
        #expect(try pool.submit(Square(), 6).result(timeout: .seconds(30)) == 36)

        let (inline, inlineChoice) = try Executors.automaticWithChoice(.init(kind: .inline))
        defer { inline.shutdown() }
        #expect(inline is InlineDummyExecutor)
        #expect(inlineChoice.kind == .inline && inlineChoice.isForced && inlineChoice.reason.hasPrefix("inline was asked for"),
                "\(inlineChoice)")
    }

    @Test("the process pool's own settings and the shared initializer reach it; its own initializer wins")
    func processPoolSettings() throws {
        var configuration = Executors.Configuration(kind: .process, workers: 2)
        configuration.initializer = try WorkerInitializer(SetWorkerTag(), "shared")
        configuration.process.maxTasksPerWorker = 1_000
        let shared = try Executors.automatic(configuration)
        defer { shared.shutdown() }
        let tags = try (0..<16).map { try shared.submit(ReadWorkerTag(), $0) }.map { try $0.result(timeout: .seconds(30)) }
        #expect(Set(tags) == ["shared"])

        configuration.process.initializer = try WorkerInitializer(SetWorkerTag(), "own")
        let own = try Executors.automatic(configuration)
        defer { own.shutdown() }
        let ownTags = try (0..<16).map { try own.submit(ReadWorkerTag(), $0) }.map { try $0.result(timeout: .seconds(30)) }
        #expect(Set(ownTags) == ["own"])
    }

    @Test("the inline mode reaches the inline executor")
    func inlineMode() throws {
        var configuration = Executors.Configuration(kind: .inline)
        configuration.inlineMode = .eager
        let eager = try Executors.automatic(configuration)
        #expect((eager as? InlineDummyExecutor)?.mode == .eager)
        eager.shutdown()
        let lazy = try Executors.automatic(.init(kind: .inline))
        #expect((lazy as? InlineDummyExecutor)?.mode == .lazy)
        lazy.shutdown()
    }

    @Test("settings the chosen kind cannot use are named, for the notice")
    func ignoredSettings() throws {
        var configuration = Executors.Configuration(workers: 4)
        configuration.initializer = try WorkerInitializer(SetWorkerTag(), "x")
        let mpi = Executors.ignoredSettings(configuration, by: .mpi, workerCount: 2)
        #expect(mpi == ["workers: 4 does not apply to the MPI pool, which has 2 worker ranks: the launcher decides "
                        + "(`mpiexec -n N` gives N - 1)"])
        let inline = Executors.ignoredSettings(configuration, by: .inline, workerCount: 1)
        #expect(inline.count == 2 && inline[0].contains("workers: 4") && inline[1].contains("initializer"), "\(inline)")
        #expect(Executors.ignoredSettings(configuration, by: .process, workerCount: 4).isEmpty)
        #expect(Executors.ignoredSettings(.init(), by: .mpi, workerCount: 2).isEmpty)
    }
}
