import ArgumentParser
@_spi(ExecutorImplementation) import ClusterFutures
import ClusterFuturesMPI
import Foundation
import Synchronization

/// One slice of the alternating (Leibniz) series for pi, `4·Σ(-1)^k/(2k+1)`: the terms
/// `k = slice·terms ..< (slice+1)·terms`. The pi workload of the cluster articles.
struct BenchPiSlice: RemoteFunction {
    /// How many terms a slice sums.
    var terms: Int

    /// Returns the slice's partial sum; nothing for a negative slice or term count.
    func callAsFunction(_ slice: Int) -> Double {
        let count = max(0, terms)
        let (first, overflow) = max(0, slice).multipliedReportingOverflow(by: count)
        guard !overflow else { return .nan }
        var sum = 0.0
        var numerator: Double = first % 2 == 0 ? 4 : -4
        var denominator = 2 * Double(first) + 1
        for _ in 0..<count {
            sum += numerator / denominator
            numerator = -numerator
            denominator += 2
        }
        return sum
    }
}

/// CPU-bound work without memory traffic: `iterations` rounds of xorshift64, whose final state is
/// returned so the work cannot be optimized away (and the callers compare it).
struct BenchBurn: RemoteFunction {
    /// Returns the generator's state after `iterations` rounds (none for a negative count).
    func callAsFunction(_ iterations: Int) -> UInt64 {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<max(0, iterations) {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
        }
        return state
    }
}

extension CFBench {
    /// `cf-bench scaling [--mpi]`: speed-up of CPU-bound work over 1...cores workers against the same
    /// tasks run one after another in this process.
    struct Scaling: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scaling",
            abstract: "Speed-up of CPU-bound tasks (the pi series, a heterogeneous map) over a serial run.",
            discussion: """
                Prints `scaling-process(W): pi_speedup=.. hetero_speedup=.. hetero_vs_ideal=..` for \
                W = 1...--workers-max worker processes, or with --mpi one `scaling-mpi(N)` line for \
                the N worker ranks of `mpiexec -n N+1`. Each figure is the median over --runs runs.
                """
        )

        /// Runs on ``MPIPoolExecutor`` instead of the process pool.
        @Flag(help: "Run on MPIPoolExecutor, over every worker rank (mpiexec -n N+1 ... scaling --mpi).")
        var mpi = false

        /// The largest process pool measured; nil means the usable cores.
        @Option(help: "The most worker processes for the process pool (default: the usable cores).")
        var workersMax: Int?

        /// Tasks of the pi series.
        @Option(help: "Slices of the pi series, one task each.")
        var piSlices = 50

        /// Terms per task of the pi series.
        @Option(help: "Terms of the series in each slice.")
        var piTerms = 1_000_000

        /// Repetitions; the figures are medians.
        @Option(help: "Times to repeat every measurement; the medians are printed.")
        var runs = 3

        /// Milliseconds of the heterogeneous map's short tasks.
        @Option(help: "Milliseconds of the heterogeneous map's short tasks; its long ones take 50 times as long.")
        var heteroBaseMs: Double = 2

        /// Prints each run's seconds to standard error.
        @Flag(help: "Print each run's serial and pool seconds to standard error.")
        var verbose = false

        func validate() throws {
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
            if let workersMax, workersMax < 1 { throw ValidationError("--workers-max must be at least 1") }
            if mpi, workersMax != nil {
                throw ValidationError("--workers-max is for the process pool; the MPI pool uses every worker rank")
            }
            guard piSlices >= 1, piTerms >= 1 else { throw ValidationError("--pi-slices and --pi-terms must be at least 1") }
            let (terms, overflow) = piSlices.multipliedReportingOverflow(by: piTerms)
            // The sum is checked against pi within 1e-6; an alternating series is within its first
            // omitted term, 4/(2N+1), which is below 1e-6 from N = 2,000,000 on.
            guard !overflow, terms <= 1 << 50, terms >= ScalingBenchmark.minimumPiTerms else {
                throw ValidationError("--pi-slices × --pi-terms must be from 2,000,000 (so the sum is within 1e-6 of pi) to 2^50")
            }
            guard heteroBaseMs > 0, heteroBaseMs <= 1000 else {
                throw ValidationError("--hetero-base-ms must be above 0 and at most 1000")
            }
        }

        func run() throws {
            let benchmark = ScalingBenchmark(piSlices: piSlices, piTerms: piTerms, baseMilliseconds: heteroBaseMs,
                                             verbose: verbose)
            if mpi {
                let pool = try MPIPoolExecutor()
                guard pool.worldSize > 1 else {
                    throw ValidationError("run it under MPI: mpiexec -n 3 .build/release/cf-bench scaling --mpi")
                }
                try withExecutor(pool) { pool in
                    try benchmark.warmUp(pool)
                    var samples: [ScalingBenchmark.Sample] = []
                    for _ in 0..<runs {
                        let serial = try benchmark.serial()
                        samples.append(try benchmark.measure(pool, workers: pool.workerCount, against: serial))
                    }
                    print(ScalingBenchmark.line(label: "scaling-mpi(\(pool.workerCount))", samples))
                }
                return
            }
            let counts = Array(1...(workersMax ?? UsableCPUs.count))
            var samples = [[ScalingBenchmark.Sample]](repeating: [], count: counts.count)
            // Each run times the serial baseline, then every pool size against it, so a ratio never
            // pairs a fast stretch of this machine with a slow one from much later.
            for _ in 0..<runs {
                let serial = try benchmark.serial()
                for (index, workers) in counts.enumerated() {
                    let pool = try LocalProcessPoolExecutor(workers: workers)
                    samples[index].append(try withExecutor(pool) { pool in
                        try benchmark.warmUp(pool)
                        return try benchmark.measure(pool, workers: workers, against: serial)
                    })
                }
            }
            for (index, workers) in counts.enumerated() {
                print(ScalingBenchmark.line(label: "scaling-process(\(workers))", samples[index]))
            }
        }
    }
}

