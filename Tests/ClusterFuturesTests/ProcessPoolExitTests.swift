import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a process pool does with pending work when its program ends, and how much CPU its parent
/// uses while tasks queue: each in a program of its own (`cf-test-scenarios`), so that nothing else
/// in the test runner counts.
@Suite("The process pool at exit, and its parent while tasks queue", .serialized)
struct ProcessPoolExitTests {
    @Test("returning from main, shutdown(wait: false) then returning, or exit(0): queued work runs first",
          arguments: ["return", "nowait", "exit"])
    func exitRunsPendingWork(how: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cf-exit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let scenario = try TestPrograms.start(["exit-pending", path, how])
        #expect(scenario.readLine() == "submitted 20")
        let status = TestPrograms.wait(scenario.pid)
        #expect(status == 0, "exit status \(status)")
        let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 20, "lines written by the tasks: \(lines.count) of 20")
        #expect(Set(lines).count == 20, "each task ran once")
    }

    @Test("SIGINT or SIGTERM: one line says what became of the tasks, the workers stop, the program ends by the signal",
          arguments: [SIGINT, SIGTERM])
    func aStopSignalIsReported(signal: Int32) throws {
        let scenario = try TestPrograms.start(["interrupt-report"])
        #expect(scenario.readLine() == "ready 4")
        // As a person's Ctrl-C would, the signal comes while the program waits for its task, not in
        // the middle of writing the line just read: a signal that interrupts a thread holding the
        // lock of standard error stalls the report, and the program ends by the signal without it
        // after 3 s (see StopSignals).
        usleep(200_000)
        kill(scenario.pid, signal)
        var lines: [String] = []
        while let line = scenario.readLine() { lines.append(line) }
        let status = TestPrograms.wait(scenario.pid)
        #expect(status & 0x7f == signal, "the program ends as the signal ends it: status \(status)")
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        let report = lines.filter { $0.contains("\(name): stopping the process pool's 1 worker;") }
        #expect(report.count == 1, "\(lines)")
        // Running: handed to the worker, the long task and the task sent ahead of it if one was
        // (the pool sends one ahead only in the first 200 µs of the long task).
        #expect(StopSignalScene.matchesTheScene(StopSignalScene.counts(in: report.first ?? "")),
                "3 tasks done; the long task (and perhaps one sent ahead) running, the rest of the 5 never started: \(lines)")
        #expect(!lines.contains("not interrupted"))
    }

    @Test("the parent sleeps while tasks queue behind a busy worker")
    func theParentSleepsWhileTasksQueue() throws {
        let scenario = try TestPrograms.start(["queued-cpu"])
        let line = try #require(scenario.readLine())
        #expect(TestPrograms.wait(scenario.pid) == 0)
        let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").compactMap { field -> (String, Int)? in
            let parts = field.split(separator: "=")
            guard parts.count == 2, let value = Int(parts[1]) else { return nil }
            return (String(parts[0]), value)
        })
        let cpu = try #require(fields["cpu_ms"], "\(line)")
        let wall = try #require(fields["wall_ms"], "\(line)")
        // 16 tasks of 60 ms take about a second; a parent that polls in a loop uses nearly all of it
        // (it did: 850 ms of CPU in 960 ms). A bound far from both, so that it only tells the two
        // apart.
        #expect(wall >= 900, "\(line)")
        #expect(cpu * 4 < wall, "the parent used \(cpu) ms of CPU in \(wall) ms while tasks queued")
    }
}
