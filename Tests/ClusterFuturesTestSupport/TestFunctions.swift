import ClusterFutures
import Logging
import Foundation
import Dispatch
import Synchronization

/// Functions the tests submit, each with an effect the tests can observe.

/// Squares an integer.
public struct Square: RemoteFunction {
    public init() {}
    public func callAsFunction(_ x: Int) -> Int { x * x }
}

/// Returns its input.
public struct Echo: RemoteFunction {
    public init() {}
    public func callAsFunction(_ bytes: [UInt8]) -> [UInt8] { bytes }
}

/// A record with small fields and a large array, as simulations send.
public struct Measurements: Codable, Equatable, Sendable {
    public var label: String
    public var samples: [Double]
    public var flags: [Int8]
    public init(label: String, samples: [Double], flags: [Int8]) {
        self.label = label
        self.samples = samples
        self.flags = flags
    }
}

/// Doubles the samples, counts them into the label, and reverses the flags.
public struct Summarize: RemoteFunction {
    public init() {}
    public func callAsFunction(_ input: Measurements) -> Measurements {
        Measurements(label: "\(input.label): \(input.samples.count)", samples: input.samples.map { $0 * 2 },
                     flags: input.flags.reversed())
    }
}

/// Multiplies by a factor carried in the function value.
public struct Scale: RemoteFunction {
    public var factor: Double
    public init(factor: Double) { self.factor = factor }
    public func callAsFunction(_ x: Double) -> Double { x * factor }
}

/// An error type that is not `Codable`: it comes back as a ``TaskFailure``.
public struct PlainError: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "plain error: \(reason)" }
}

/// A `Codable` error type that tests register, so it comes back as itself.
public struct RegisteredError: Error, Codable, Hashable {
    public var code: Int
    public var detail: String
    public init(code: Int, detail: String) {
        self.code = code
        self.detail = detail
    }
}

/// A `Codable` error type that is never registered: recoverable with ``TaskFailure/decode(_:)``.
public struct UnregisteredCodableError: Error, Codable, Hashable {
    public var value: Int
    public init(value: Int) { self.value = value }
}

/// Throws for inputs in `failing`, with the kind of error `kind` names; squares the others.
public struct FailOn: RemoteFunction {
    public enum Kind: String, Codable, Sendable { case plain, registered, unregisteredCodable }
    public var failing: Set<Int>
    public var kind: Kind
    public init(_ failing: Set<Int>, kind: Kind = .plain) {
        self.failing = failing
        self.kind = kind
    }
    public func callAsFunction(_ x: Int) throws -> Int {
        guard failing.contains(x) else { return x * x }
        switch kind {
        case .plain: throw PlainError(reason: "input \(x)")
        case .registered: throw RegisteredError(code: x, detail: "input \(x) is refused")
        case .unregisteredCodable: throw UnregisteredCodableError(value: x)
        }
    }
}

/// Counts its calls under a token, so each test has a counter of its own.
public struct CountCalls: RemoteFunction {
    public var token: String
    public init(token: String) { self.token = token }
    public func callAsFunction(_ x: Int) -> Int {
        CallCounter.increment(token)
        return x
    }
}

/// Per-token call counts.
public enum CallCounter {
    private static let counts = Mutex<[String: Int]>([:])

    public static func increment(_ token: String) { counts.withLock { $0[token, default: 0] += 1 } }

    public static func count(_ token: String) -> Int { counts.withLock { $0[token] ?? 0 } }
}

/// Blocks until the gate named `gate` is opened, reporting when it has started.
public struct WaitAtGate: RemoteFunction {
    public var gate: String
    public init(gate: String) { self.gate = gate }
    public func callAsFunction(_ x: Int) -> Int {
        Gates.gate(gate).arrive()
        return x
    }
}

/// Named gates a task can wait at while a test looks at it.
public enum Gates {
    /// A task has arrived when ``arrived`` is signalled; it leaves when the gate is ``open()``ed.
    public final class Gate: Sendable {
        let arrivals = DispatchSemaphore(value: 0)
        let openings = DispatchSemaphore(value: 0)

        func arrive() {
            arrivals.signal()
            openings.wait()
        }

        /// Waits until a task has arrived; false after `seconds`.
        public func waitForArrival(seconds: Double = 10) -> Bool {
            arrivals.wait(timeout: .now() + seconds) == .success
        }

        /// Lets one waiting task go.
        public func open() { openings.signal() }
    }

