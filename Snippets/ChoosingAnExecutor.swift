// snippet.automatic
import ClusterFuturesMPI

try ClusterRuntime.bootstrap(functions: [Square.self])
try withExecutor(try Executors.automatic()) { executor in
    print(try executor.map(Square(), 1...1_000, chunkSize: 50).collect().reduce(0, +))
}
// snippet.end

// snippet.configured
var configuration = Executors.Configuration(workers: 3)
configuration.process.maxTasksPerWorker = 10_000
try withExecutor(try Executors.automatic(configuration)) { executor in
    print(try executor.map(Square(), 1...1_000, chunkSize: 50).collect().reduce(0, +))
}
// snippet.end

// snippet.withChoice
let (executor, choice) = try Executors.automaticWithChoice(configuration)
print("using the \(choice.kind) executor: \(choice.reason)")
// snippet.end
executor.shutdown()

// snippet.hide
struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}
