// snippet.hide
import ClusterFutures

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

/// Stands in for a long computation.
struct Simulate: RemoteFunction {
    func callAsFunction(_ seed: Int) -> Double { Double(seed) }
}

@main
enum PerformanceTuning {
    static func main() async throws {
        try ClusterRuntime.bootstrap(functions: [Square.self, Simulate.self])
        // snippet.show
        // snippet.pool
        var configuration = LocalProcessPoolExecutor.Configuration()
        configuration.workers = 8                  // default: the usable CPUs minus one
        configuration.tasksInFlightPerWorker = 1   // long tasks: send none ahead
        let pool = try LocalProcessPoolExecutor(configuration)
        // snippet.end
        // snippet.hide
        try await withExecutor(pool) { executor in
            // snippet.show
            // snippet.chunkSize
            // A million calls of a few nanoseconds each: 1,000 inputs to a message.
            let sum = try await executor.map(Square(), 1...1_000_000, chunkSize: 1_000).collect().reduce(0, +)
            // snippet.end
            // snippet.hide
            // snippet.show
            // snippet.bufferSize
            // An endless sequence: at most 8 chunks of 100 in flight, however long it runs.
            for try await square in try executor.map(Square(), 1..., chunkSize: 100, bufferSize: 8) {
                if square > 1_000_000 { break }           // abandoning the map cancels the rest
            }
            // snippet.end
            // snippet.hide
            // snippet.show
            // snippet.unordered
            // Long tasks of uneven length, one per message, each result as soon as it is ready.
            for try await result in try executor.map(Simulate(), 1...64, chunkSize: 1, unordered: true) {
                print(result)
            }
            // snippet.end
            // snippet.hide
            print(sum)
        }
    }
}
