import ArgumentParser
import ClusterFutures

extension CFBench {
    /// `cf-bench inline [--eager]`: the executor workloads on ``InlineDummyExecutor``, which runs
    /// every task in the caller, so the figures are the library's own overhead (encoding, futures,
    /// bookkeeping) with no process boundary.
    struct Inline: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inline",
            abstract: "The executor workloads of py_executors.py on InlineDummyExecutor, in this process."
        )

        /// Run each task during `submit` (``InlineDummyExecutor/Mode/eager``) instead of when its
        /// result is first needed.
        @Flag(help: "Run each task during submit instead of when its result is first needed.")
        var eager = false

        /// When set, only the round trip is measured, this many times (see
        /// ``ExecutorWorkloads/roundTrips(_:runs:label:)``).
        @Option(help: "Measure only the round trip, this many times, and print its spread.")
        var roundtripRuns: Int?

        /// Refuses run counts below 1.
        func validate() throws {
            if let roundtripRuns, roundtripRuns < 1 { throw ValidationError("--roundtrip-runs must be at least 1") }
        }

        /// Runs the workloads, prints their line, and shuts the executor down.
        func run() throws {
            let executor = InlineDummyExecutor(mode: eager ? .eager : .lazy)
            let label = eager ? "swift-InlineDummyExecutor(eager)" : "swift-InlineDummyExecutor"
            print(try withExecutor(executor) { executor in
                if let roundtripRuns {
                    return try ExecutorWorkloads.roundTrips(executor, runs: roundtripRuns, label: label)
                }
                return try ExecutorWorkloads.run(executor, label: label)
            })
        }
    }
}
