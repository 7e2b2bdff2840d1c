import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Progress as a program shows it: `cf-test-scenarios progress` maps 40 tasks of 150 ms over a
/// process pool of 2 workers with `progress: .automatic(label: "tasks")`, between two lines of its
/// own. On a pipe it draws nothing unless `CLUSTERFUTURES_PROGRESS=1`; on a terminal (tmux) a
/// person sees one line redrawn in place, then the last one, and the program's lines intact.
@Suite struct ProgressTerminalTests {
    static let ownLines = ["mapping 40 inputs", "40 results, all as expected"]
    /// A line while the map runs, capturing the count.
    static var running: Regex<(Substring, Substring)> {
        #/tasks: (\d+)/40 \d+% \[[#.]{20}\] (?:\d+(?:\.\d+)?|\?)/s, \d+:\d\d elapsed, (?:\d+:\d\d|\?) left/#
    }

    /// The last line, capturing its seconds.
    static var finished: Regex<(Substring, Substring)> {
        #/tasks: 40/40 100% \[#{20}\] \d+(?:\.\d+)?/s, finished in \d+:(\d\d)/#
    }

    @Test func onAPipeNothingIsDrawn() {
        let outcome = TestPrograms.runScenario(["progress", "map"], environment: [ProgressDisplay.environmentVariable: nil])
        #expect(outcome.status == 0, "\(outcome.errorText)")
        #expect(String(decoding: outcome.output, as: UTF8.self) == Self.ownLines.map { $0 + "\n" }.joined())
        #expect(outcome.errors.isEmpty, "standard error: \(outcome.errorText.debugDescription)")
    }

    @Test(arguments: ["map", "unordered", "as-completed"])
    func onAPipeTheEnvironmentVariableDrawsAnyway(mode: String) throws {
        let outcome = TestPrograms.runScenario(["progress", mode], environment: [ProgressDisplay.environmentVariable: "1", "COLUMNS": "100"])
        #expect(outcome.status == 0, "\(outcome.errorText)")
        #expect(String(decoding: outcome.output, as: UTF8.self) == Self.ownLines.map { $0 + "\n" }.joined())
        let errors = outcome.errorText
        #expect(errors.filter { $0 == "\n" }.count == 1, "one line in all, ended once: \(errors.debugDescription)")
        let drawings = errors.split(separator: "\r").map(String.init)
        #expect(errors.hasPrefix("\r") && drawings.count >= 2, "\(errors.debugDescription)")
        for drawing in drawings.dropLast() {
            #expect(drawing.hasSuffix("\u{1B}[K"))
            #expect(drawing.dropLast(3).wholeMatch(of: Self.running) != nil, "\(drawing.debugDescription)")
        }
        let counts = drawings.dropLast().compactMap { $0.dropLast(3).wholeMatch(of: Self.running).flatMap { Int($0.output.1) } }
        #expect(counts == counts.sorted(), "the count only goes up: \(counts)")
        let last = try #require(drawings.last)
        #expect(last.hasSuffix("\u{1B}[K\n"))
        let match = try #require(last.dropLast(4).wholeMatch(of: Self.finished), "\(last.debugDescription)")
        // At most ten drawings a second, and the last.
        let seconds = try #require(Int(match.output.1))
        #expect(drawings.count <= 10 * (seconds + 1) + 1, "\(drawings.count) drawings in \(seconds) s")
    }

