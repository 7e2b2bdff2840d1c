/// A unit of work that can run in another process: a `Codable` value with a `Codable` input and output.
///
/// Declare a function as a type, register it once at start-up, and submit it to any ``Executor``:
///
/// ```swift
/// struct Square: RemoteFunction {
///     func callAsFunction(_ x: Int) -> Int { x * x }
/// }
/// ```
///
/// ```swift
/// let future = try executor.submit(Square(), 7)
/// print(try future.result())   // 49
/// ```
///
/// Because a function is a value of a `Codable` type, and its input and output are `Codable`, only
/// things that can cross a process boundary can be submitted: a closure, which captures state no
/// other process can see, does not compile. A function's stored properties travel with each call,
/// which is how to bind parameters (`Scale(factor: 2)`).
///
/// A function that throws one `Codable` error type says so with typed throws, and the caller gets
/// that error back as itself from any executor, with nothing else to register:
///
/// ```swift
/// struct ParseReading: RemoteFunction {
///     struct BadRecord: Error, Codable { var line: String }
///     func callAsFunction(_ line: String) throws(BadRecord) -> Double {
///         guard let value = Double(line) else { throw BadRecord(line: line) }
///         return value
///     }
/// }
/// ```
///
/// A function whose body is `async` (I/O-bound work such as fetching pages) adopts
/// ``AsyncRemoteFunction`` instead.
public protocol RemoteFunction: Codable, Sendable {
    /// The value a call takes.
    associatedtype Input: Codable & Sendable
    /// The value a call returns.
    associatedtype Output: Codable & Sendable
    /// The error a call throws: inferred from `callAsFunction`. `Never` for a function that does
    /// not throw, `any Error` for one with untyped `throws`. When it is a `Codable` type, the
    /// caller gets it back as itself (see ``ClusterRuntime/bootstrap(functions:errors:logHandler:)``).
    associatedtype Failure: Error = any Error

    /// The name the function is sent by. It must be the same in every process and unique among the
    /// registered functions. The default is the module-qualified type name, such as `"Demo.Square"`.
    static var name: String { get }

    /// Runs the function on one input. Runs in whichever process the executor chooses.
    func callAsFunction(_ input: Input) throws(Failure) -> Output

    /// Runs the function on every input of a batch at once, or returns nil to have them run one
    /// after another. Not for calling: ``AsyncRemoteFunction`` implements it to run a batch's calls
    /// concurrently; every other function keeps the default, nil.
    func _callConcurrently(_ inputs: [Input]) -> [Result<Output, Failure>]?
}

extension RemoteFunction {
    /// The module-qualified type name, such as `"Demo.Square"`.
    public static var name: String { String(reflecting: Self.self) }

    /// Nil: a batch's calls run one after another.
    public func _callConcurrently(_ inputs: [Input]) -> [Result<Output, Failure>]? { nil }
}