/// The two workloads of `cf-bench scaling`, serially in this process and on an executor.
struct ScalingBenchmark {
    /// The fewest terms whose sum is within 1e-6 of pi.
    static let minimumPiTerms = 2_000_000

    /// Tasks in the heterogeneous map.
    static let heteroTasks = 200
    /// Long tasks among them, spread evenly through the input.
    static let longTasks = 4
    /// How many times longer a long task is than a short one.
    static let longFactor = 50

    /// Thrown when a workload's results are wrong.
    struct Mismatch: Error, CustomStringConvertible {
        /// What differed.
        var what: String
        var description: String { "scaling benchmark: \(what)" }
    }

    /// What the serial run measured: the baseline and each heterogeneous task's cost.
    struct Serial {
        var piSeconds: Double
        var heteroSeconds: Double
        /// Seconds each task of the heterogeneous map took, in input order.
        var taskSeconds: [Double]
        /// Each task's result, which the pool's must equal.
        var heteroOutputs: [UInt64]
    }

    /// One run's figures for one pool.
    struct Sample {
        var piSpeedup: Double
        var heteroSpeedup: Double
        var heteroVsIdeal: Double
    }

    /// Where ``timed(_:_:)`` passes its input and result, so that the optimizer can neither drop the
    /// work nor move it out from between the clock reads: a read of a global after an opaque call
    /// (the clock) cannot move above it, nor a store to one below the next, and a stored result stays.
    private static let timedInput = Atomic<Int>(0)
    private static let timedOutput = Atomic<UInt64>(0)

    let pi: BenchPiSlice
    let piSlices: Int
    /// Whether each measurement's seconds go to standard error.
    let verbose: Bool
    /// The heterogeneous map's inputs: xorshift rounds per task.
    let heteroInputs: [Int]

