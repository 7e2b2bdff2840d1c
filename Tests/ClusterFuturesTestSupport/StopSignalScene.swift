import ClusterFutures
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The scene both pools' stop-signal tests set, and how they read the line a pool logs: a program
/// with three tasks done, one of a minute running and four more submitted, waiting for the test's
/// signal.
public enum StopSignalScene {
    /// Runs three tasks of a millisecond, submits one of a minute and four quick ones, prints
    /// `ready 4` once the long one runs, and waits for it. Returns only if no signal ended the
    /// program first. Tasks of a millisecond: a pool sends one task ahead of the running one, no
    /// more (more only while tasks are quick), so the others stay queued.
    public static func stage(on executor: some Executor) throws {
        for _ in 0..<3 { _ = try executor.submit(SleepMicroseconds(), 1_000).result() }
        let running = try executor.submit(SleepMicroseconds(), 60_000_000)
        let queued = try (0..<4).map { _ in try executor.submit(Square(), 1) }
        while running.state == .pending { usleep(1_000) }
        print("ready \(queued.count)")
        fflush(nil)
        _ = try? running.result(timeout: .seconds(120))
    }

    /// The counts at the end of a stop line (`...; 3 tasks done, 1 running, 4 never started`):
    /// done, running, never started; fewer when the line is not one.
    public static func counts(in line: some StringProtocol) -> [Int] {
        line.split(separator: ";").last.map { tail in tail.split(separator: " ").compactMap { Int($0) } } ?? []
    }

    /// Whether `counts` are the scene's: 3 done, and of the other 5, the long task (and perhaps one
    /// sent ahead of it) running, the rest never started.
    public static func matchesTheScene(_ counts: [Int]) -> Bool {
        counts.count == 3 && counts[0] == 3 && (1...2).contains(counts[1]) && counts[1] + counts[2] == 5
    }
}
