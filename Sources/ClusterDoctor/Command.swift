import CClusterFuturesSystem
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a command run by ``Command/run(_:until:)`` ended.
public struct CommandOutcome: Sendable {
    /// The exit status, 128 + the signal that ended it, or -1 when it could not be started.
    public var status: Int32
    /// Whether it was killed at the deadline.
    public var timedOut: Bool
    /// Its standard output (at most ``Command/outputLimit`` bytes).
    public var output: [UInt8]
    /// Its standard error (at most ``Command/outputLimit`` bytes).
    public var errors: [UInt8]
    /// Why it could not be started, when `status` is -1.
    public var launchFailure: String?

    /// An outcome; for tests.
    public init(status: Int32, timedOut: Bool, output: [UInt8], errors: [UInt8], launchFailure: String? = nil) {
        self.status = status
        self.timedOut = timedOut
        self.output = output
        self.errors = errors
        self.launchFailure = launchFailure
    }

    /// Standard error as text, for messages.
    public var errorText: String { String(decoding: errors, as: UTF8.self) }
}

/// Runs a command with a deadline, without blocking Swift's cooperative threads: each command has
/// a thread of its own, so that the checks of many hosts run at once.
public enum Command {
    /// How much of each output stream is kept.
    public static let outputLimit = 1 << 20

    /// The path of `name` (or `name` itself when it is a path) if it is an executable file: the first
    /// found in the directories of `PATH`; nil when there is none.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        return nil
    }

    /// Runs `arguments` (the first found on `PATH`) in a process group of its own, standard input
    /// from `/dev/null`; at `deadline` the whole group is killed.
    public static func run(_ arguments: [String], until deadline: ContinuousClock.Instant) async -> CommandOutcome {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: runBlocking(arguments, until: deadline))
            }
        }
    }

    /// ``run(_:until:)`` on the calling thread.
    public static func runBlocking(_ arguments: [String], until deadline: ContinuousClock.Instant) -> CommandOutcome {
        func failure(_ reason: String) -> CommandOutcome {
            CommandOutcome(status: -1, timedOut: false, output: [], errors: [], launchFailure: reason)
        }
        guard let executable = arguments.first, !executable.isEmpty else { return failure("no command") }
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard cf_pipe_cloexec(&outputPipe) == 0 else { return failure("pipe: \(String(cString: strerror(errno)))") }
        guard cf_pipe_cloexec(&errorPipe) == 0 else {
            close(outputPipe[0]); close(outputPipe[1])
            return failure("pipe: \(String(cString: strerror(errno)))")
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        // A group of its own, so that the deadline ends whatever it started too.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let error = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        close(outputPipe[1])
        close(errorPipe[1])
        guard error == 0 else {
            close(outputPipe[0]); close(errorPipe[0])
            return failure("\(executable): \(String(cString: strerror(error)))")
        }

        var streams = [Stream(fd: outputPipe[0]), Stream(fd: errorPipe[0])]
        var status: Int32?
        var timedOut = false
        // Once the command has ended, whatever it left running gets a moment to close the pipes.
        var drainDeadline: ContinuousClock.Instant?
        let clock = ContinuousClock()
        while true {
            if status == nil, let ended = reap(pid, blocking: false) {
                status = ended
                drainDeadline = min(deadline, clock.now.advanced(by: .seconds(1)))
            }
            let open = streams.indices.filter { streams[$0].open }
            if open.isEmpty, status != nil { break }
            let limit = drainDeadline ?? deadline
            if clock.now >= limit {
                if status == nil {
                    timedOut = true
                    kill(-pid, SIGKILL)
                    kill(pid, SIGKILL)
                    status = reap(pid, blocking: true)
                } else {
                    // What it left holding the pipes is still in its group.
                    kill(-pid, SIGKILL)
                }
                break
            }
            var descriptors = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            // Short waits: the end of the command itself is noticed by polling waitpid.
            let wait = min(clock.now.duration(to: limit), .milliseconds(open.isEmpty ? 10 : 50))
            let (seconds, attoseconds) = wait.components
            let nanoseconds = max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            let ready = descriptors.withUnsafeMutableBufferPointer {
                cf_poll_nanoseconds($0.baseAddress, UInt($0.count), nanoseconds)
            }
            guard ready > 0 else { continue }
            for (slot, index) in open.enumerated() where descriptors[slot].revents != 0 {
                streams[index].drain()
            }
        }
        for stream in streams { close(stream.fd) }
        return CommandOutcome(status: status ?? -1, timedOut: timedOut, output: streams[0].bytes,
                              errors: streams[1].bytes, launchFailure: nil)
    }

    /// The exit status (128 + signal) of `pid` once it has ended; nil while it runs.
    private static func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
        var raw: Int32 = 0
        while true {
            let result = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
            if result == -1 && errno == EINTR { continue }
            if result == 0 { return nil }
            if result == -1 { return -1 }
            let signal = raw & 0x7f
            return signal != 0 ? 128 + signal : (raw >> 8) & 0xff
        }
    }

    /// One output pipe of the command.
    private struct Stream {
        let fd: Int32
        var bytes: [UInt8] = []
        var open = true

        init(fd: Int32) { self.fd = fd }

        mutating func drain() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { return }
            guard count > 0 else { open = false; return }
            let room = max(0, Command.outputLimit - bytes.count)
            bytes += buffer[..<min(count, room)]
        }
    }
}
