import Foundation

/// What both pi examples print: the value, its error and the elapsed time, then a table of times
/// for 1...N workers with speedup and parallel efficiency. The tests read these lines.
public enum PiReport {
    /// `pi: VALUE`, `error: ERROR (...)` and `elapsed: SECONDS s ...` lines.
    public static func printResult(pi: Double, slices: Int, terms: Int, seconds: Double, workers: String) {
        print("pi: \(pi)")
        print("error: \(String(format: "%.3e", pi - Double.pi)) (against Double.pi; the series cut after "
              + "\(slices * terms) terms is off by about \(String(format: "%.1e", PiSeries.truncationError(terms: slices * terms))))")
        print("elapsed: \(String(format: "%.3f", seconds)) s with \(workers)")
    }

    /// The scaling table: one row per worker count, `seconds[k - 1]` the time with `k` workers,
    /// speedup against one worker and efficiency (speedup / workers).
    public static func printTable(seconds: [Double], caption: String) {
        print(caption)
        print("workers  time (s)  speedup  efficiency")
        guard let one = seconds.first else { return }
        for (index, time) in seconds.enumerated() {
            let workers = index + 1
            let speedup = one / time
            print(String(format: "%7d  %8.3f  %7.2f  %9.1f%%", workers, time, speedup, 100 * speedup / Double(workers)))
        }
    }
}
