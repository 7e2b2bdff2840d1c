import ArgumentParser
import ClusterFutures

extension CFBench {
    /// `cf-bench local N`: the executor workloads on ``LocalProcessPoolExecutor`` with N worker
    /// processes, for reading beside `../shared/anchors/run-anchors N`.
    struct Local: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "local",
            abstract: "The executor workloads of py_executors.py on LocalProcessPoolExecutor."
        )

        /// How many worker processes.
        @Argument(help: "How many worker processes.")
        var workers = 1

        /// Runs the workloads, prints their line, and shuts the pool down.
        func run() throws {
            let pool = try LocalProcessPoolExecutor(workers: workers)
            print(try withExecutor(pool) { try ExecutorWorkloads.run($0, label: "swift-LocalProcessPoolExecutor(\(workers))") })
        }
    }
}
