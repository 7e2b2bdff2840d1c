// The examples in the doc comments of ClusterFuturesMPI's symbols, compiled.
import ClusterFuturesMPI

struct Simulate: RemoteFunction {
    func callAsFunction(_ seed: Int) -> Double { Double(seed) / 2 }
}

/// Loads a model in every worker; returns its size.
struct LoadModel: RemoteFunction {
    func callAsFunction(_ path: String) -> Int { path.count }
}

@main
enum ClusterFuturesMPISymbols {
    static func main() throws {
        // MPIPoolExecutor
        // mpiexec -n 4 .build/release/my-program
        try ClusterRuntime.bootstrap(functions: [Simulate.self])   // ranks 1...3 serve from here
        let pool = try MPIPoolExecutor()                            // on rank 0: 3 workers
        let results = try pool.map(Simulate(), seeds, chunkSize: 16).collect()
        pool.shutdown()
        print(results.count)
    }

    static let seeds = Array(1...64)

    static func automatic() throws -> [any Executor] {
        let executor = try Executors.automatic()                                  // all defaults
        let pool = try Executors.automatic(.init(workers: 3))                     // 3 processes, unless under mpiexec
        let inline = try Executors.automatic(.init(kind: .inline))                // whatever the environment says
        return [executor, pool, inline]
    }

    static func withChoice() throws -> any Executor {
        let (executor, choice) = try Executors.automaticWithChoice()
        print("using the \(choice.kind) executor: \(choice.reason)")
        // using the process executor: no MPI launcher with more than one process, 2 usable CPUs; 1 worker process
        return executor
    }

    static func configured() throws -> any Executor {
        var configuration = Executors.Configuration(workers: 3)   // if a process pool is chosen
        configuration.process.maxTasksPerWorker = 1_000
        configuration.initializer = try WorkerInitializer(LoadModel(), "weights.bin")
        let executor = try Executors.automatic(configuration)
        return executor
    }
}
