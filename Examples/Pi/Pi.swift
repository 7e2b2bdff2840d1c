import ClusterFuturesArguments
import ExampleSupport
import MPI   // Duration.inSeconds

/// `cf-pi`: pi by the alternating (Leibniz) series, in slices handed out to the workers as they
/// become free (each slice is one task), then the same sum with 1, 2, ... N workers for a table of
/// times, speedup and parallel efficiency.
///
///     cf-pi                                   # this machine's worker processes
///     cf-pi --workers 4 --slices 100 --terms 500000
///     cf-pi --no-scaling                      # the value alone, without the table
///     mpiexec -n 5 cf-pi                      # 4 MPI worker ranks
///
/// The table's rows: for a process pool, a pool of each size from 1 to N; for the MPI pool, whose
/// worker ranks are fixed by `mpiexec -n`, the same pool with at most k slices in flight at once,
/// so that k ranks work while the others wait; for the inline executor, one row.
@main
struct Pi: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [PiSlice.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-pi",
        abstract: "Pi by the alternating series, in slices handed out to the workers, with a table of times for 1...N workers.")

    @OptionGroup var executorOptions: ExecutorOptions

    @Option(help: "How many slices the series is cut into (one task each).")
    var slices = PiSeries.defaultSlices

    @Option(help: "Terms of the series in each slice.")
    var terms = PiSeries.defaultTerms

    @Flag(inversion: .prefixedNo, help: "Time the sum again with 1...N-1 workers and print the table.")
    var scaling = true

    func validate() throws {
        if let problem = PiSeries.problem(slices: slices, terms: terms) { throw ValidationError(problem) }
    }

    func run() async throws {
        let (executor, choice) = try executorOptions.makeExecutorWithChoice()
        try await withExecutor(executor) { executor async throws in
            let workers = executor.workerCount
            let kind = Self.describe(choice.kind)
            print("pi by the alternating series: \(slices) slices of \(terms) terms, \(workers) \(kind)")
            let (pi, seconds) = try await compute(on: executor, inFlight: nil)
            PiReport.printResult(pi: pi, slices: slices, terms: terms, seconds: seconds, workers: "\(workers) \(kind)")
            guard scaling else { return }
            var times: [Double] = []
            for k in 1...max(workers, 1) {
                times.append(try await time(workers: k, of: executor, kind: choice.kind))
            }
            let how = switch choice.kind {
            case .mpi: "the MPI pool with at most k slices in flight, so that k of its \(workers) worker ranks work at a time; "
                + "nothing is sent ahead in any row"
            case .process: "a process pool of k workers for each row"
            case .inline: "the caller alone"
            }
            PiReport.printTable(seconds: times, caption: "scaling (\(how); each row the best of \(Self.rounds) runs):")
        }
    }

    /// The seconds the sum takes with `k` workers, the best of ``rounds``: for a process pool, a pool
    /// of its own with fewer workers, or `executor` itself for all of them; for the MPI pool, whose
    /// ranks `mpiexec -n` fixed, at most `k` tasks in flight.
    func time(workers k: Int, of executor: any Executor, kind: Executors.Kind) async throws -> Double {
        if kind == .process, k < executor.workerCount {
            return try await withExecutor(try LocalProcessPoolExecutor(workers: k)) { pool async throws in
                try await best { try await compute(on: pool, inFlight: nil).seconds }
            }
        }
        return try await best { try await compute(on: executor, inFlight: k).seconds }
    }

    /// How many times each row of the table is timed.
    static let rounds = 3

    /// The shortest of ``rounds`` timings: the runs are short, and the first of each pays for
    /// what is cold.
    func best(_ seconds: () async throws -> Double) async throws -> Double {
        var shortest = Double.infinity
        for _ in 0..<Self.rounds { shortest = min(shortest, try await seconds()) }
        return shortest
    }

    /// Pi, and the seconds taken, from every slice summed by `executor`'s workers, with at most
    /// `inFlight` slices submitted and not yet finished (nil: all at once). Each slice is its own
    /// task: a worker that finishes one is handed the next, so faster workers take more.
    func compute(on executor: any Executor, inFlight: Int?) async throws -> (pi: Double, seconds: Double) {
        // Every worker answers one tiny task first, so that starting worker processes is not timed.
        _ = try await executor.map(PiSlice(terms: 1), 0..<executor.workerCount).collect()
        let start = ContinuousClock.now
        var sums = [Double](repeating: 0, count: slices)
        for try await (index, result) in try executor.mapResults(PiSlice(terms: terms), 0..<slices, bufferSize: inFlight, unordered: true) {
            sums[index] = try result.get()
        }
        let seconds = start.duration(to: .now).inSeconds
        return (PiSeries.pi(fromSliceSums: sums), seconds)
    }

    /// `MPI worker rank(s)`, `worker process(es)` or `inline worker`, for the output.
    static func describe(_ kind: Executors.Kind) -> String {
        switch kind {
        case .mpi: "MPI worker rank(s)"
        case .process: "worker process(es)"
        case .inline: "inline worker (the caller)"
        }
    }
}

/// The sum of slice `index` of the series (``PiSeries/sliceSum(index:terms:)``): one task.
struct PiSlice: RemoteFunction {
    /// Terms in each slice.
    var terms: Int

    func callAsFunction(_ index: Int) -> Double {
        PiSeries.sliceSum(index: index, terms: terms)
    }
}
