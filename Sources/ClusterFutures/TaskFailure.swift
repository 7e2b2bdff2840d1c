import ClusterFuturesWire

/// An error thrown by a task's function, as the caller sees it after the trip between processes.
///
/// It names the function, the type and description of the error the function threw, and where the
/// task ran. When the error's type was registered with
/// ``ClusterRuntime/bootstrap(functions:errors:logHandler:)``, the caller gets that error back as
/// itself instead; otherwise a `Codable` error can still be recovered with ``decode(_:)``.
public struct TaskFailure: Error, Sendable, CustomStringConvertible {
    /// The registered name of the function that failed.
    public var functionName: String
    /// The fully qualified type name of the error the function threw, such as `"Demo.MathError"`.
    public var errorType: String
    /// `String(describing:)` of the error the function threw.
    public var errorDescription: String
    /// Where the task ran.
    public var origin: TaskOrigin
    /// The error's own encoding, when its type is `Encodable`.
    public var encodedError: [UInt8]?

    /// Creates a failure report.
    public init(functionName: String, errorType: String, errorDescription: String, origin: TaskOrigin, encodedError: [UInt8]? = nil) {
        self.functionName = functionName
        self.errorType = errorType
        self.errorDescription = errorDescription
        self.origin = origin
        self.encodedError = encodedError
    }

    /// Decodes the function's original error as `type`, or returns nil when it was not encodable or is of
    /// another type.
    public func decode<E: Error & Decodable>(_ type: E.Type) -> E? {
        guard let encodedError, errorType == String(reflecting: type) else { return nil }
        return try? WireDecoder().decode(type, from: encodedError)
    }

    /// `FUNCTION threw TYPE: DESCRIPTION (on ORIGIN)`, such as
    /// `Demo.Parse threw Demo.BadRecord: BadRecord(line: "n/a") (on process executor, worker 1, pid 4817, host node2)`.
    public var description: String {
        "\(functionName) threw \(errorType): \(errorDescription) (on \(origin))"
    }
}
