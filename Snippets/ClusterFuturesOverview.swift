import ClusterFutures

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

@main
enum Program {
    static func main() throws {
        try ClusterRuntime.bootstrap(functions: [Square.self])
        try withExecutor(InlineDummyExecutor()) { executor in
            print(try executor.submit(Square(), 7).result())              // 49
            print(try executor.map(Square(), 1...5, chunkSize: 2).collect()) // [1, 4, 9, 16, 25]
        }
    }
}