    /// What a launcher such as `mpiexec` does, made slow: it reads the program's standard output
    /// and standard error from two pipes only every 100 ms, and passes on standard output first when
    /// both have something. The last progress line must still come before the program's own last
    /// line: the program waits for its reader to take that line before it goes on.
    @Test func aLauncherThatReadsSlowlyStillPassesOnTheLastLineFirst() throws {
        let output = Pipe(), errors = Pipe()
        let pid = try TestPrograms.spawn(TestPrograms.scenarios, ["progress", "map"],
                                         output: output.fileHandleForWriting, errors: errors.fileHandleForWriting,
                                         environment: [ProgressDisplay.environmentVariable: "1", "COLUMNS": "100"])
        try? output.fileHandleForWriting.close()
        try? errors.fileHandleForWriting.close()

        var passedOn: [UInt8] = []
        var open = [output.fileHandleForReading.fileDescriptor, errors.fileHandleForReading.fileDescriptor]
        let deadline = ContinuousClock.now + .seconds(120)
        while !open.isEmpty && ContinuousClock.now < deadline {
            usleep(100_000)
            var ready = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&ready, nfds_t(ready.count), 0) > 0 else { continue }
            for descriptor in ready where descriptor.revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                let count = read(descriptor.fd, &buffer, buffer.count)
                if count > 0 { passedOn += buffer[..<count] } else { open.removeAll { $0 == descriptor.fd } }
            }
        }
        #expect(open.isEmpty, "the program did not end")
        if !open.isEmpty { kill(-pid, SIGKILL) }
        #expect(TestPrograms.wait(pid) == 0)
        let text = String(decoding: passedOn, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == Substring(Self.ownLines[0]), "\(text.debugDescription)")
        #expect(lines.last == "", "\(text.debugDescription)")
        #expect(lines.dropLast().last == Substring(Self.ownLines[1]), "\(text.debugDescription)")
        let progress = lines.dropLast(2).last.map { $0.split(separator: "\r").last ?? "" } ?? ""
        #expect(progress.dropLast(3).wholeMatch(of: Self.finished) != nil, "\(text.debugDescription)")
    }

    @Test(.enabled(if: TerminalSession.tmux != nil, "tmux is not installed (apt-get install tmux; .ci/run installs it)"),
          arguments: [("map", 100), ("as-completed", 100), ("map", 40)])
    func onATerminalOneLineIsRedrawnInPlace(mode: String, columns: Int) throws {
        let session = try TerminalSession(
            TestPrograms.scenarioCommand(["progress", mode], environment: [ProgressDisplay.environmentVariable: nil]),
            columns: columns, rows: 20)
        defer { session.close() }

        // While it runs: the program's first line, and below it one progress line part-way.
        let midway = try #require(session.waitForScreen { screen in
            screen.contains { line in line.hasPrefix("tasks: ") && !line.hasPrefix("tasks: 0/") && !line.hasPrefix("tasks: 40/") }
        }, "no progress line part-way through")
        #expect(midway.count == 2, "\(midway)")
        #expect(midway.first == Self.ownLines[0])
        let progress = midway.last ?? ""
        #expect(progress.count <= columns - 1)
        if columns >= 80 {
            #expect(progress.wholeMatch(of: Self.running) != nil, "\(progress)")
        } else {
            #expect(progress.wholeMatch(of: #/tasks: \d+/40 (?:\d+(?:\.\d+)?|\?)/s, (?:\d+:\d\d|\?) left/#) != nil, "\(progress)")
        }

        // At the end: the first line, the last progress line, the program's last line, and nothing more.
        let end = try #require(session.waitForScreen { session.exitStatus(on: $0) != nil }, "the program did not end")
        #expect(session.exitStatus(on: end) == 0, "\(end)")
        #expect(end.count == 4, "\(end)")
        #expect(end.first == Self.ownLines[0])
        #expect(end.dropFirst(2).first == Self.ownLines[1])
        let last = end.dropFirst().first ?? ""
        #expect(last.count <= columns - 1)
        if columns >= 80 {
            #expect(last.wholeMatch(of: Self.finished) != nil, "\(last)")
        } else {
            #expect(last.wholeMatch(of: #/tasks: 40/40 \d+(?:\.\d+)?/s, finished in \d+:\d\d/#) != nil, "\(last)")
        }
    }

    @Test(.enabled(if: TerminalSession.tmux != nil, "tmux is not installed (apt-get install tmux; .ci/run installs it)"))
    func onATerminalTheEnvironmentVariableTurnsItOff() throws {
        let session = try TerminalSession(
            TestPrograms.scenarioCommand(["progress", "map"], environment: [ProgressDisplay.environmentVariable: "0"]),
            columns: 100, rows: 20)
        defer { session.close() }
        let end = try #require(session.waitForScreen { session.exitStatus(on: $0) != nil }, "the program did not end")
        #expect(end == Self.ownLines + ["[exited 0]"])
    }

    /// Under `mpiexec`, rank 0's standard error is a pipe to the launcher, which writes to the
    /// terminal: `.automatic` draws nothing there, unless the environment variable says to, and then
    /// the launcher passes the line on as it is redrawn.
    @Test(.enabled(if: TerminalSession.tmux != nil, "tmux is not installed (apt-get install tmux; .ci/run installs it)"),
          arguments: [nil, "1"])
    func underMpiexecTheEnvironmentVariableDrawsIt(setting: String?) throws {
        var environment = MPIRunner.launcherEnvironment.mapValues { Optional($0) }
        environment[ProgressDisplay.environmentVariable] = .some(setting)
        let launcher = [try MPIRunner.mpiexec()] + MPIRunner.launcherOptions + ["-n", "1"]
        let session = try TerminalSession(
            TestPrograms.scenarioCommand(["progress", "map"], environment: environment, launcher: launcher),
            columns: 100, rows: 20)
        defer { session.close() }
        if setting != nil {
            let midway = try #require(session.waitForScreen { screen in
                screen.contains { $0.wholeMatch(of: Self.running).map { $0.output.1 != "0" } == true }
            }, "no progress line part-way through")
            #expect(midway.count == 2 && midway.first == Self.ownLines[0], "\(midway)")
        }
        let end = try #require(session.waitForScreen { session.exitStatus(on: $0) != nil }, "the program did not end")
        #expect(session.exitStatus(on: end) == 0, "\(end)")
        if setting == nil {
            #expect(end == Self.ownLines + ["[exited 0]"])
        } else {
            #expect(end.count == 4 && end.first == Self.ownLines[0] && end.dropFirst(2).first == Self.ownLines[1], "\(end)")
            #expect(end.dropFirst().first?.wholeMatch(of: Self.finished) != nil, "\(end)")
        }
    }
}
