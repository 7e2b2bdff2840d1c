import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a test program built beside the test runner (`mpi-test-programs`, `mpi-pool-test-programs`)
/// under `mpiexec`, or alone, with a time limit.
public enum MPIRunner {
    /// What a run printed and how it ended.
    public struct Outcome: CustomStringConvertible, Sendable {
        /// The command line, for messages.
        public var command: String
        /// The exit status (or 128 + signal).
        public var status: Int32
        /// Whether the run was killed for taking too long.
        public var timedOut: Bool
        /// Standard output of all ranks.
        public var output: String
        /// Standard error of all ranks (and of mpiexec).
        public var errors: String
        /// When the process was seen to end (or was killed after the time limit).
        public var exitedAt = ContinuousClock.now

        /// The lines of standard output.
        public var lines: [String] { output.split(separator: "\n").map(String.init) }

        public var description: String {
            "\(command)\nexit status \(status)\(timedOut ? " (killed after the time limit)" : "")\n--- stdout\n\(output)--- stderr\n\(errors)"
        }
    }

    /// A problem running the program at all.
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The path of the program named `name`: beside the running test binary.
    public static func program(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Whether the test programs were built against Open MPI (package trait `OpenMPI`) rather than
    /// MPICH: the launcher must be the same MPI's.
    public static var isOpenMPI: Bool {
        #if OpenMPI
        true
        #else
        false
        #endif
    }

    /// The launcher of the MPI the test programs were built against, from `PATH`, or an error that
    /// says how to install it: Debian's `mpiexec.mpich` (Hydra) or `mpiexec.openmpi` (ORTE), else
    /// plain `mpiexec` (which Debian's alternatives point at one of the two, perhaps the other: so
    /// only when no suffixed one is installed).
    public static func mpiexec() throws -> String {
        let suffixed = isOpenMPI ? "mpiexec.openmpi" : "mpiexec.mpich"
        if let mpiexec = which(suffixed) ?? which("mpiexec") { return mpiexec }
        throw LaunchError(description: """
            \(suffixed) or mpiexec was not found on PATH (\(ProcessInfo.processInfo.environment["PATH"] ?? "")). \
            The MPI tests need \(isOpenMPI ? "Open MPI: apt-get install -y libopenmpi-dev openmpi-bin" : "MPICH: apt-get install -y libmpich-dev mpich")
            """)
    }

    /// What the launcher needs besides `-n N PROGRAM`: nothing for Hydra. Open MPI's `mpiexec`
    /// refuses more processes than cores unless told `--oversubscribe` (the tests run 4 ranks on 2
    /// cores).
    public static var launcherOptions: [String] {
        isOpenMPI ? ["--oversubscribe"] : []
    }

    /// Variables every launch of the test programs gets, before the test's own: for Open MPI, the
    /// permission to run as root (containers and CI run the tests as root, which its `mpiexec`
    /// refuses otherwise), and the shared-memory transport without its single-copy mechanism
    /// (CMA's `process_vm_readv`, which a container's default seccomp profile and
    /// ptrace restrictions deny, failing the first large message between two ranks).
    public static var launcherEnvironment: [String: String] {
        guard isOpenMPI else { return [:] }
        return [
            "OMPI_ALLOW_RUN_AS_ROOT": "1",
            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
        ]
    }

    /// A program on `PATH` (or in the system folders, where root's tools live), or nil.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `mpiexec -n processes PROGRAM scenarios...` (or the program alone when `processes` is
    /// nil), with `environment` added to this process's, killing it after `timeout` seconds. With
    /// `interrupt`, sends `mpiexec` that signal once its output holds the marker, as a person's
    /// Ctrl-C in its terminal would (Hydra passes SIGINT on to every rank).
    public static func run(
        _ programName: String = "mpi-test-programs", processes: Int?, _ scenarios: [String],
        environment: [String: String] = [:], timeout: Double = 30,
        interrupt: (signal: Int32, afterOutput: String)? = nil
    ) throws -> Outcome {
        // A virtual cluster coming or going adds or removes network interfaces, and a job whose
        // UCX listed one that then vanished fails in MPI_Init ("Destination is unreachable").
        InterfaceChanges.lock.readLock()
        defer { InterfaceChanges.lock.unlock() }
        let program = self.program(programName)
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw LaunchError(description: "the scenario program is missing at \(program); build with swift build --build-tests")
        }
        let executable: String
        let arguments: [String]
        if let processes {
            executable = try mpiexec()
            arguments = launcherOptions + ["-n", String(processes), program] + scenarios
        } else {
            executable = program
            arguments = scenarios
        }
        return try run(executable: executable, arguments: arguments,
                       environment: launcherEnvironment.merging(environment) { _, test in test }, timeout: timeout,
                       interrupt: interrupt)
    }

