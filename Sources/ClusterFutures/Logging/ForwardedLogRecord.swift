import ClusterFuturesWire
import Logging

/// A log record made in a worker (a process-pool worker or an MPI worker rank) and sent to the
/// pool's process, which logs it into the pool's logger, tagged with where it came from.
///
/// Both pools send it the same way, encoded with the wire format; only the moving of its bytes
/// differs (a ``FrameKind/log`` frame, or a message tagged `PoolTag.log`).
package struct ForwardedLogRecord: Codable, Equatable, Sendable {
    /// A metadata value as it travels: what the worker's handler had, with values that were only
    /// `CustomStringConvertible` turned into their description.
    package indirect enum Value: Codable, Equatable, Sendable {
        case string(String)
        case array([Value])
        case dictionary([String: Value])
    }

    package var level: Logger.Level
    package var message: String
    /// The description of the error logged with the record, if there was one.
    package var error: String?
    /// The handler's metadata, then its metadata provider's, then the record's own (later wins).
    package var metadata: [String: Value]
    /// The label of the worker's `Logger`.
    package var label: String
    package var source: String
    package var file: String
    package var function: String
    package var line: UInt

    /// A record with these fields.
    package init(level: Logger.Level, message: String, error: String? = nil, metadata: [String: Value] = [:],
                 label: String, source: String, file: String, function: String, line: UInt) {
        self.level = level
        self.message = message
        self.error = error
        self.metadata = metadata
        self.label = label
        self.source = source
        self.file = file
        self.function = function
        self.line = line
    }

    /// The record of `event`, logged by a `Logger` labelled `label` whose handler carries `metadata`.
    package init(_ event: LogEvent, label: String, metadata: Logger.Metadata) {
        self.init(level: event.level, message: event.message.description, error: event.error.map { "\($0)" },
                  metadata: metadata.mapValues(Value.init), label: label, source: event.source,
                  file: event.file, function: event.function, line: event.line)
    }

    /// The record, encoded.
    package func encoded() -> [UInt8] {
        do {
            return try WireEncoder().encode(self)
        } catch {
            // Only strings and numbers: it always encodes; if it did not, the record says so.
            let fallback = ForwardedLogRecord(level: level, message: "\(message) (its metadata could not be encoded: \(error))",
                                              label: label, source: source, file: file, function: function, line: line)
            return (try? WireEncoder().encode(fallback)) ?? []
        }
    }

    /// The record `bytes` carry.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/protocolViolation`` when they are not one.
    package init(decoding bytes: [UInt8]) throws(ClusterFuturesError) {
        do {
            self = try WireDecoder().decode(ForwardedLogRecord.self, from: bytes)
        } catch {
            throw ClusterFuturesError(.protocolViolation, "a malformed log record (\(bytes.count) bytes): \(error)")
        }
    }

    /// Logs the record into `logger` (the pool's), with `origin`'s worker, rank, pid and host added
    /// to its metadata (`worker`, `rank`, `pid`, `host`), and the worker's logger's label as `label`
    /// when it differs from `logger`'s. Its level, message, error, source, file, function and line
    /// are the worker's. `logger`'s own level still applies.
    package func log(into logger: Logger, from origin: TaskOrigin) {
        guard logger.logLevel <= level else { return }
        var metadata = Logger.Metadata()
        for (key, value) in self.metadata { metadata[key] = value.metadataValue }
        if let worker = origin.worker { metadata["worker"] = "\(worker)" }
        if let rank = origin.rank { metadata["rank"] = "\(rank)" }
        metadata["pid"] = "\(origin.pid)"
        metadata["host"] = .string(origin.host)
        if label != logger.label { metadata["label"] = .string(label) }
        logger.log(level: level, "\(message)", error: error.map(ForwardedError.init), metadata: metadata,
                   source: source, file: file, function: function, line: line)
    }
}

/// The error of a forwarded record, as its description.
private struct ForwardedError: Error, CustomStringConvertible {
    var description: String
}

extension ForwardedLogRecord.Value {
    /// A metadata value as it travels.
    package init(_ value: Logger.MetadataValue) {
        switch value {
        case .string(let string): self = .string(string)
        case .stringConvertible(let convertible): self = .string(convertible.description)
        case .array(let values): self = .array(values.map(Self.init))
        case .dictionary(let values): self = .dictionary(values.mapValues(Self.init))
        }
    }

    /// The value as a `Logger` takes it.
    var metadataValue: Logger.MetadataValue {
        switch self {
        case .string(let string): .string(string)
        case .array(let values): .array(values.map(\.metadataValue))
        case .dictionary(let values): .dictionary(values.mapValues(\.metadataValue))
        }
    }
}

extension Logger.Level {
    /// The level as one byte on the pools' wires (the order of `allCases`, from `trace`, 0).
    package var wireCode: UInt8 {
        UInt8(Self.allCases.firstIndex(of: self) ?? 0)
    }

    /// The level `code` stands for (see ``wireCode``).
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/protocolViolation`` for a code that stands
    ///   for none.
    package init(wireCode code: UInt64) throws(ClusterFuturesError) {
        guard code < UInt64(Self.allCases.count) else {
            throw ClusterFuturesError(.protocolViolation, "log level \(code) is not one of the \(Self.allCases.count) levels")
        }
        self = Self.allCases[Int(code)]
    }
}
