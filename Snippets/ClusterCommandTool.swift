import ClusterFuturesArguments   // re-exports ClusterFuturesMPI and ArgumentParser

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

@main
struct Tool: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [Square.self]

    @OptionGroup var executorOptions: ExecutorOptions   // --executor auto|mpi|process|inline, --workers N

    func run() async throws {
        try await withExecutor(try executorOptions.makeExecutor()) { executor in
            var sum = 0
            for try await square in try executor.map(Square(), 1...1_000, chunkSize: 50) { sum += square }
            print("sum of squares:", sum)
        }
    }
}
