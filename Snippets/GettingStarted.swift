// snippet.hide
import ClusterFutures
import Logging

/// Stands in for a request to a service.
func probe(_ url: String) async throws -> Int { url.isEmpty ? 404 : 200 }

/// An error thrown deeper down, through untyped `throws`.
struct QuotaExceeded: Error, Codable { var limit: Int }

/// Stands in for what a program does with each result.
func consume(_ value: Double) { print(value) }

// snippet.show
// snippet.declare
struct Scale: RemoteFunction {
    var factor: Double
    func callAsFunction(_ x: Double) -> Double { x * factor }
}
// snippet.end
// snippet.hide

// snippet.show
// snippet.typedThrows
struct ParseReading: RemoteFunction {
    struct BadRecord: Error, Codable { var line: String }
    func callAsFunction(_ line: String) throws(BadRecord) -> Double {
        guard let value = Double(line) else { throw BadRecord(line: line) }
        return value
    }
}
// snippet.end
// snippet.hide

// snippet.show
// snippet.async
struct FetchStatus: AsyncRemoteFunction {
    static var concurrentCallsPerWorker: Int { 32 }
    func callAsFunction(_ url: String) async throws -> Int { try await probe(url) }
}
// snippet.end
// snippet.hide

// snippet.hide
@main
enum GettingStarted {
    static func main() async throws {
        // snippet.show
        // snippet.register
        try ClusterRuntime.bootstrap(functions: [Scale.self, ParseReading.self, FetchStatus.self],
                                     errors: [QuotaExceeded.self])
        // snippet.end
        // snippet.hide
        let inputs = (1...1_000).map(Double.init)
        // snippet.show
        // snippet.submit
        try await withExecutor(InlineDummyExecutor()) { executor in
            let future = try executor.submit(Scale(factor: 2), 21)
            let answer = try await future.result(timeout: .seconds(10))      // 42.0

            let futures = try (0..<100).map { try executor.submit(Scale(factor: 2), Double($0)) }
            let (done, notDone) = try await Futures.wait(futures, timeout: .seconds(5), until: .firstError)
            print(answer, done.count, notDone.count)                         // 42.0 100 0

            for try await doubled in try executor.map(Scale(factor: 2), inputs, chunkSize: 64, bufferSize: 8) {
                consume(doubled)
            }
        }
        // snippet.end
        // snippet.hide
        let lines = ["21.5", "n/a", "19.0"]
        try await withExecutor(InlineDummyExecutor()) { executor in
            var readings: [Double] = []
            // snippet.show
            // snippet.mapResults
            for try await (index, result) in try executor.mapResults(ParseReading(), lines, chunkSize: 64, bufferSize: 8) {
                switch result {
                case .success(let reading): readings.append(reading)
                case .failure(let error): print("line \(index) skipped: \(error)")
                }
            }
            // snippet.end
            // snippet.hide
            print(readings)
        }
    }

    /// The bootstrap of a program that hands its log handler to ClusterFutures.
    static func bootstrapWithLogging() throws {
        // snippet.show
        // snippet.logging
        try ClusterRuntime.bootstrap(functions: [Scale.self]) { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        // snippet.end
        // snippet.hide
    }
}
