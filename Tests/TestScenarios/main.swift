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
    // The program's handler: standard error, at the level LOG_LEVEL names.
    try TestFunctions.register(logHandler: TestFunctions.environmentLogHandler)
} catch {
    print("bootstrap failed: \(error)")
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "worker-logging":
    // A pool with the default configuration, whose logger is the program's (LOG_LEVEL), runs a
    // task that logs at every level in a worker: what reaches standard error is what the level
    // lets through, each record with the worker's index, pid and host.
    let pool = try LocalProcessPoolExecutor(workers: 1)
    let pid = try pool.submit(LogAtEveryLevel(), "scenario").result(timeout: .seconds(60))
    pool.shutdown()
    print("worker pid \(pid)")
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
case "crash-ignoring-sigchld":
    // A program that ignores SIGCHLD, so the kernel keeps no exit status to collect: a crash must
    // still fail only its task, promptly, with an error that says so.
    signal(SIGCHLD, SIG_IGN)
    let pool = try LocalProcessPoolExecutor(workers: 1)
    let started = ContinuousClock.now
    do {
        _ = try pool.submit(Crash(.exit3), 1).result(timeout: .seconds(60))
        print("no error")
    } catch {
        print("error after \((ContinuousClock.now - started).components.seconds) s: \(error)")
    }
    print("next: \(try pool.submit(Square(), 7).result(timeout: .seconds(60)))")
    pool.shutdown()
case "exit-pending":
    // Submits 20 tasks that each append a line to PATH, then leaves: returns from the program
    // (`return`), after `shutdown(wait: false)` (`nowait`), or calls `exit(0)` (`exit`). Every line
    // must be written before the process ends.
    let path = String(arguments.dropFirst().first ?? "")
    let how = arguments.dropFirst(2).first ?? "return"
    let pool = try LocalProcessPoolExecutor(workers: 1)
    for index in 0..<20 {
        _ = try pool.submit(AppendLine(), LineToAppend(path: path, line: "line \(index)", delayMilliseconds: 20))
    }
    print("submitted 20")
    fflush(nil)
    if how == "nowait" { pool.shutdown(wait: false, cancelFutures: false) }
    if how == "exit" { exit(0) }
case "queued-cpu":
    // One worker, 16 tasks of 60 ms: 15 wait in the queue. Prints this process's CPU time and the
    // wall time until all are done.
    let pool = try LocalProcessPoolExecutor(workers: 1)
    _ = try pool.submit(Square(), 1).result()
    let clock = ContinuousClock()
    let cpuBefore = processCPUTime()
    let started = clock.now
    let futures = try (0..<16).map { _ in try pool.submit(SleepMicroseconds(), 60_000) }
    for future in futures { _ = try future.result() }
    let wall = clock.now - started
    let cpu = processCPUTime() - cpuBefore
    print("cpu_ms=\(cpu.components.seconds * 1000 + cpu.components.attoseconds / 1_000_000_000_000_000) "
          + "wall_ms=\(wall.components.seconds * 1000 + wall.components.attoseconds / 1_000_000_000_000_000)")
    pool.shutdown()
case "worker-stderr":
    // Standard error goes where standard output goes, so the test reads both: what a worker writes
    // to its standard error must come out of the pool's, unchanged, before the pool reports it.
    dup2(1, 2)
    let pool = try LocalProcessPoolExecutor(workers: 1)
    do {
        _ = try pool.submit(WriteStderrThenExit(), 2).result(timeout: .seconds(60))
    } catch {
        print("error: \(error)")
    }
    pool.shutdown()
    print("done")
case "interrupt-report":
    // Standard error goes where standard output goes. Three tasks done, one running, four more
    // submitted, then it waits for a signal.
    dup2(1, 2)
    try StopSignalScene.stage(on: try LocalProcessPoolExecutor(workers: 1))
    print("not interrupted")
case "progress":
    // 40 tasks of 150 ms on a pool of 2 workers, with progress `.automatic`: through `map` in
    // chunks of 2 (`map`), the same unordered (`unordered`), or `Futures.asCompleted`
    // (`as-completed`). A line of the program's own before and after; the progress goes to
    // standard error when it is a terminal or CLUSTERFUTURES_PROGRESS says so.
    let how = arguments.dropFirst().first ?? "map"
    let pool = try LocalProcessPoolExecutor(workers: 2)
    print("mapping 40 inputs")
    fflush(nil)
    var count = 0
    if how == "as-completed" {
        let futures = try (0..<40).map { _ in try pool.submit(SleepMicroseconds(), 150_000) }
        let completed = Futures.asCompleted(futures, timeout: .seconds(120), progress: .automatic(label: "tasks"))
        while let future = try completed.next() { count += try future.result() == 150_000 ? 1 : 0 }
    } else {
        let results = try pool.map(SleepMicroseconds(), Array(repeating: 150_000, count: 40), timeout: .seconds(120),
                                   chunkSize: 2, unordered: how == "unordered", progress: .automatic(label: "tasks"))
        while let result = try results.next() { count += result == 150_000 ? 1 : 0 }
    }
    pool.shutdown()
    print("\(count) results, all as expected")
default:
    print("usage: cf-test-scenarios pool-then-sleep [WORKERS] | crash-ignoring-sigchld | worker-stderr | exit-pending PATH [return|nowait|exit] | queued-cpu | interrupt-report | progress [map|unordered|as-completed]")
    exit(2)
}
