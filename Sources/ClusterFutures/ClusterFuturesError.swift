/// An error raised by ClusterFutures itself (as opposed to an error thrown by your function).
///
/// Match on ``code`` to tell the cases apart:
///
/// ```swift
/// do {
///     print(try future.result(timeout: .seconds(1)))
/// } catch let error as ClusterFuturesError where error.code == .timedOut {
///     // still running; the future is unchanged
/// }
/// ```
public struct ClusterFuturesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable name of the code, such as `"timedOut"`.
        public let name: String

        init(_ name: String) { self.name = name }

        /// A blocking call did not finish within its timeout. The future it waited on is unchanged.
        public static let timedOut = Code("timedOut")
        /// `submit` or `map` was called after ``Executor/shutdown(wait:cancelFutures:)``.
        public static let executorShutDown = Code("executorShutDown")
        /// The function was not registered with
        /// ``ClusterRuntime/bootstrap(functions:errors:logHandler:)`` (or
        /// ``FunctionRegistry/register(_:)``), so no worker could run it.
        public static let unregisteredFunction = Code("unregisteredFunction")
        /// Two different types asked for the same function name.
        public static let duplicateFunctionName = Code("duplicateFunctionName")
        /// An argument was out of range, such as a `chunkSize` below 1.
        public static let invalidArgument = Code("invalidArgument")
        /// An input, output or error could not be encoded for the trip between processes.
        public static let encodingFailed = Code("encodingFailed")
        /// An input, output or error could not be decoded after the trip between processes.
        public static let decodingFailed = Code("decodingFailed")
        /// A message between processes was corrupt or did not follow the protocol.
        public static let protocolViolation = Code("protocolViolation")
        /// The executor can no longer run tasks, for example because its initializer failed.
        public static let brokenExecutor = Code("brokenExecutor")
        /// The worker running the task stopped (crashed, was killed or exited) before answering.
        public static let workerLost = Code("workerLost")

        /// The code's ``name``, such as `timedOut`.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence for a person, naming what failed and why.
    public var message: String

    /// Creates an error with a code and a message for a person.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `ClusterFuturesError.CODE: MESSAGE`, such as
    /// `ClusterFuturesError.invalidArgument: map: chunkSize must be at least 1, not 0`.
    public var description: String { "ClusterFuturesError.\(code): \(message)" }
}
