import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs `mpi-test-programs` (built beside the test runner) under `mpiexec`, with a time limit.
enum MPIRunner {
    /// What a run printed and how it ended.
    struct Outcome: CustomStringConvertible {
        /// The command line, for messages.
        var command: String
        /// The exit status (or 128 + signal).
        var status: Int32
        /// Whether the run was killed for taking too long.
        var timedOut: Bool
        /// Standard output of all ranks.
        var output: String
        /// Standard error of all ranks (and of mpiexec).
        var errors: String

        /// The lines of standard output.
        var lines: [String] { output.split(separator: "\n").map(String.init) }

        var description: String {
            "\(command)\nexit status \(status)\(timedOut ? " (killed after the time limit)" : "")\n--- stdout\n\(output)--- stderr\n\(errors)"
        }
    }

    /// A problem running the program at all.
    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    /// The scenario program: beside the running test binary.
    static var program: String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("mpi-test-programs").path
    }

    /// `mpiexec` from `PATH`, or an error that says how to install it.
    static func mpiexec() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/mpiexec"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LaunchError(description: """
            mpiexec was not found on PATH (\(path)). The MPI tests need MPICH: \
            apt-get install -y libmpich-dev mpich
            """)
    }

    /// Runs `mpiexec -n processes mpi-test-programs scenarios...` (or the program alone when
    /// `processes` is nil), killing it after `timeout` seconds.
    static func run(processes: Int?, _ scenarios: [String], timeout: Double = 30) throws -> Outcome {
        let program = self.program
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw LaunchError(description: "the scenario program is missing at \(program); build with swift build --build-tests")
        }
        let executable: String
        let arguments: [String]
        if let processes {
            executable = try mpiexec()
            arguments = ["-n", String(processes), program] + scenarios
        } else {
            executable = program
            arguments = scenarios
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let output = Collector(outputPipe.fileHandleForReading)
        let errors = Collector(errorPipe.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() >= deadline {
                timedOut = true
                process.terminate()  // Hydra's mpiexec passes SIGTERM on to every rank.
                let grace = Date().addingTimeInterval(3)
                while process.isRunning && Date() < grace { usleep(10_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Outcome(command: ([executable] + arguments).joined(separator: " "), status: status, timedOut: timedOut,
                       output: output.text(waitingUpTo: 5), errors: errors.text(waitingUpTo: 5))
    }

    /// Reads a pipe to its end on a thread of its own.
    final class Collector: Sendable {
        /// The bytes so far, and whether the end was reached.
        private let state = Mutex<(bytes: [UInt8], done: Bool)>(([], false))

        init(_ handle: FileHandle) {
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
        func text(waitingUpTo seconds: Double) -> String {
            let deadline = Date().addingTimeInterval(seconds)
            while !state.withLock({ $0.done }) && Date() < deadline { usleep(5_000) }
            return state.withLock { String(decoding: $0.bytes, as: UTF8.self) }
        }
    }
}
