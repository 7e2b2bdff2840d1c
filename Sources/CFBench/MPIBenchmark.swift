import ArgumentParser
import ClusterFuturesMPI

extension CFBench {
    /// `mpiexec -n 2 cf-bench mpi`: the executor workloads on ``MPIPoolExecutor``, for reading beside
    /// `python-mpi4py.futures` and `c-mpi` from `../shared/anchors/run-anchors 1`, then the CPU that
    /// rank 0 and an idle worker rank use while nothing runs and while one long task sleeps, and that
    /// rank 0 uses while tasks queue behind busy workers.
    struct MPI: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mpi",
            abstract: "The executor workloads of py_executors.py on MPIPoolExecutor (run under mpiexec -n 2)."
        )

        @Option(help: "Seconds each idle measurement lasts.")
        var idleSeconds: Double = 2

        /// When set, only the round trip is measured, this many times (see
        /// ``ExecutorWorkloads/roundTrips(_:runs:label:)``).
        @Option(help: "Measure only the round trip, this many times, and print its spread.")
        var roundtripRuns: Int?

        /// When set, only the 1 MiB echo is measured, this many times (see
        /// ``ExecutorWorkloads/echoes(_:runs:label:)``).
        @Option(help: "Measure only the 1 MiB echo, this many times, and print its spread.")
        var echoRuns: Int?

        /// Refuses run counts below 1.
        func validate() throws {
            if let roundtripRuns, roundtripRuns < 1 { throw ValidationError("--roundtrip-runs must be at least 1") }
            if let echoRuns, echoRuns < 1 { throw ValidationError("--echo-runs must be at least 1") }
        }

        func run() throws {
            let pool = try MPIPoolExecutor()
            guard pool.worldSize > 1 else {
                throw ValidationError("run it under MPI: mpiexec -n 2 .build/release/cf-bench mpi")
            }
            try withExecutor(pool) { pool in
                let label = "swift-MPIPoolExecutor(\(pool.workerCount))"
                if let roundtripRuns {
                    print(try ExecutorWorkloads.roundTrips(pool, runs: roundtripRuns, label: label))
                }
                if let echoRuns {
                    print(try ExecutorWorkloads.echoes(pool, runs: echoRuns, label: label))
                }
                if roundtripRuns != nil || echoRuns != nil { return }
                print(try ExecutorWorkloads.run(pool, label: label))
                print(try Idle.measure(pool, seconds: idleSeconds, label: "mpi-idle", parent: "rank0", caller: "rank0",
                                       workers: pool.workerCount))
            }
        }
    }
}
