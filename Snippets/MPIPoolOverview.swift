import ClusterFuturesMPI

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

@main
enum Program {
    static func main() throws {
        try ClusterRuntime.bootstrap(functions: [Square.self])   // worker ranks stop here
        try withExecutor(try Executors.automatic()) { executor in
            print(try executor.map(Square(), 1...1_000, chunkSize: 50).collect().reduce(0, +))
        }
    }
}