    private static let gates = Mutex<[String: Gate]>([:])

    public static func gate(_ name: String) -> Gate {
        gates.withLock { gates in
            if let gate = gates[name] { return gate }
            let gate = Gate()
            gates[name] = gate
            return gate
        }
    }
}

/// Sleeps, then returns its input.
public struct SleepThenReturn: RemoteFunction {
    public var milliseconds: Int
    public init(milliseconds: Int) { self.milliseconds = milliseconds }
    public func callAsFunction(_ x: Int) -> Int {
        usleepMilliseconds(milliseconds)
        return x
    }
}

func usleepMilliseconds(_ milliseconds: Int) {
    let semaphore = DispatchSemaphore(value: 0)
    _ = semaphore.wait(timeout: .now() + .milliseconds(milliseconds))
}

/// A value whose encoding fails when `poisoned`, to test inputs and outputs that cannot travel.
public struct Fragile: Codable, Sendable, Hashable {
    public var value: Int
    public var poisoned: Bool
    public init(value: Int, poisoned: Bool = false) {
        self.value = value
        self.poisoned = poisoned
    }
    public func encode(to encoder: any Encoder) throws {
        if poisoned {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "poisoned value \(value)"))
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value, forKey: .value)
        try container.encode(poisoned, forKey: .poisoned)
    }
}

/// Passes a ``Fragile`` through, poisoning the output when `poisonOutput` holds.
public struct PassFragile: RemoteFunction {
    public var poisonOutput: Bool
    public init(poisonOutput: Bool = false) { self.poisonOutput = poisonOutput }
    public func callAsFunction(_ x: Fragile) -> Fragile { Fragile(value: x.value, poisoned: poisonOutput) }
}

/// A function that is deliberately never registered.
public struct NeverRegistered: RemoteFunction {
    public init() {}
    public func callAsFunction(_ x: Int) -> Int { x }
}

/// Submits to an inline executor from inside a task.
public struct NestedSquare: RemoteFunction {
    public init() {}
    public func callAsFunction(_ x: Int) throws -> Int {
        let executor = InlineDummyExecutor()
        return try executor.submit(Square(), x).result()
    }
}

/// Sleeps `x` milliseconds (so that each worker takes one of a round), then returns the CPUs the
/// worker may run on, from `Cpus_allowed_list` in `/proc/self/status` (`0-1`, `2`, `0,2-3`).
public struct AllowedCPUs: RemoteFunction {
    public init() {}
    public func callAsFunction(_ x: Int) -> String {
        usleepMilliseconds(x)
        return AllowedCPUs.ofThisProcess
    }

    /// The calling process's `Cpus_allowed_list`, or "?" where there is none.
    public static var ofThisProcess: String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "?" }
        let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
        return line.map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) } ?? "?"
    }

    /// The CPU numbers in a list such as `0-1,4`, lowest first; empty for one it cannot read.
    public static func numbers(in list: String) -> [Int] {
        var numbers: [Int] = []
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            guard let first = bounds.first, let last = bounds.last, first <= last else { return [] }
            numbers += Array(first...last)
        }
        return numbers
    }
}

public enum TestFunctions {
    /// Every function above but ``NeverRegistered``.
    public static let all: [any RemoteFunction.Type] = [
        Square.self, Echo.self, Scale.self, FailOn.self, CountCalls.self, WaitAtGate.self,
        SleepThenReturn.self, PassFragile.self, NestedSquare.self,
        WorkerPID.self, Crash.self, SquareOrCrash.self, CorruptChannel.self, SetWorkerTag.self,
        ReadWorkerTag.self, BusyFor.self, Summarize.self, SpawnBackgroundSleeper.self, FatalErrorSaying.self,
        WriteStderrThenExit.self, SleepMicroseconds.self, AppendLine.self, AllowedCPUs.self,
        ParseDigits.self, SleepAndCountInFlight.self, AsyncDouble.self,
        LogAtEveryLevel.self, LogFromThreads.self, LogThenWaitForFile.self,
    ]

    /// Registers the test functions and ``RegisteredError`` in the shared registry (idempotent),
    /// and hands `logHandler`, if any, to ClusterFutures (the first one given is kept).
    public static func register(logHandler: (@Sendable (String) -> any LogHandler)? = nil) throws {
        try ClusterRuntime.bootstrap(functions: all, errors: [RegisteredError.self], logHandler: logHandler)
    }
}
