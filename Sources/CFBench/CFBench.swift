import ArgumentParser

/// `cf-bench`: benchmarks of ClusterFutures, one subcommand per workload.
///
/// Not `@main`: ``CFBenchMain`` registers the functions before any arguments are parsed, so that a
/// worker process started by an executor never parses them.
struct CFBench: ParsableCommand {
    /// Every benchmark subcommand; add new ones (inline, local, mpi, ...) to this list.
    static let benchmarks: [any ParsableCommand.Type] = [
        Codec.self,
        Inline.self,
        Local.self,
        Idle.self,
        MPI.self,
        Scaling.self,
    ]

    static let configuration = CommandConfiguration(
        commandName: "cf-bench",
        abstract: "Benchmarks of ClusterFutures; each subcommand prints one line of results.",
        subcommands: benchmarks
    )
}