    /// Sizes the heterogeneous tasks from this machine's speed: short ones of about
    /// `baseMilliseconds`, and ``longTasks`` of ``longFactor`` times that, in the middle of each
    /// quarter of the input (positions 25, 75, 125 and 175 of 200).
    init(piSlices: Int, piTerms: Int, baseMilliseconds: Double, verbose: Bool = false) {
        pi = BenchPiSlice(terms: piTerms)
        self.verbose = verbose
        self.piSlices = piSlices
        let base = max(1, Int((Self.roundsPerSecond() * baseMilliseconds / 1000).rounded()))
        var inputs = [Int](repeating: base, count: Self.heteroTasks)
        for long in 0..<Self.longTasks {
            inputs[(2 * long + 1) * Self.heteroTasks / (2 * Self.longTasks)] = base * Self.longFactor
        }
        heteroInputs = inputs
        report(String(format: "calibration: %ld rounds per short task, %ld per long one", base, base * Self.longFactor))
    }

    /// Writes `message` to standard error when ``verbose``.
    private func report(_ message: @autoclosure () -> String) {
        if verbose { FileHandle.standardError.write(Data("scaling: \(message())\n".utf8)) }
    }

    /// xorshift rounds per second here: doubles a burn until it lasts 20 ms, then takes the fastest
    /// of three at that size.
    static func roundsPerSecond() -> Double {
        let burn = BenchBurn()
        func time(_ rounds: Int) -> Double { timed(rounds) { burn($0) }.seconds }
        var rounds = 1 << 14
        // At most 2^40 rounds (minutes), should the clock ever stall.
        while time(rounds) < 0.02, rounds < 1 << 40 { rounds *= 2 }
        let fastest = (0..<3).map { _ in time(rounds) }.min() ?? 1
        return Double(rounds) / max(fastest, 1e-9)
    }

    /// Starts every worker and runs each workload's function once on it, untimed.
    func warmUp(_ executor: any Executor) throws {
        let warm = try executor.map(BenchSquare(), 0..<200).collect()
        guard warm.count == 200 else { throw Mismatch(what: "the warm-up map returned \(warm.count) of 200") }
        let base = heteroInputs.min() ?? 1
        let burns = try executor.map(BenchBurn(), [Int](repeating: base, count: 8), chunkSize: 1).collect()
        let slices = try executor.map(pi, 0..<min(piSlices, 8), chunkSize: 1).collect()
        guard burns.count == 8, slices.count == min(piSlices, 8) else { throw Mismatch(what: "a warm-up map lost results") }
    }

    /// `slice(index)`, as a call that is not inlined: a pool's worker runs the function as compiled
    /// on its own, and the serial run must run the same machine code, else the speed-up also
    /// measures the optimizer (inlined into the serial loop, the pi series ran 4% faster here).
    @inline(never)
    static func call(_ slice: BenchPiSlice, _ index: Int) -> Double {
        slice(index)
    }

    /// `burn(rounds)`, not inlined, for the same reason.
    @inline(never)
    static func call(_ burn: BenchBurn, _ rounds: Int) -> UInt64 {
        burn(rounds)
    }

    /// Runs both workloads in this process, one task after another.
    func serial() throws -> Serial {
        let pi = self.pi
        let (sumBits, piSeconds) = Self.timed(piSlices) { slices in
            var sum = 0.0
            for slice in 0..<slices { sum += Self.call(pi, slice) }
            return sum.bitPattern
        }
        try checkPi(Double(bitPattern: sumBits), where: "serially")

        var taskSeconds: [Double] = []
        var outputs: [UInt64] = []
        taskSeconds.reserveCapacity(heteroInputs.count)
        outputs.reserveCapacity(heteroInputs.count)
        let burn = BenchBurn()
        let clock = ContinuousClock()
        let heteroStart = clock.now
        for rounds in heteroInputs {
            let (output, seconds) = Self.timed(rounds) { Self.call(burn, $0) }
            outputs.append(output)
            taskSeconds.append(seconds)
        }
        let heteroSeconds = Self.seconds(clock.now - heteroStart)
        report(String(format: "serial: pi %.4f s, hetero %.4f s (tasks %.4f-%.4f s)", piSeconds, heteroSeconds,
                      taskSeconds.min() ?? 0, taskSeconds.max() ?? 0))
        return Serial(piSeconds: piSeconds, heteroSeconds: heteroSeconds, taskSeconds: taskSeconds, heteroOutputs: outputs)
    }

