// The examples in the doc comments of ClusterFutures' symbols, compiled. Each function holds one
// example as it appears there; DocumentationTests checks that every example is in a compiled file.
import ClusterFutures
import Logging

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

struct Simulate: RemoteFunction {
    func callAsFunction(_ seed: Int) -> Double { Double(seed) / 2 }
}

/// Stands in for a page's title.
func title(of url: String) async throws -> String { "title of \(url)" }

/// Stands in for the settings a worker reads at start-up.
struct Settings {
    var run = 0
    init() {}
    init(contentsOf path: String) throws { run = path.count }
}

// RemoteFunction
struct ParseReading: RemoteFunction {
    struct BadRecord: Error, Codable { var line: String }
    func callAsFunction(_ line: String) throws(BadRecord) -> Double {
        guard let value = Double(line) else { throw BadRecord(line: line) }
        return value
    }
}

// WorkerInitializer
enum WorkerState {
    nonisolated(unsafe) static var settings = Settings()
    nonisolated(unsafe) static var logger = Logger(label: "simulation")
}

struct SetUpWorker: RemoteFunction {
    func callAsFunction(_ path: String) throws -> Bool {
        WorkerState.settings = try Settings(contentsOf: path)
        WorkerState.logger[metadataKey: "run"] = "\(WorkerState.settings.run)"
        WorkerState.logger.info("worker ready")      // reaches the pool's logger
        return true
    }
}

@main
enum ClusterFuturesSymbols {
    static func main() async throws {
        try ClusterRuntime.bootstrap(functions: [Square.self, Simulate.self, ParseReading.self, SetUpWorker.self])
        let executor = InlineDummyExecutor()
        try remoteFunction(executor)
        try await asyncRemoteFunction(executor, urls: ["a", "b"])
        try await executorProtocol()
        try await map(executor)
        try await mapResults(executor, lines: ["1.5", "x"])
        try await future(executor)
        try blockingFuture(try executor.submit(Square(), 12))
        try await asCompleted(try (1...3).map { try executor.submit(Square(), $0) })
        try await asCompletedWithProgress(try (1...3).map { try executor.submit(Square(), $0) })
        try await progressDisplay(executor, runs: Array(1...40))
        try await showingProgress(executor, runs: Array(1...40))
        try clusterFuturesError(try executor.submit(Square(), 3))
        try localProcessPool()
        try await workerInitializer().shutdown()
    }

    static func bootstrapWithLogging() throws {
        // ClusterRuntime.bootstrap(functions:errors:logHandler:)
        try ClusterRuntime.bootstrap(functions: [Simulate.self]) { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning       // also the level of every worker's records
            return handler
        }
    }

    static func remoteFunction(_ executor: some Executor) throws {
        let future = try executor.submit(Square(), 7)
        print(try future.result())   // 49
    }

    static func asyncRemoteFunction(_ executor: any Executor, urls: [String]) async throws {
        struct FetchTitle: AsyncRemoteFunction {
            static var concurrentCallsPerWorker: Int { 32 }
            func callAsFunction(_ url: String) async throws -> String { try await title(of: url) }
        }

        for try await title in try executor.map(FetchTitle(), urls) { print(title) }
    }

    static func executorProtocol() async throws {
        try await withExecutor(InlineDummyExecutor()) { executor in
            let nine = try await executor.submit(Square(), 3).result()
            for try await square in try executor.map(Square(), 1...1000, chunkSize: 64) { print(nine + square) }
        }
    }

    static func map(_ executor: some Executor) async throws {
        var total = 0
        let squares = try executor.map(Square(), 1...100_000, chunkSize: 64, bufferSize: 32)
        for try await square in squares { total += square }
        // or, in synchronous code: while let square = try squares.next() { ... }
        print(total)
    }

    static func mapResults(_ executor: some Executor, lines: [String]) async throws {
        var readings: [Double] = []
        for try await (index, result) in try executor.mapResults(ParseReading(), lines, chunkSize: 64, bufferSize: 8) {
            switch result {
            case .success(let reading): readings.append(reading)
            case .failure(let error): print("line \(index) skipped: \(error)")
            }
        }
        print(readings)
    }

    static func future(_ executor: some Executor) async throws {
        let future = try executor.submit(Square(), 12)
        print(try await future.result(timeout: .seconds(5)))   // 144
    }

    static func blockingFuture(_ future: Future<Int>) throws {
        print(try future.result(timeout: .seconds(5)))
    }

    static func asCompleted(_ futures: [Future<Int>]) async throws {
        let completed = Futures.asCompleted(futures, timeout: .seconds(30))
        for try await future in completed { print(try await future.result()) }
        // or, in synchronous code: while let future = try completed.next() { ... }
    }

    static func asCompletedWithProgress(_ futures: [Future<Int>]) async throws {
        for try await future in Futures.asCompleted(futures, progress: .automatic(label: "downloads")) {
            print(try await future.result())
        }
    }

    // ProgressDisplay
    static func progressDisplay(_ executor: some Executor, runs: [Int]) async throws {
        var results: [Double] = []
        for try await result in try executor.map(Simulate(), runs, progress: .automatic(label: "runs")) {
            results.append(result)
        }
        // runs: 12/40 30% [######..............] 4.10/s, 0:03 elapsed, 0:07 left
        // and, once the map is over, on a line of its own:
        // runs: 40/40 100% [####################] 4.12/s, finished in 0:10
        print(results.count)
    }

    // Showing Progress (the article)
    static func showingProgress(_ executor: some Executor, runs: [Int]) async throws {
        var table: [Double] = []
        let results = try executor.map(Simulate(), runs, chunkSize: 4, progress: .automatic(label: "runs"))
        for try await result in results {
            table.append(result)
        }
        print("\(table.count) runs")
    }

    static func clusterFuturesError(_ future: Future<Int>) throws {
        do {
            print(try future.result(timeout: .seconds(1)))
        } catch let error as ClusterFuturesError where error.code == .timedOut {
            // still running; the future is unchanged
        }
    }

    static func localProcessPool() throws {
        let pool = try LocalProcessPoolExecutor()            // usable cores - 1 workers
        let squares = try pool.map(Square(), 0..<1_000_000, chunkSize: 256).collect()
        pool.shutdown()
        print(squares.reduce(0, +))
    }

    static func workerInitializer() throws -> LocalProcessPoolExecutor {
        var configuration = LocalProcessPoolExecutor.Configuration()
        configuration.initializer = try WorkerInitializer(SetUpWorker(), "/etc/simulation.json")
        let pool = try LocalProcessPoolExecutor(configuration)
        return pool
    }
}
