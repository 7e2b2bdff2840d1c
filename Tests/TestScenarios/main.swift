import ClusterFutures
import ClusterFuturesTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// A program the process-pool tests run as a pool's parent, to kill it or interrupt it, and as a
// deliberately different build to offer as a worker.
do {
    try TestFunctions.register()
} catch {
    print("bootstrap failed: \(error)")
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "pool-then-sleep":
    // Starts a pool, prints its worker pids on one line, then sleeps until killed.
    let workers = Int(arguments.dropFirst().first ?? "2") ?? 2
    let pool = try LocalProcessPoolExecutor(workers: workers)
    var pids = Set<Int32>()
    while pids.count < workers {
        let futures = try (0..<workers * 2).map { _ in try pool.submit(WorkerPID(), 50) }
        for future in futures { pids.insert(try future.result()) }
    }
    print(pids.sorted().map(String.init).joined(separator: " "))
    fflush(nil)
    sleep(120)
    print("not killed")
default:
    print("usage: cf-test-scenarios pool-then-sleep [WORKERS]")
    exit(2)
}
