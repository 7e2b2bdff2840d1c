// snippet.hide
import ClusterFutures

/// Stands in for a request to a service.
func probe(_ url: String) async throws -> Int { url.isEmpty ? 404 : 200 }

/// Stands in for a store whose quota a task can exceed, deep inside a function.
enum Store {
    static func save(_ record: String) throws { if record.count > 80 { throw QuotaExceeded(limit: 80) } }
}

// snippet.show
// snippet.parameters
struct Scale: RemoteFunction {
    var factor: Double                                   // travels with every call
    func callAsFunction(_ x: Double) -> Double { x * factor }
}
// snippet.end
// snippet.hide

// snippet.show
// snippet.input
struct Segment: Codable, Sendable {
    var start: Int
    var count: Int
}

struct SumOfSquares: RemoteFunction {
    static var name: String { "sums.squares.v1" }        // instead of "DeclaringFunctions.SumOfSquares"
    func callAsFunction(_ segment: Segment) -> Int {
        (segment.start..<segment.start + segment.count).reduce(0) { $0 + $1 * $1 }
    }
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
// snippet.untyped
struct QuotaExceeded: Error, Codable { var limit: Int }

struct Archive: RemoteFunction {
    func callAsFunction(_ record: String) throws -> Int {
        try Store.save(record)                           // may throw QuotaExceeded
        return record.count
    }
}
// snippet.end
// snippet.hide

// snippet.show
// snippet.async
struct FetchStatus: AsyncRemoteFunction {
    static var concurrentCallsPerWorker: Int { 32 }      // 32 calls at once on each worker
    func callAsFunction(_ url: String) async throws -> Int { try await probe(url) }
}
// snippet.end
// snippet.hide

// snippet.hide
@main
enum DeclaringFunctions {
    static func main() async throws {
        // snippet.show
        // snippet.register
        try ClusterRuntime.bootstrap(
            functions: [Scale.self, SumOfSquares.self, ParseReading.self, Archive.self, FetchStatus.self],
            errors: [QuotaExceeded.self]                 // thrown deeper down, through untyped throws
        )
        // snippet.end
        // snippet.hide
        try await withExecutor(InlineDummyExecutor()) { executor in
            // snippet.show
            // snippet.catching
            do {
                print(try await executor.submit(ParseReading(), "n/a").result())
            } catch let error as ParseReading.BadRecord {
                print("not a number: \(error.line)")     // the function's own error, as itself
            } catch let failure as TaskFailure {
                print("\(failure.errorType) in \(failure.functionName) on \(failure.origin.host)")
            }
            // snippet.end
            // snippet.hide
            let urls = ["https://example.org/a", "https://example.org/b"]
            // snippet.show
            // snippet.mapAsync
            for try await status in try executor.map(FetchStatus(), urls) {   // batches of 32
                print(status)
            }
            // snippet.end
            // snippet.hide
            let total = try await executor.submit(SumOfSquares(), Segment(start: 1, count: 10)).result()
            let archived = try await executor.submit(Archive(), "a record").result()
            print(total, archived, try await executor.submit(Scale(factor: 2), 21).result())
        }
    }
}
