import ClusterFuturesMPI

/// The README's function: squares an integer.
struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

/// The README's configured automatic choice, built here so that it compiles.
enum ConfiguredChoice {
    static func executor() throws -> any Executor {
        var configuration = Executors.Configuration(workers: 3)   // the process pool's size, if it is chosen
        configuration.process.maxTasksPerWorker = 10_000
        let executor = try Executors.automatic(configuration)     // under mpiexec -n 4: MPI with 3 worker ranks
        return executor
    }
}
