import ClusterFutures
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
    public enum Kind: String, Codable, Sendable { case unknownKind, oversized, truncated }
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
        }
        _ = header.withUnsafeBytes { write(4, $0.baseAddress, $0.count) }
        if kind == .truncated { _exit(0) }
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