    /// Gives every worker short tasks (a quarter of a short heterogeneous one), untimed, so
    /// the timed map that follows finds the pool awake: while the serial run goes on, an idle pool
    /// backs off (the MPI pool's ranks sleep up to 20 ms at a time), and the first map after that
    /// pays tens of milliseconds to wake it, which is latency, not scaling. The tasks last about
    /// 0.5 ms: the process pool sends more tasks ahead to a worker whose tasks finish under 200 µs,
    /// and a wide window would hold long tasks back behind short ones at the start of the timed map.
    func wake(_ executor: any Executor, workers: Int) throws {
        let rounds = max(1, (heteroInputs.min() ?? 1) / 4)
        let count = 4 * max(1, workers)
        let woken = try executor.map(BenchBurn(), [Int](repeating: rounds, count: count), chunkSize: 1).collect()
        guard woken.count == count else { throw Mismatch(what: "the wake-up map returned \(woken.count) of \(count)") }
    }

    /// Runs both workloads on `executor` with `map` in chunks of 1 and compares them with `serial`.
    /// The ideal makespan of the heterogeneous map is the larger of its serial work shared by
    /// `workers` and its longest task. Each timed map follows ``wake(_:workers:)``.
    func measure(_ executor: any Executor, workers: Int, against serial: Serial) throws -> Sample {
        let clock = ContinuousClock()
        try wake(executor, workers: workers)
        let piStart = clock.now
        let partials = try executor.map(pi, 0..<piSlices, chunkSize: 1).collect()
        let piSeconds = Self.seconds(clock.now - piStart)
        guard partials.count == piSlices else { throw Mismatch(what: "the pi map returned \(partials.count) of \(piSlices)") }
        try checkPi(partials.reduce(0, +), where: "on the pool")

        try wake(executor, workers: workers)
        let heteroStart = clock.now
        let outputs = try executor.map(BenchBurn(), heteroInputs, chunkSize: 1).collect()
        let makespan = Self.seconds(clock.now - heteroStart)
        guard outputs == serial.heteroOutputs else { throw Mismatch(what: "the heterogeneous map's results differ from the serial run's") }

        let work = serial.taskSeconds.reduce(0, +)
        let ideal = max(work / Double(workers), serial.taskSeconds.max() ?? 0)
        report(String(format: "%ld workers: pi %.4f s, hetero %.4f s (ideal %.4f s)", workers, piSeconds, makespan, ideal))
        return Sample(piSpeedup: serial.piSeconds / piSeconds,
                      heteroSpeedup: serial.heteroSeconds / makespan,
                      heteroVsIdeal: makespan / ideal)
    }

    /// Throws unless `sum` is within 1e-6 of pi.
    private func checkPi(_ sum: Double, where place: String) throws {
        guard abs(sum - Double.pi) <= 1e-6 else { throw Mismatch(what: "the pi series summed \(place) to \(sum)") }
    }

    /// `<label>: pi_speedup=.. hetero_speedup=.. hetero_vs_ideal=..`, each the median of `samples`.
    static func line(label: String, _ samples: [Sample]) -> String {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return .nan }
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
        return String(format: "\(label): pi_speedup=%.2f hetero_speedup=%.2f hetero_vs_ideal=%.2f",
                      median(samples.map(\.piSpeedup)), median(samples.map(\.heteroSpeedup)),
                      median(samples.map(\.heteroVsIdeal)))
    }

    /// `body(input)` and the seconds it took on a monotonic clock. The input is read back from a
    /// global after the first clock read and the result stored to one before the second, so the
    /// work happens between them (see ``timedInput``).
    static func timed(_ input: Int, _ body: (Int) -> UInt64) -> (output: UInt64, seconds: Double) {
        let clock = ContinuousClock()
        timedInput.store(input, ordering: .relaxed)
        let start = clock.now
        let output = body(timedInput.load(ordering: .relaxed))
        timedOutput.store(output, ordering: .relaxed)
        let end = clock.now
        return (output, seconds(end - start))
    }

    /// A duration in seconds.
    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
