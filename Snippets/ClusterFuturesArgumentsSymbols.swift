// The examples in the doc comments of ClusterFuturesArguments' symbols, compiled.
import ClusterFuturesArguments

struct Square: RemoteFunction {
    func callAsFunction(_ x: Int) -> Int { x * x }
}

@main
struct ShowChoice: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [Square.self]

    @OptionGroup var executorOptions: ExecutorOptions

    // ExecutorOptions.makeExecutorWithChoice(_:logger:)
    func run() async throws {
        let (executor, choice) = try executorOptions.makeExecutorWithChoice()
        print("using the \(choice.kind) executor: \(choice.reason)")
        print(try await executor.submit(Square(), 12).result())
        await executor.shutdown()
    }
}