    /// Runs `executable arguments...` (`executable` a path), with `environment` added to this
    /// process's, killing it after `timeout` seconds; `interrupt` as for
    /// ``run(_:processes:_:environment:timeout:interrupt:)``. With `whenOutput`, runs its action
    /// once, as soon as the standard output holds its marker.
    public static func run(
        executable: String, arguments: [String], environment: [String: String] = [:], timeout: Double = 30,
        interrupt: (signal: Int32, afterOutput: String)? = nil,
        whenOutput: (marker: String, action: () -> Void)? = nil
    ) throws -> Outcome {
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        // Started with every signal at its default action: the test runner may ignore SIGINT, and
        // a job started with `Process` would inherit that, and never see a Ctrl-C.
        let pid = try TestPrograms.spawn(executable, arguments, output: outputPipe.fileHandleForWriting,
                                         errors: errorPipe.fileHandleForWriting, environment: environment)
        try? outputPipe.fileHandleForWriting.close()
        try? errorPipe.fileHandleForWriting.close()

        let output = Collector(outputPipe.fileHandleForReading)
        let errors = Collector(errorPipe.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        var interrupted = false
        var acted = false
        var status: Int32 = 0
        func ended() -> Bool {
            let result = waitpid(pid, &status, WNOHANG)
            return result == pid || (result == -1 && errno != EINTR)
        }
        while !ended() {
            if let interrupt, !interrupted, output.text(waitingUpTo: 0).contains(interrupt.afterOutput) {
                interrupted = true
                // As a person's would, the signal comes while the program waits, not while it
                // writes the line just read (see StopSignals).
                usleep(200_000)
                kill(pid, interrupt.signal)
            }
            if let whenOutput, !acted, output.text(waitingUpTo: 0).contains(whenOutput.marker) {
                acted = true
                whenOutput.action()
            }
            if Date() >= deadline {
                timedOut = true
                kill(pid, SIGTERM)  // Hydra's mpiexec passes SIGTERM on to every rank.
                let grace = Date().addingTimeInterval(3)
                while !ended() && Date() < grace { usleep(10_000) }
                if kill(pid, 0) == 0 {
                    kill(pid, SIGKILL)
                    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                }
                break
            }
            usleep(5_000)
        }
        let exitedAt = ContinuousClock.now
        let signal = status & 0x7f
        let exitStatus = signal != 0 ? 128 + signal : (status >> 8) & 0xff
        // Processes it left (on a frozen host, say) may hold the pipes open: not for long.
        return Outcome(command: ([executable] + arguments).joined(separator: " "), status: exitStatus, timedOut: timedOut,
                       output: output.text(waitingUpTo: 5), errors: errors.text(waitingUpTo: 5), exitedAt: exitedAt)
    }

    /// ``run(_:processes:_:environment:timeout:interrupt:)``, waiting off Swift's cooperative
    /// threads (see ``offThePool(_:)``): what async tests call.
    public static func run(
        _ programName: String = "mpi-test-programs", processes: Int?, _ scenarios: [String],
        environment: [String: String] = [:], timeout: Double = 30,
        interrupt: (signal: Int32, afterOutput: String)? = nil
    ) async throws -> Outcome {
        try await offThePool {
            try run(programName, processes: processes, scenarios, environment: environment, timeout: timeout, interrupt: interrupt)
        }
    }

    /// Reads a pipe to its end on a thread of its own.
    public final class Collector: Sendable {
        /// The bytes so far, and whether the end was reached.
        private let state = Mutex<(bytes: [UInt8], done: Bool)>(([], false))

        public init(_ handle: FileHandle) {
            let descriptor = handle.fileDescriptor
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    state.withLock { $0.bytes += buffer[..<count] }
                }
                state.withLock { $0.done = true }
                _ = handle  // Keeps the descriptor open until the end.
            }
        }

        /// The text read, waiting up to `seconds` for the end of the pipe.
        public func text(waitingUpTo seconds: Double) -> String {
            let deadline = Date().addingTimeInterval(seconds)
            while !state.withLock({ $0.done }) && Date() < deadline { usleep(5_000) }
            return state.withLock { String(decoding: $0.bytes, as: UTF8.self) }
        }
    }
}

/// Runs `body`, which blocks (a job under mpiexec, a cluster made or removed), on a thread of its own
/// and waits for it without holding one of Swift's cooperative threads.
///
/// A test that blocks for seconds on a cooperative thread (there are as many as cores) stalls every
/// async test meanwhile: their timings then fail for want of a thread, not for their own fault.
/// Expectations stay outside `body`, in the test's task, where Swift Testing attributes them.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
