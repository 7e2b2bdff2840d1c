import ClusterFuturesArguments

extension CFBench {
    /// `cf-bench workloads [--executor K] [--workers N]`: the executor workloads on the executor
    /// that `Executors.automatic(_:logger:)` chooses, with the same line and label as the
    /// subcommand of that executor (`inline`, `local N`, `mpi`), so one command measures whatever
    /// runs the program: `mpiexec -n 3 cf-bench workloads` the MPI pool, `cf-bench workloads
    /// --workers 2` a pool of 2 processes.
    struct Workloads: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "workloads",
            abstract: "The executor workloads of py_executors.py on the executor chosen at run time (--executor, --workers)."
        )

        /// `--executor auto|mpi|process|inline` and `--workers N`.
        @OptionGroup var executorOptions: ExecutorOptions

        /// Runs the workloads, prints their line, and shuts the executor down.
        func run() throws {
            let executor = try executorOptions.makeExecutor()
            let label = switch executor {
            case is InlineDummyExecutor: "swift-InlineDummyExecutor"
            default: "swift-\(type(of: executor))(\(executor.workerCount))"
            }
            print(try withExecutor(executor) { try ExecutorWorkloads.run($0, label: label) })
        }
    }
}
