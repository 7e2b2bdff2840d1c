import ClusterFutures
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Functions for process-pool tests: each crashes, corrupts or reports in a worker, and refuses to
/// do anything harmful in the test runner itself (when `callerPID` is this process).

/// Returns the pid of the process it runs in.
public struct WorkerPID: RemoteFunction {
    public init() {}
    public func callAsFunction(_ delayMilliseconds: Int) -> Int32 {
        if delayMilliseconds > 0 { usleep(UInt32(delayMilliseconds) * 1000) }
        return getpid()
    }
}

/// The ways a worker can die during a task.
public enum CrashKind: String, Codable, Sendable, CaseIterable {
    case fatalError, segmentationFault, sigkill, exit3
}

/// Thrown instead of crashing when a crash function finds itself in the test runner.
public struct RefusedToCrashHere: Error, Codable {}

/// Dies in the way `kind` says, unless it runs in `callerPID`.
public struct Crash: RemoteFunction {
    public var kind: CrashKind
    public var callerPID: Int32
    public init(_ kind: CrashKind) {
        self.kind = kind
        self.callerPID = getpid()
    }
    public func callAsFunction(_ input: Int) throws -> Int {
        guard getpid() != callerPID else { throw RefusedToCrashHere() }
        switch kind {
        case .fatalError:
            fatalError("deliberate fatalError for input \(input)")
        case .segmentationFault:
            if let pointer = UnsafeMutablePointer<Int>(bitPattern: 0x10) { pointer.pointee = input }
            return input
        case .sigkill:
            kill(getpid(), SIGKILL)
            return input
        case .exit3:
            exit(3)
        }
    }
}

/// Squares, except that it crashes (`exit(3)`) on `crashOn`, in a worker only.
public struct SquareOrCrash: RemoteFunction {
    public var crashOn: Int
    public var callerPID: Int32
    public init(crashOn: Int) {
        self.crashOn = crashOn
        self.callerPID = getpid()
    }
    public func callAsFunction(_ x: Int) throws -> Int {
        if x == crashOn {
            guard getpid() != callerPID else { throw RefusedToCrashHere() }
            exit(3)
        }
        usleep(1000)
        return x * x
    }
}

/// Writes bad bytes into the worker's result channel, in a worker only.
public struct CorruptChannel: RemoteFunction {
    /// `duplicateResult` forges a well-formed result frame for the task id given as input, after
    /// 200 ms (so that the task queued behind is in flight by then), then returns normally: the
    /// worker's own answer that follows is a second answer to a task already answered.
    public enum Kind: String, Codable, Sendable { case unknownKind, oversized, truncated, duplicateResult }
    public var kind: Kind
    public var callerPID: Int32
    public init(_ kind: Kind) {
        self.kind = kind
        self.callerPID = getpid()
    }
    public func callAsFunction(_ x: Int) throws -> Int {
        guard getpid() != callerPID else { throw RefusedToCrashHere() }
        var header = [UInt8](repeating: 0, count: 24)
        switch kind {
        case .unknownKind:
            header = [UInt8](repeating: 0xEE, count: 24)
        case .oversized:
            header[0] = 6  // a result frame...
            header[23] = 0x40  // ...of 2^62 bytes
        case .truncated:
            header[0] = 6
            header[16] = 100  // 100 bytes promised, 10 sent, then the worker exits
            header += [UInt8](repeating: 7, count: 10)
        case .duplicateResult:
            usleep(200_000)
            header[0] = 6
            withUnsafeBytes(of: UInt64(x).littleEndian) { header.replaceSubrange(8..<16, with: $0) }
        }
        _ = header.withUnsafeBytes { write(4, $0.baseAddress, $0.count) }
        if kind == .truncated { _exit(0) }
        if kind == .duplicateResult { return x }
        sleep(30)
        return x
    }
}

/// What the initializer put in this worker.
enum WorkerTag {
    static let value = Mutex<String?>(nil)
}

