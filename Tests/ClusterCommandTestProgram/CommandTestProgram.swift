import ClusterFuturesArguments
import ClusterFuturesTestSupport
import Foundation

/// The program the `ClusterCommand` tests launch, alone and under `mpiexec`: a `@main` command that
/// adopts ``ClusterCommand`` in one line, with an asynchronous subcommand that runs tasks on the
/// executor its options choose (the default) and a synchronous one that says which thread it runs
/// on. Only rank 0 (or the program alone) prints anything.
@main
struct CommandTestProgram: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-command-test-program",
        abstract: "Runs tasks on the executor its options choose.",
        subcommands: [Compute.self, Thread.self],
        defaultSubcommand: Compute.self)

    /// The test functions; with `CF_TEST_DUPLICATE_FUNCTION` set, also a second type that claims
    /// `Square`'s name, so that the bootstrap fails.
    static var functions: [any RemoteFunction.Type] {
        TestFunctions.all + (ProcessInfo.processInfo.environment["CF_TEST_DUPLICATE_FUNCTION"] != nil ? [ClaimsSquaresName.self] : [])
    }

    static let errors: [any RemoteError.Type] = [RegisteredError.self]
}

/// A function registered under another's name.
struct ClaimsSquaresName: RemoteFunction {
    static var name: String { Square.name }
    func callAsFunction(_ x: Int) -> Int { x }
}

/// `compute [--executor K] [--workers N] [--tag T]`: prints `executor: TYPE workers=N`, the sum of
/// the squares of 1...100 computed by the executor, and with `--tag`, the tags the worker
/// initializer set (`tags: T`).
struct Compute: AsyncParsableCommand {
    @OptionGroup var executorOptions: ExecutorOptions

    @Option(help: "Give every worker this tag with a worker initializer, and print the tags tasks see.")
    var tag: String?

    func run() async throws {
        var configuration = Executors.Configuration()
        if let tag { configuration.initializer = try WorkerInitializer(SetWorkerTag(), tag) }
        try await withExecutor(try executorOptions.makeExecutor(configuration)) { executor async throws in
            print("executor: \(type(of: executor)) workers=\(executor.workerCount)")
            var sum = 0
            for try await square in try executor.map(Square(), 1...100, chunkSize: 10) { sum += square }
            print("sum of squares: \(sum)")
            if tag != nil {
                let futures = try (0..<(8 * executor.workerCount)).map { try executor.submit(ReadWorkerTag(), $0) }
                var tags: Set<String> = []
                for future in futures { tags.insert(try await future.value) }
                print("tags: \(tags.sorted().joined(separator: ","))")
            }
        }
    }
}

/// `thread`: a synchronous subcommand that blocks while as many tasks as there are cooperative
/// threads meet at a barrier; prints `cooperative threads free: true` when they all arrive, which
/// they cannot if this command holds one of those threads.
struct Thread: ParsableCommand {
    func run() {
        MainActor.preconditionIsolated("a synchronous subcommand runs on the main actor")
        let count = ProcessInfo.processInfo.activeProcessorCount
        let arrived = DispatchSemaphore(value: 0)
        let barrier = DispatchGroup()
        barrier.enter()
        for _ in 0..<count {
            Task.detached {
                arrived.signal()
                _ = barrier.wait(timeout: .now() + 10)
            }
        }
        var all = true
        for _ in 0..<count where arrived.wait(timeout: .now() + 10) == .timedOut { all = false }
        barrier.leave()
        print("cooperative threads free: \(all)")
    }
}
