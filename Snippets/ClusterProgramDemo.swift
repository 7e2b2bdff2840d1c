import ClusterFutures

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

@main
struct Demo: ClusterProgram {
    static let functions: [any RemoteFunction.Type] = [Square.self]

    static func run() async throws {
        try await withExecutor(try LocalProcessPoolExecutor()) { executor in
            print(try await executor.map(Square(), 1...1_000, chunkSize: 50).collect().reduce(0, +))
        }
    }
}
