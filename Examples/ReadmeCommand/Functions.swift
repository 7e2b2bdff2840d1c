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

/// Reads a temperature; a line that is not a number is a bad record.
struct ParseReading: RemoteFunction {
    struct BadRecord: Error, Codable { var line: String }
    func callAsFunction(_ line: String) throws(BadRecord) -> Double {
        guard let value = Double(line) else { throw BadRecord(line: line) }
        return value
    }
}

/// The README's `mapResults` snippet: reads every line, skipping the bad ones.
enum SkippingBadLines {
    static func run(on executor: any Executor, lines: [String]) async throws {
        for try await (index, result) in try executor.mapResults(ParseReading(), lines, chunkSize: 64, bufferSize: 8) {
            if case .failure(let error) = result { print("line \(index) skipped: \(error)") }
        }
    }
}
