import ClusterDoctor
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs the test scenario program (`cf-test-scenarios`, built beside the test runner) as its own
/// process group, and inspects processes, for tests about what happens when a pool's parent dies.
public enum TestPrograms {
    /// The path of the scenario program: beside the running test binary.
    public static var scenarios: String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("cf-test-scenarios").path
    }

    /// The command line that runs `cf-test-scenarios arguments...`, started by `launcher` (such
    /// as `mpiexec -n 1`; nothing: directly), with `environment` over this process's (a nil value
    /// unsets the variable), through `env`.
    public static func scenarioCommand(_ arguments: [String], environment: [String: String?] = [:],
                                       launcher: [String] = []) -> [String] {
        var command = ["env"]
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            command += value.map { ["\(name)=\($0)"] } ?? ["-u", name]
        }
        return command + launcher + [scenarios] + arguments
    }

    /// Runs `cf-test-scenarios arguments...` to its end, with `environment` as
    /// ``scenarioCommand(_:environment:launcher:)`` sets it, and returns its status and what it wrote to
    /// standard output and standard error; it is killed after `timeout` (a bound against hangs).
    public static func runScenario(_ arguments: [String], environment: [String: String?] = [:],
                                   timeout: Duration = .seconds(120)) -> CommandOutcome {
        Command.runBlocking(scenarioCommand(arguments, environment: environment), until: ContinuousClock.now.advanced(by: timeout))
    }

    /// A started scenario: its pid (also its process group) and its standard output.
    public struct Running {
        public let pid: pid_t
        public let output: FileHandle

        /// Reads one line of output, or nil at end of file.
        public func readLine() -> String? {
            var bytes: [UInt8] = []
            while true {
                let byte = output.readData(ofLength: 1)
                guard let first = byte.first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
                if first == 10 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(first)
            }
        }
    }

    /// Starts `cf-test-scenarios arguments...` in a new process group.
    public static func start(_ arguments: [String]) throws -> Running {
        let pipe = Pipe()
        let pid = try spawn(scenarios, arguments, output: pipe.fileHandleForWriting)
        try? pipe.fileHandleForWriting.close()
        return Running(pid: pid, output: pipe.fileHandleForReading)
    }

    /// Starts `path arguments...` in a new process group, with every signal at its default action
    /// and none blocked, its standard input on `/dev/null` (`mpiexec` would pass the test runner's
    /// on to rank 0), its standard output on `output` and its standard error on `errors` (nil:
    /// this process's). The test runner may ignore SIGINT, and ignored signals are inherited: a
    /// program started with `Process` would never see the Ctrl-C a test sends it. `environment`
    /// is added to this process's.
    public static func spawn(_ path: String, _ arguments: [String], output: FileHandle, errors: FileHandle? = nil,
                             environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output.fileDescriptor, 1)
        if let errors { posix_spawn_file_actions_adddup2(&actions, errors.fileDescriptor, 2) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group, as a shell gives a job, and default signal handling: the test runner
        // may ignore SIGINT, and ignored signals are inherited.
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard error == 0 else { throw POSIXError(POSIXErrorCode(rawValue: error) ?? .EIO) }
        return pid
    }

    /// Waits for a child and returns its raw wait status.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }

    /// True while `pid` exists and is not a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Waits up to `seconds` for every pid in `pids` to be gone; returns those still alive.
    public static func survivors(of pids: [pid_t], within seconds: Double) -> [pid_t] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !pids.contains(where: isAlive) { return [] }
            usleep(10_000)
        }
        return pids.filter(isAlive)
    }
}
