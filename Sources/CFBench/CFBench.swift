import ArgumentParser

/// `cf-bench`: benchmarks of ClusterFutures, one subcommand per workload.
@main
struct CFBench: ParsableCommand {
    /// Every benchmark subcommand; add new ones (inline, local, mpi, ...) to this list.
    static let benchmarks: [any ParsableCommand.Type] = [
        Codec.self,
    ]

    static let configuration = CommandConfiguration(
        commandName: "cf-bench",
        abstract: "Benchmarks of ClusterFutures; each subcommand prints one line of results.",
        subcommands: benchmarks
    )
}
