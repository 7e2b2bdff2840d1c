import ClusterFutures
import Foundation

/// `x * x`: the `square` of `py_executors.py`, the smallest possible task.
struct BenchSquare: RemoteFunction {
    /// Returns `x * x`.
    func callAsFunction(_ x: Int) -> Int { x * x }
}

/// The identity on bytes: the `echo` of `py_executors.py`, which measures moving data both ways.
struct BenchEcho: RemoteFunction {
    /// Returns `bytes` unchanged.
    func callAsFunction(_ bytes: [UInt8]) -> [UInt8] { bytes }
}

/// The executor workloads of `/work/shared/anchors/py_executors.py`, run on any ``Executor`` so that
/// the Swift figures print beside the Python ones.
enum ExecutorWorkloads {
    /// Thrown when a workload's results are not what the function computes.
    struct Mismatch: Error, CustomStringConvertible {
        /// What differed.
        var what: String
        /// A message naming the workload.
        var description: String { "executor workloads: \(what)" }
    }

    /// Runs the workloads on `executor` and returns the line
    /// `<label>: roundtrip_us=.. submit_tasks_per_s=.. map1_tasks_per_s=.. map64_tasks_per_s=.. echo1mib_mb_per_s=..`.
    ///
    /// Exactly as `py_executors.py` does: a warm-up map of 200 squares (so worker start-up is not
    /// counted), then 2,000 sequential submit-and-wait calls; 20,000 submits issued at once, then
    /// every result collected; a map of 20,000 with chunk size 1; a map of 200,000 with chunk size
    /// 64; and 200 sequential echoes of 1 MiB. Times come from a monotonic clock. Does not shut the
    /// executor down.
    static func run(_ executor: any Executor, label: String) throws -> String {
        let square = BenchSquare()
        let echo = BenchEcho()
        let clock = ContinuousClock()

        // Warm-up, fully consumed.
        let warmup = try executor.map(square, 0..<200).collect()
        guard warmup.count == 200 else { throw Mismatch(what: "the warm-up map returned \(warmup.count) of 200") }

        // Round trip: one call at a time.
        var n = 2_000
        var roundtripSum = 0
        var start = clock.now
        for i in 0..<n {
            roundtripSum &+= try executor.submit(square, i).result()
        }
        let roundtrip = seconds(clock.now - start) / Double(n) * 1e6
        guard roundtripSum == sumOfSquares(below: n) else { throw Mismatch(what: "round-trip sum") }

        // Submit all, then collect all.
        n = 20_000
        start = clock.now
        let futures = try (0..<n).map { try executor.submit(square, $0) }
        var total = 0
        for future in futures { total &+= try future.result() }
        let submit = Double(n) / seconds(clock.now - start)

        // Map, chunk size 1.
        start = clock.now
        let map1Results = try executor.map(square, 0..<n, chunkSize: 1)
        var total1 = 0
        while let value = try map1Results.next() { total1 &+= value }
        let map1 = Double(n) / seconds(clock.now - start)

        // Map, chunk size 64.
        let n2 = 200_000
        start = clock.now
        let map64Results = try executor.map(square, 0..<n2, chunkSize: 64)
        var total64 = 0
        while let value = try map64Results.next() { total64 &+= value }
        let map64 = Double(n2) / seconds(clock.now - start)

        guard total == total1 else { throw Mismatch(what: "submit sum \(total) != map sum \(total1)") }
        guard total64 == sumOfSquares(below: n2) else { throw Mismatch(what: "chunk-64 map sum") }

        // Echo 1 MiB, one call at a time.
        let blob = [UInt8](repeating: 0, count: 1 << 20)
        let reps = 200
        start = clock.now
        for _ in 0..<reps {
            let back = try executor.submit(echo, blob).result()
            guard back.count == blob.count else { throw Mismatch(what: "echo returned \(back.count) bytes") }
        }
        let echoMB = 2 * Double(reps) * Double(blob.count) / seconds(clock.now - start) / 1e6

        return "\(label): roundtrip_us=\(String(format: "%.1f", roundtrip))"
            + " submit_tasks_per_s=\(String(format: "%.0f", submit))"
            + " map1_tasks_per_s=\(String(format: "%.0f", map1))"
            + " map64_tasks_per_s=\(String(format: "%.0f", map64))"
            + " echo1mib_mb_per_s=\(String(format: "%.0f", echoMB))"
    }

    /// Measures the round trip `runs` times, 2,000 calls each as in ``run(_:label:)``, and returns
    /// the line `<label>: runs=.. roundtrip_us_min=.. roundtrip_us_p50=.. roundtrip_us_max=..`: one run
    /// catches one phase of a noisy machine, many show its spread.
    static func roundTrips(_ executor: any Executor, runs: Int, label: String) throws -> String {
        let square = BenchSquare()
        let clock = ContinuousClock()
        let n = 2_000
        var means: [Double] = []
        for _ in 0..<runs {
            var sum = 0
            let start = clock.now
            for i in 0..<n { sum &+= try executor.submit(square, i).result() }
            means.append(seconds(clock.now - start) / Double(n) * 1e6)
            guard sum == sumOfSquares(below: n) else { throw Mismatch(what: "round-trip sum") }
        }
        return spread(of: means, label: label, metric: "roundtrip_us", format: "%.1f")
    }

    /// Measures the 1 MiB echo `runs` times, 200 calls each as in ``run(_:label:)``, and returns the
    /// line `<label>: runs=.. echo1mib_mb_per_s_min=.. echo1mib_mb_per_s_p50=.. echo1mib_mb_per_s_max=..`.
    static func echoes(_ executor: any Executor, runs: Int, label: String) throws -> String {
        let echo = BenchEcho()
        let clock = ContinuousClock()
        let blob = [UInt8](repeating: 0, count: 1 << 20)
        let reps = 200
        var rates: [Double] = []
        for _ in 0..<runs {
            let start = clock.now
            for _ in 0..<reps {
                let back = try executor.submit(echo, blob).result()
                guard back.count == blob.count else { throw Mismatch(what: "echo returned \(back.count) bytes") }
            }
            rates.append(2 * Double(reps) * Double(blob.count) / seconds(clock.now - start) / 1e6)
        }
        return spread(of: rates, label: label, metric: "echo1mib_mb_per_s", format: "%.0f")
    }

    /// The line `<label>: runs=.. <metric>_min=.. <metric>_p50=.. <metric>_max=..` for one value of
    /// `metric` per run, each printed with `format`.
    private static func spread(of values: [Double], label: String, metric: String, format: String) -> String {
        let sorted = values.sorted()
        guard let first = sorted.first, let last = sorted.last else { return "\(label): runs=0" }
        return "\(label): runs=\(sorted.count) \(metric)_min=\(String(format: format, first))"
            + " \(metric)_p50=\(String(format: format, sorted[sorted.count / 2]))"
            + " \(metric)_max=\(String(format: format, last))"
    }

    /// `0² + 1² + ... + (n-1)²`, to check the workloads' sums.
    static func sumOfSquares(below n: Int) -> Int {
        (n - 1) * n * (2 * n - 1) / 6
    }

    /// A duration in seconds.
    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
