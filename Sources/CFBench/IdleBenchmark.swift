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
            abstract: "CPU used by an idle pool, and by a parent waiting on a long task (% of one core)."
        )

        @Option(help: "Seconds each measurement lasts.")
        var seconds: Double = 2

        func run() throws {
            let pool = try LocalProcessPoolExecutor(workers: 1)
            defer { pool.shutdown() }
            print(try Self.measure(pool, seconds: seconds, label: "idle", parent: "pool"))
        }

        /// Measures, on `executor` with one worker, the CPU of the caller's process and of the
        /// worker (a process on this host) while nothing is submitted, then while one long task
        /// sleeps; returns the line `<label>: <parent>_idle_parent_cpu_pct=..` and so on.
        static func measure(_ executor: any Executor, seconds: Double, label: String, parent: String) throws -> String {
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

            return String(format: "\(label): \(parent)_idle_parent_cpu_pct=%.2f \(parent)_idle_worker_cpu_pct=%.2f "
                          + "waiting_parent_cpu_pct=%.2f waiting_worker_cpu_pct=%.2f",
                          idleParent, idleWorker, waitingParent, waitingWorker)
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
