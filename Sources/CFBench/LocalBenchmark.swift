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

        /// Overrides ``LocalProcessPoolExecutor/Configuration/spin``, in microseconds.
        @Option(name: .customLong("spin-us"), help: "How long the pool and workers spin before sleeping, in microseconds.")
        var spinMicroseconds: Int?

        /// Overrides ``LocalProcessPoolExecutor/Configuration/tasksInFlightPerWorker``.
        @Option(help: "Tasks sent ahead to each worker.")
        var depth: Int?

        /// Runs the workloads, prints their line, and shuts the pool down.
        func run() throws {
            var configuration = LocalProcessPoolExecutor.Configuration()
            configuration.workers = workers
            if let spinMicroseconds { configuration.spin = .microseconds(spinMicroseconds) }
            if let depth { configuration.tasksInFlightPerWorker = depth }
            let pool = try LocalProcessPoolExecutor(configuration)
            print(try withExecutor(pool) { try ExecutorWorkloads.run($0, label: "swift-LocalProcessPoolExecutor(\(workers))") })
        }
    }
}
