// snippet.hide
import ClusterFutures

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

@main
enum HandlingErrors {
    static func main() throws {
        try ClusterRuntime.bootstrap(functions: [Square.self])
        try withExecutor(try LocalProcessPoolExecutor()) { executor in
            let future = try executor.submit(Square(), 12)
            try waitBriefly(for: future)
            try retryingLostWorkers(executor)
        }
    }

    static func waitBriefly(for future: Future<Int>) throws {
        // snippet.show
        // snippet.timedOut
        do {
            print(try future.result(timeout: .seconds(1)))
        } catch let error as ClusterFuturesError where error.code == .timedOut {
            // still running; the future is unchanged
        }
        // snippet.end
        // snippet.hide
    }

    static func retryingLostWorkers(_ executor: some Executor) throws {
        // snippet.show
        // snippet.codes
        for attempt in 1...3 {
            do {
                print(try executor.submit(Square(), 12).result())
                break
            } catch let error as ClusterFuturesError {
                switch error.code {
                case .workerLost where attempt < 3:
                    print("retrying: \(error.message)")   // the pool has replaced the worker
                default:
                    throw error
                }
            }
        }
        // snippet.end
        // snippet.hide
    }
}
