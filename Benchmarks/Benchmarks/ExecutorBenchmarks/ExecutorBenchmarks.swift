import Benchmark
import ClusterFutures
import Synchronization

/// The task of the round-trip workloads.
struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

/// Thrown when a workload gets a wrong result, or finds no pool to run on.
struct WorkloadFailure: Error, CustomStringConvertible {
    var description: String
}

/// The process pool the process-pool benchmarks share: started in their setup, shut down in their
/// teardown. A copy of this program started as a worker never gets here.
let sharedPool = Mutex<LocalProcessPoolExecutor?>(nil)

func startPool() throws {
    var configuration = LocalProcessPoolExecutor.Configuration()
    configuration.workers = 1
    let pool = try LocalProcessPoolExecutor(configuration)
    sharedPool.withLock { $0 = pool }
}

func stopPool() {
    sharedPool.withLock { pool in
        pool?.shutdown()
        pool = nil
    }
}

func pool() throws -> LocalProcessPoolExecutor {
    guard let pool = sharedPool.withLock({ $0 }) else { throw WorkloadFailure(description: "no process pool") }
    return pool
}

/// One call's round trip: submit, then wait for the result.
func roundTrip(_ executor: some Executor, _ x: Int) throws {
    let result = try executor.submit(Square(), x).result()
    guard result == x * x else { throw WorkloadFailure(description: "square of \(x) came back as \(result)") }
}

/// A thousand calls through `map` in chunks of 100, as the anchors' map workload does.
func mapThousand(_ executor: some Executor) throws {
    let squares = try executor.map(Square(), 0..<1_000, chunkSize: 100).collect()
    guard squares.count == 1_000, squares.last == 999 * 999 else {
        throw WorkloadFailure(description: "map returned \(squares.count) results")
    }
}

/// Names have no spaces: the harness names threshold files after them, and reads them back only
/// when they do not change on the way. `Inline` is an eager ``InlineDummyExecutor``; `ProcessPool` a
/// ``LocalProcessPoolExecutor`` of one worker process.
let benchmarks: @Sendable () -> Void = {
    do {
        try ClusterRuntime.bootstrap(functions: [Square.self])
    } catch {
        fatalError("cannot register the benchmark's functions: \(error)")
    }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(2),
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5], absolute: [.p90: 2])]
    )

    let inline = InlineDummyExecutor(mode: .eager)
    Benchmark("InlineRoundTrip") { benchmark in
        for x in benchmark.scaledIterations { try roundTrip(inline, x) }
    }
    Benchmark("InlineMap1000InChunksOf100") { benchmark in
        for _ in benchmark.scaledIterations { try mapThousand(inline) }
    }

    Benchmark("ProcessPoolRoundTrip",
              closure: { benchmark in
                  let pool = try pool()
                  for x in benchmark.scaledIterations { try roundTrip(pool, x) }
              },
              setup: { try startPool() },
              teardown: { stopPool() })
    Benchmark("ProcessPoolMap1000InChunksOf100",
              closure: { benchmark in
                  let pool = try pool()
                  for _ in benchmark.scaledIterations { try mapThousand(pool) }
              },
              setup: { try startPool() },
              teardown: { stopPool() })
}