/// An initializer: stores `tag` in the worker; throws for "fail"; exits for "die".
public struct SetWorkerTag: RemoteFunction {
    public var callerPID: Int32
    public init() { callerPID = getpid() }
    public func callAsFunction(_ tag: String) throws -> Bool {
        if tag == "fail" { throw PlainError(reason: "the initializer refuses \"fail\"") }
        if tag == "die" {
            guard getpid() != callerPID else { throw RefusedToCrashHere() }
            exit(3)
        }
        WorkerTag.value.withLock { $0 = tag }
        return true
    }
}

/// Returns what the initializer stored in this worker.
public struct ReadWorkerTag: RemoteFunction {
    public init() {}
    public func callAsFunction(_ x: Int) -> String { WorkerTag.value.withLock { $0 } ?? "none" }
}

/// Spins the CPU for about `milliseconds`, for load without sleeping.
public struct BusyFor: RemoteFunction {
    public init() {}
    public func callAsFunction(_ milliseconds: Int) -> Int {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: .milliseconds(milliseconds))
        var spins = 0
        while clock.now < end { spins &+= 1 }
        return spins
    }
}

/// What ``SpawnBackgroundSleeper`` started.
public struct BackgroundChild: Codable, Sendable {
    /// The child's pid, for the test to kill it.
    public var pid: Int32
    /// The child's descriptors above standard error that are open files of its worker too: what it
    /// inherited from the worker (the pool's pipes and arenas, or anything else the worker held).
    public var descriptors: [Int]
    /// What those are, as `/proc` shows them (`4 -> pipe:[1234]`).
    public var targets: [String]
}

/// Starts `/bin/sleep seconds` in the background from the worker, as `system("sleep 20 &")` does,
/// and returns its pid and the worker's descriptors it inherited; in a worker only. With
/// `leakResultPipe`, it first clears close-on-exec on the worker's result pipe, as a careless task
/// might, so the child holds that pipe open for its whole life.
public struct SpawnBackgroundSleeper: RemoteFunction {
    public var seconds: Int
    public var leakResultPipe: Bool
    public var callerPID: Int32
    public init(seconds: Int, leakResultPipe: Bool = false) {
        self.seconds = seconds
        self.leakResultPipe = leakResultPipe
        self.callerPID = getpid()
    }
    public func callAsFunction(_ x: Int) throws -> BackgroundChild {
        guard getpid() != callerPID else { throw RefusedToCrashHere() }
        if leakResultPipe { _ = fcntl(4, F_SETFD, 0) }
        let arguments = ["/bin/sleep", String(seconds)]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        // posix_spawn returns once the child has run exec, so its inherited descriptors are final.
        let error = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
        guard error == 0 else { throw PlainError(reason: "posix_spawn(/bin/sleep) failed: \(error)") }
        // Compared by what they are: the child's own start-up may have a file or two open.
        let workers = Set(Self.openFiles(of: "self").values)
        let shared = Self.openFiles(of: String(pid)).filter { workers.contains($0.value) }.sorted { $0.key < $1.key }
        return BackgroundChild(pid: pid, descriptors: shared.map(\.key), targets: shared.map { "\($0.key) -> \($0.value)" })
    }

    /// The open descriptors above 2 of a process and what each refers to.
    private static func openFiles(of process: String) -> [Int: String] {
        let directory = "/proc/\(process)/fd"
        var files: [Int: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let fd = Int(name), fd > 2,
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + name) else { continue }
            files[fd] = target
        }
        return files
    }
}

/// Calls `fatalError` with its input as the message, in a worker only.
public struct FatalErrorSaying: RemoteFunction {
    public var callerPID: Int32
    public init() { callerPID = getpid() }
    public func callAsFunction(_ message: String) throws -> Int {
        guard getpid() != callerPID else { throw RefusedToCrashHere() }
        fatalError(message)
    }
}

/// Writes `lines` numbered lines (`line 1` ... `line N`) to standard error, then exits with status
/// 3, in a worker only.
public struct WriteStderrThenExit: RemoteFunction {
    public var callerPID: Int32
    public init() { callerPID = getpid() }
    public func callAsFunction(_ lines: Int) throws -> Int {
        guard getpid() != callerPID else { throw RefusedToCrashHere() }
        for line in 1...max(1, lines) {
            let text = Array("line \(line)\n".utf8)
            _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
        exit(3)
    }
}
