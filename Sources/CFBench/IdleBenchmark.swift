import ArgumentParser
import ClusterFutures
import Foundation

/// Returns the pid of the process it runs in.
struct BenchPID: RemoteFunction {
    func callAsFunction(_ input: Int) -> Int32 { getpid() }
}

/// Sleeps for `milliseconds` without using the CPU, then returns.
struct BenchSleep: RemoteFunction {
    func callAsFunction(_ milliseconds: Int) -> Int {
        usleep(UInt32(milliseconds) * 1000)
        return milliseconds
    }
}

extension CFBench {
    /// `cf-bench idle`: the CPU a pool burns while it waits, as a percentage of one core.
    struct Idle: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "idle",
            abstract: "CPU used by an idle pool, by a parent waiting on a long task, and by a parent whose tasks queue (% of one core)."
        )

        @Option(help: "Seconds each measurement lasts.")
        var seconds: Double = 2

        func run() throws {
            let pool = try LocalProcessPoolExecutor(workers: 1)
            defer { pool.shutdown() }
            print(try Self.measure(pool, seconds: seconds, label: "idle", parent: "pool", caller: "parent",
                                   workers: pool.workerCount))
        }

        /// Measures, on `executor` with one worker, the CPU of the caller's process and of the
        /// worker (a process on this host) while nothing is submitted, then while one long task
        /// sleeps, then the caller's CPU while tasks queue behind its busy workers; returns the line
        /// `<label>: <parent>_idle_parent_cpu_pct=.. ... queued_<caller>_cpu_pct=..`.
        ///
        /// - Parameters:
        ///   - parent: the prefix of the idle figures (`pool`, `rank0`).
        ///   - caller: what the queued figure calls the caller's process (`parent`, `rank0`).
        ///   - workers: how many workers `executor` has, for the queued measurement.
        static func measure(_ executor: any Executor, seconds: Double, label: String, parent: String,
                            caller: String, workers: Int) throws -> String {
            _ = try executor.map(BenchPID(), 0..<200).collect()
            let worker = try executor.submit(BenchPID(), 0).result()

            // An idle pool: nothing submitted.
            let parentBefore = processCPU()
            let workerBefore = cpu(of: worker)
            usleep(UInt32(seconds * 1_000_000))
            let idleParent = (processCPU() - parentBefore) / seconds * 100
            let idleWorker = (cpu(of: worker) - workerBefore) / seconds * 100

            // A parent blocked in result() while its worker sleeps through a long task.
            let waitingBefore = processCPU()
            let sleepingWorkerBefore = cpu(of: worker)
            _ = try executor.submit(BenchSleep(), Int(seconds * 1000)).result()
            let waitingParent = (processCPU() - waitingBefore) / seconds * 100
            let waitingWorker = (cpu(of: worker) - sleepingWorkerBefore) / seconds * 100

            let queuedCaller = try queuedCallerCPU(executor, workers: workers)

            return String(format: "\(label): \(parent)_idle_parent_cpu_pct=%.2f \(parent)_idle_worker_cpu_pct=%.2f "
                          + "waiting_parent_cpu_pct=%.2f waiting_worker_cpu_pct=%.2f queued_\(caller)_cpu_pct=%.2f",
                          idleParent, idleWorker, waitingParent, waitingWorker, queuedCaller)
        }

        /// Tasks per worker submitted at once by ``queuedCallerCPU(_:workers:)``: one runs, the rest
        /// queue.
        static let queuedTasksPerWorker = 16
        /// Milliseconds each of those tasks sleeps.
        static let queuedTaskMilliseconds = 60

        /// The CPU of the caller's process, as a percentage of one core, from submitting
        /// ``queuedTasksPerWorker`` tasks for each of `workers` workers, ``queuedTaskMilliseconds``
        /// each, all at once (so all but one per worker wait in the queue), until the last is done.
        /// `getrusage(RUSAGE_SELF)` counts every thread of this process and none of the workers,
        /// which are other processes; the tasks sleep, so the workers leave the cores to the caller.
        /// This thread blocks in `result()` and adds nothing of its own.
        static func queuedCallerCPU(_ executor: any Executor, workers: Int) throws -> Double {
            let count = queuedTasksPerWorker * max(1, workers)
            let clock = ContinuousClock()
            let cpuBefore = processCPU()
            let start = clock.now
            let futures = try (0..<count).map { _ in try executor.submit(BenchSleep(), queuedTaskMilliseconds) }
            for future in futures {
                guard try future.result() == queuedTaskMilliseconds else {
                    throw ExecutorWorkloads.Mismatch(what: "a queued sleep returned the wrong value")
                }
            }
            let wall = elapsed(clock.now - start)
            return (processCPU() - cpuBefore) / wall * 100
        }

        /// A duration in seconds.
        private static func elapsed(_ duration: Duration) -> Double {
            let parts = duration.components
            return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
        }

        /// CPU seconds this process has used, all threads.
        static func processCPU() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        }

        /// CPU seconds another process has used, from /proc.
        static func cpu(of pid: Int32) -> Double {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return .nan }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state is field 3 of the file; utime and stime are fields 14 and 15.
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }
}
