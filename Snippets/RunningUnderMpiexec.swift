// snippet.program
import ClusterFuturesMPI

/// How many steps the Collatz sequence from `start` takes to reach 1.
struct CollatzSteps: RemoteFunction {
    func callAsFunction(_ start: Int) -> Int {
        var (n, steps) = (start, 0)
        while n > 1 {
            n = n.isMultiple(of: 2) ? n / 2 : 3 * n + 1
            steps += 1
        }
        return steps
    }
}

@main
enum MyProgram {
    static func main() throws {
        // Ranks 1...N-1 become workers here and never return.
        try ClusterRuntime.bootstrap(functions: [CollatzSteps.self, LoadTable.self])

        // Only rank 0 gets this far.
        try withExecutor(try Executors.automatic()) { executor in
            // Each call is short: send 10,000 inputs per message.
            let steps = try executor.map(CollatzSteps(), 1...1_000_000, chunkSize: 10_000).collect()
            if let longest = steps.indices.max(by: { steps[$0] < steps[$1] }) {
                print("\(longest + 1) takes the most steps: \(steps[longest])")
            }
        }
    }
}
// snippet.end
// snippet.hide

extension MyProgram {
    static func initializedPool() throws -> MPIPoolExecutor {
        // snippet.show
        // snippet.initializer
        // LoadTable: a registered function that loads the file at a path into a global.
        var configuration = MPIPoolExecutor.Configuration()
        configuration.initializer = try WorkerInitializer(LoadTable(), "/shared/table.bin")
        let pool = try MPIPoolExecutor(configuration)
        // snippet.end
        // snippet.hide
        return pool
    }

    static func bootstrapWithLogging() throws {
        // snippet.show
        // snippet.logging
        try ClusterRuntime.bootstrap(functions: [CollatzSteps.self]) { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        // snippet.end
        // snippet.hide
    }

    static func configuredChoice() throws -> any Executor {
        // snippet.show
        // snippet.configured
        var configuration = Executors.Configuration(workers: 3)    // on one machine: 3 worker processes
        configuration.initializer = try WorkerInitializer(LoadTable(), "table.bin")   // either pool
        let executor = try Executors.automatic(configuration)      // under mpiexec -n 4: 3 worker ranks
        // snippet.end
        // snippet.hide
        return executor
    }
}

/// Loads a table into this worker's memory; returns how many bytes it read.
struct LoadTable: RemoteFunction {
    func callAsFunction(_ path: String) throws -> Int { path.utf8.count }
}
// snippet.hide
import Logging
