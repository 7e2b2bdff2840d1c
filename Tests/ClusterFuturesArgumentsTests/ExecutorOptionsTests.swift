import ClusterFuturesArguments
import Testing

/// `--executor` and `--workers`, parsed into `Executors.Configuration`.
@Suite("ExecutorOptions")
struct ExecutorOptionsTests {
    @Test("no options leave the choice to run time")
    func defaults() throws {
        let options = try ExecutorOptions.parse([])
        #expect(options.executor == .auto && options.workers == nil)
        #expect(options.configuration.kind == nil && options.configuration.workers == nil)
    }

    @Test("each flag reaches the configuration", arguments: [
        (["--executor", "process", "--workers", "3"], Executors.Kind?.some(.process), Int?.some(3)),
        (["--workers", "2"], nil, 2),
        (["--executor", "auto", "--workers", "1"], nil, 1),
        (["--executor", "mpi"], .mpi, nil),
        (["--executor", "inline"], .inline, nil),
        (["--executor=process"], .process, nil),
    ])
    func parsed(arguments: [String], kind: Executors.Kind?, workers: Int?) throws {
        let configuration = try ExecutorOptions.parse(arguments).configuration
        #expect(configuration.kind == kind)
        #expect(configuration.workers == workers)
        #expect(configuration.process.workers == workers)
    }

    @Test("bad values are refused with a message that says what is allowed", arguments: [
        (["--workers", "0"], "--workers must be at least 1, not 0"),
        (["--workers=-3"], "--workers must be at least 1, not -3"),
        (["--workers", "many"], "'many' is invalid for '--workers <n>'"),
        (["--executor", "gpu"], "Please provide one of 'auto', 'mpi', 'process' or 'inline'"),
        (["--executor", "mpi", "--workers", "2"], "with --executor mpi the launcher decides (mpiexec -n N gives N - 1 worker ranks)"),
        (["--executor", "inline", "--workers", "2"], "--workers is for the process pool"),
        (["--executor"], "Missing value for '--executor <kind>'"),
    ])
    func refused(arguments: [String], message: String) {
        let error = #expect(throws: (any Error).self) { try ExecutorOptions.parse(arguments) }
        let text = error.map { ExecutorOptions.message(for: $0) } ?? ""
        #expect(text.contains(message), "\(arguments): \(text)")
    }

    @Test("the options override only the kind and worker count of a configuration")
    func applied() throws {
        var base = Executors.Configuration(kind: .inline, workers: 7)
        base.process.maxTasksPerWorker = 5
        base.inlineMode = .eager

        let nothing = try ExecutorOptions.parse([]).applied(to: base)
        #expect(nothing.kind == .inline && nothing.workers == 7)

        let both = try ExecutorOptions.parse(["--executor", "process", "--workers", "3"]).applied(to: base)
        #expect(both.kind == .process && both.workers == 3)
        #expect(both.process.maxTasksPerWorker == 5 && both.inlineMode == .eager)
    }

    @Test("the options make the executor they describe")
    func makeExecutor() throws {
        var base = Executors.Configuration()
        base.inlineMode = .eager
        let executor = try ExecutorOptions.parse(["--executor", "inline"]).makeExecutor(base)
        defer { executor.shutdown() }
        #expect((executor as? InlineDummyExecutor)?.mode == .eager)
    }

    @Test("the options make the executor they describe, with the choice and its reason")
    func makeExecutorWithChoice() throws {
        var base = Executors.Configuration()
        base.inlineMode = .eager
        let (executor, choice) = try ExecutorOptions.parse(["--executor", "inline"]).makeExecutorWithChoice(base)
        defer { executor.shutdown() }
        #expect((executor as? InlineDummyExecutor)?.mode == .eager)
        #expect(choice.kind == .inline && choice.isForced && choice.reason.hasPrefix("inline was asked for"), "\(choice)")
    }

    @Test("--help lists the kinds and their default")
    func help() {
        let help = ExecutorOptions.helpMessage(columns: 1_000)
        #expect(help.contains("--executor <kind>") && help.contains("values: auto, mpi, process, inline; default: auto"), "\(help)")
        #expect(help.contains("--workers <n>"), "\(help)")
    }
}
