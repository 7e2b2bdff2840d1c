import ClusterFuturesArguments

/// `cf-bench`: benchmarks of ClusterFutures, one subcommand per workload.
///
/// A ``ClusterCommand``: its `main` registers the benchmark functions before any arguments are
/// parsed, so that a worker process started by an executor, or an MPI rank above 0, serves tasks
/// without ever parsing them. The subcommands are synchronous and run on the main thread.
@main
struct CFBench: ClusterCommand {
    /// Every function a benchmark submits; registered in every process, caller and workers alike.
    static let functions: [any RemoteFunction.Type] = [
        BenchSquare.self,
        BenchEcho.self,
        BenchPID.self,
        BenchSleep.self,
        BenchPiSlice.self,
        BenchBurn.self,
    ]

    /// Every benchmark subcommand; add new ones (inline, local, mpi, ...) to this list.
    static let benchmarks: [any ParsableCommand.Type] = [
        Codec.self,
        Inline.self,
        Local.self,
        Idle.self,
        MPI.self,
        Scaling.self,
        Workloads.self,
        OSU.self,
    ]

    static let configuration = CommandConfiguration(
        commandName: "cf-bench",
        abstract: "Benchmarks of ClusterFutures; each subcommand prints one line of results.",
        subcommands: benchmarks
    )
}
