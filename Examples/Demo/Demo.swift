import ClusterFuturesArguments

/// The main demonstration: CPU-heavy batch work through an ``Executor``, the same code whichever
/// executor runs it. By default the executor is chosen at run time: every worker rank under
/// `mpiexec -n N`, every core on its own; `--executor` and `--workers` choose for you.
///
/// ``ClusterCommand`` registers the functions first thing in `main`. A process-pool worker never
/// runs `main`: it becomes a worker before `main` starts. An MPI rank above 0 runs `main`, turns into
/// a worker at that first call, and never parses the arguments or runs the rest of the program.
@main
struct Demo: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [CountPrimes.self, MonteCarloPi.self, ParseReading.self]
    static let errors: [any RemoteError.Type] = [ParseReading.BadRecord.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-demo",
        abstract: "Counts primes, estimates pi and parses records through a ClusterFutures executor.")

    /// `--executor auto|mpi|process|inline` and `--workers N`.
    @OptionGroup var executorOptions: ExecutorOptions

    @Flag(help: "When the inline executor runs the tasks, run each during submit instead of when its result is needed.")
    var eager = false

    @Option(help: "Count primes below this number.")
    var primesBelow = 2_000_000

    @Option(help: "Darts thrown to estimate pi, in millions.")
    var millionDarts = 8

    func run() async throws {
        var configuration = Executors.Configuration()
        configuration.inlineMode = eager ? .eager : .lazy
        let pool = try executorOptions.makeExecutor(configuration)
        print("executor: \(type(of: pool)) (--executor \(executorOptions.executor.rawValue)), \(pool.workerCount) worker(s)")
        try await withExecutor(pool) { pool in
            try await countPrimes(on: pool)
            try await estimatePi(on: pool)
            try await parseRecords(on: pool)
        }
    }

    /// `map` over ranges in chunks, consumed with `for try await`.
    private func countPrimes(on pool: any Executor) async throws {
        let start = ContinuousClock.now
        let step = 50_000
        let ranges = stride(from: 0, to: primesBelow, by: step).map { $0..<min($0 + step, primesBelow) }
        var total = 0
        for try await count in try pool.map(CountPrimes(), ranges, chunkSize: 4) {
            total += count
        }
        print("primes below \(primesBelow): \(total)  [\(ranges.count) ranges, \(ContinuousClock.now - start)]")
    }

    /// `submit` one future per seed, then take them as they complete.
    private func estimatePi(on pool: any Executor) async throws {
        let start = ContinuousClock.now
        let perTask = 250_000
        let tasks = max(1, millionDarts * 1_000_000 / perTask)
        let futures = try (0..<tasks).map { try pool.submit(MonteCarloPi(samples: perTask), UInt64($0) &* 7_919) }
        var inside = 0
        for try await future in Futures.asCompleted(futures, timeout: .seconds(600)) {
            inside += try await future.result()
        }
        let pi = 4 * Double(inside) / Double(tasks * perTask)
        print("pi ≈ \(pi)  [\(tasks) tasks of \(perTask) darts, \(ContinuousClock.now - start)]")
    }

    /// Bad input fails only its own future, and the error says what and where.
    private func parseRecords(on pool: any Executor) async throws {
        let lines = ["oslo,-3.5", "lima,18.25", "nairobi,twenty", "tromsø,-11"]
        let futures = try lines.map { try pool.submit(ParseReading(), $0) }
        for future in futures {
            do {
                let reading = try await future.result()
                print("reading: \(reading.station) \(reading.celsius) °C")
            } catch let error as ParseReading.BadRecord {
                print("skipped \(error) (ran on \(future.origin.map { "\($0)" } ?? "?"))")
            }
        }
    }
}
