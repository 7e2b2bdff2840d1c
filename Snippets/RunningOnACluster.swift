// snippet.hide
import ClusterFuturesMPI

/// Stands in for a long simulation.
struct Simulate: RemoteFunction {
    func callAsFunction(_ parameters: [Double]) -> Double { parameters.reduce(0, +) }
}

@main
enum RunningOnACluster {
    static func main() throws {
        try ClusterRuntime.bootstrap(functions: [Simulate.self])
        let parameters = [0.5, 1.5]
        try withExecutor(try Executors.automatic()) { executor in
            // snippet.show
            // snippet.origin
            let future = try executor.submit(Simulate(), parameters)
            let result = try future.result()
            print(result, "from", future.origin?.host ?? "?", "rank", future.origin?.rank ?? 0)
            // snippet.end
            // snippet.hide
        }
    }
}
