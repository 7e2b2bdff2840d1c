import ClusterFutures
import Foundation

/// The entry point of `cf-bench`: registers the benchmark functions first thing, so that a worker
/// process started by an executor serves tasks without ever parsing arguments, then runs the
/// ``CFBench`` command line.
@main
enum CFBenchMain {
    /// Every function a benchmark submits; registered in every process, caller and workers alike.
    static let functions: [any RemoteFunction.Type] = [
        BenchSquare.self,
        BenchEcho.self,
        BenchPID.self,
        BenchSleep.self,
        BenchPiSlice.self,
        BenchBurn.self,
    ]

    /// Bootstraps the runtime (printing the error to standard error and exiting with status 1 if
    /// that fails), then parses the arguments and runs the chosen benchmark.
    static func main() {
        do {
            try ClusterRuntime.bootstrap(functions: functions)
        } catch {
            FileHandle.standardError.write(Data("cf-bench: bootstrap failed: \(error)\n".utf8))
            exit(1)
        }
        CFBench.main()
    }
}
