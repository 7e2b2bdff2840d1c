import ClusterFuturesArguments
import Foundation

/// `cf-hostname`: every worker says which host it runs on, and as which rank (under `mpiexec`) or
/// worker (in the process pool): the first thing anyone runs on a new cluster.
///
///     cf-hostname                             # this machine's worker processes
///     mpiexec -n 5 cf-hostname                # 4 MPI worker ranks
///     mpiexec -f machinefile -n 5 cf-hostname # across the machinefile's hosts
@main
struct Hostname: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [Pause.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-hostname",
        abstract: "Every worker reports the host, and the rank or worker index, it runs on.")

    @OptionGroup var executorOptions: ExecutorOptions

    func run() async throws {
        try await withExecutor(try executorOptions.makeExecutor()) { executor async throws in
            print("\(executor.workerCount) worker(s); the program runs on \(ProcessInfo.processInfo.hostName)")
            // Two tasks per worker, each a short pause: an idle worker always takes the next task,
            // so every worker runs at least one, and each task's future says where it ran.
            let futures = try (0..<(2 * executor.workerCount)).map { _ in try executor.submit(Pause(), 200) }
            var places: [String: TaskOrigin] = [:]
            for future in futures {
                _ = try await future.result(timeout: .seconds(60))
                if let origin = future.origin { places[origin.label] = origin }
            }
            for (name, origin) in places.sorted(by: { Self.order($0.value) < Self.order($1.value) }) {
                print("\(name) on \(origin.host), pid \(origin.pid)")
            }
        }
    }


    static func order(_ origin: TaskOrigin) -> Int { origin.rank ?? origin.worker ?? -1 }
}

/// Waits `milliseconds` and returns them: a task long enough that the workers share the tasks.
struct Pause: RemoteFunction {
    func callAsFunction(_ milliseconds: Int) -> Int {
        usleep(UInt32(clamping: milliseconds * 1000))
        return milliseconds
    }
}
