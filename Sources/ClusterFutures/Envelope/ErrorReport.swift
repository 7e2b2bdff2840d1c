import ClusterFuturesWire

/// An error as it travels from the process that ran a task back to the caller.
struct ErrorReport: Codable, Sendable {
    /// The fully qualified type name of the error.
    var typeName: String
    /// `String(describing:)` of the error.
    var description: String
    /// The error's own encoding, when its type is `Encodable`.
    var encoded: [UInt8]?
    /// Set when the error is ClusterFutures' own, so the caller can rebuild it with its code.
    var code: String?

    /// Captures a thrown error.
    init(_ error: any Error) {
        if let own = error as? ClusterFuturesError {
            self.init(own)
        } else {
            let encoded = (error as? any Encodable).flatMap { try? WireEncoder().encode($0) }
            self.init(typeName: String(reflecting: type(of: error)), description: String(describing: error),
                      encoded: encoded, code: nil)
        }
    }

    init(typeName: String, description: String, encoded: [UInt8]?, code: String?) {
        self.typeName = typeName
        self.description = description
        self.encoded = encoded
        self.code = code
    }

    /// Captures one of ClusterFutures' own errors.
    init(_ error: ClusterFuturesError) {
        self.init(typeName: String(reflecting: ClusterFuturesError.self), description: error.message,
                  encoded: nil, code: error.code.name)
    }

    /// The error the caller sees: ClusterFutures' own error with its code, a registered error type
    /// as itself, or a ``TaskFailure`` describing the original.
    func makeError(functionName: String, origin: TaskOrigin, registry: FunctionRegistry) -> any Error {
        if let code {
            return ClusterFuturesError(ClusterFuturesError.Code(code), "\(functionName): \(description) (on \(origin))")
        }
        if let encoded, let decoded = registry.decodeError(typeName: typeName, from: encoded) {
            return decoded
        }
        return TaskFailure(functionName: functionName, errorType: typeName, errorDescription: description,
                           origin: origin, encodedError: encoded)
    }
}
