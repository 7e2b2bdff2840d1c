import ClusterFutures
import Synchronization

/// A `Codable` error that no test lists in `bootstrap(errors:)`: it comes back as itself only
/// because ``ParseDigits`` declares it with typed throws.
public struct NotADigit: Error, Codable, Hashable {
    public var character: String
    public var position: Int
    public init(character: String, position: Int) {
        self.character = character
        self.position = position
    }
}

/// Reads a string of decimal digits; throws ``NotADigit`` (declared with typed throws) at the
/// first other character.
public struct ParseDigits: RemoteFunction {
    public init() {}
    public func callAsFunction(_ text: String) throws(NotADigit) -> Int {
        var value = 0
        for (position, character) in text.enumerated() {
            guard let digit = character.wholeNumberValue, character.isASCII else {
                throw NotADigit(character: String(character), position: position)
            }
            value = value * 10 + digit
        }
        return value
    }
}

/// An error ``SleepAndCountInFlight`` declares with typed throws.
public struct NegativeDelay: Error, Codable, Hashable {
    public var milliseconds: Int
    public init(milliseconds: Int) { self.milliseconds = milliseconds }
}

/// An `async` function: sleeps `milliseconds` with `Task.sleep` and returns how many of its calls
/// were in flight in this process at most while it slept. Up to 8 run at once on a worker.
public struct SleepAndCountInFlight: AsyncRemoteFunction {
    public static var concurrentCallsPerWorker: Int { 8 }

    public init() {}

    public func callAsFunction(_ milliseconds: Int) async throws(NegativeDelay) -> Int {
        guard milliseconds >= 0 else { throw NegativeDelay(milliseconds: milliseconds) }
        let token = InFlight.enter()
        defer { InFlight.leave() }
        try? await Task.sleep(for: .milliseconds(milliseconds))
        return InFlight.mostSince(token)
    }
}

/// An `async` function with the default of one call at a time: `Task.yield`s, then doubles.
public struct AsyncDouble: AsyncRemoteFunction {
    public init() {}
    public func callAsFunction(_ x: Int) async -> Int {
        await Task.yield()
        return 2 * x
    }
}

/// Calls of ``SleepAndCountInFlight`` in flight in this process, and the most seen.
enum InFlight {
    private struct State {
        var now = 0
        /// The most in flight since each call started, by the call's token.
        var most: [Int: Int] = [:]
        var nextToken = 0
    }

    private static let state = Mutex(State())

    static func enter() -> Int {
        state.withLock { state in
            state.now += 1
            let token = state.nextToken
            state.nextToken += 1
            state.most[token] = state.now
            for key in state.most.keys { state.most[key] = max(state.most[key] ?? 0, state.now) }
            return token
        }
    }

    static func leave() {
        state.withLock { $0.now -= 1 }
    }

    static func mostSince(_ token: Int) -> Int {
        state.withLock { $0.most.removeValue(forKey: token) ?? 0 }
    }
}
