import ClusterDoctor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A program run on a terminal of a known size, in a detached tmux session on a tmux server of its
/// own (a private socket, `tmux -S`), for tests of what a person sees: ``screen()`` is the
/// terminal's text, as `tmux capture-pane` gives it. Ending it (``close()``, or dropping it) kills
/// that server and whatever still runs in it, and removes the socket.
public final class TerminalSession {
    /// tmux's path, or nil when it is not installed (the tests then skip, saying so).
    public static var tmux: String? { Command.which("tmux") }

    /// The line the session's shell prints once the program has ended, with its exit status.
    static let endMarker = "[exited "

    private let tmux: String
    private let socket: String
    private var closed = false

    /// Starts `arguments` (a program and its arguments, run without a shell's word splitting) on a
    /// terminal `columns` wide and `rows` high. When it ends, the session prints `[exited STATUS]`
    /// and stays, so that the screen is left as the program left it.
    ///
    /// - Throws: when tmux is not installed or cannot start the session.
    public init(_ arguments: [String], columns: Int, rows: Int) throws {
        guard let tmux = Self.tmux else { throw SessionError(description: "tmux is not installed") }
        self.tmux = tmux
        socket = "/tmp/cf-test-tmux-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        // `-f /dev/null`: none of the user's settings. The shell after the program keeps the pane,
        // and the screen, once the program is over.
        let script = #""$0" "$@"; echo "\#(Self.endMarker)$?]"; exec sleep 600"#
        let started = run(["-f", "/dev/null", "new-session", "-d", "-s", "test", "-x", "\(columns)", "-y", "\(rows)",
                           "sh", "-c", script] + arguments)
        guard started.status == 0 else {
            close()
            throw SessionError(description: "tmux new-session failed: \(started.errorText)")
        }
    }

    deinit { close() }

    /// The terminal's lines as a person sees them now, trailing blank lines left out.
    public func screen() -> [String] {
        let captured = run(["capture-pane", "-p", "-t", "test"])
        var lines = String(decoding: captured.output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        while lines.last?.allSatisfy(\.isWhitespace) == true { lines.removeLast() }
        return lines
    }

    /// The program's exit status once it has ended (as the screen shows it), or nil while it runs.
    public func exitStatus(on screen: [String]) -> Int? {
        guard let line = screen.last(where: { $0.hasPrefix(Self.endMarker) }) else { return nil }
        return Int(line.dropFirst(Self.endMarker.count).prefix { $0.isNumber })
    }

    /// Polls the screen every `interval` until `condition` holds for it, and returns that screen;
    /// nil if `timeout` passes first (a bound against hangs only).
    public func waitForScreen(timeout: Duration = .seconds(120), interval: Duration = .milliseconds(50),
                              _ condition: ([String]) -> Bool) -> [String]? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let lines = screen()
            if condition(lines) { return lines }
            let (seconds, attoseconds) = interval.components
            usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        }
        return nil
    }

    /// Kills the session's tmux server and what runs in it.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = run(["kill-server"])
        unlink(socket)
    }

    private func run(_ arguments: [String]) -> CommandOutcome {
        Command.runBlocking([tmux, "-S", socket] + arguments, until: ContinuousClock.now.advanced(by: .seconds(30)))
    }

    struct SessionError: Error, CustomStringConvertible {
        let description: String
    }
}
