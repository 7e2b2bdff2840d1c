import ClusterFuturesWire

/// The bytes that come back from a call: one outcome for each input that was sent, or one failure
/// for the whole call.
///
/// Layout: a status byte. `0`: `count`, then `count` times an outcome byte (`0` value, `1` error) and
/// `len bytes`, the output or an ``ErrorReport``. `1`: `len bytes` of one ``ErrorReport``.
/// `2` (every call succeeded): `count`, then `len bytes`, the whole `[Output]` as one message.
/// `3` (the one call of a single request succeeded): `len bytes`, its output.
enum CallReply {
    private static let itemsStatus: UInt8 = 0
    private static let callFailureStatus: UInt8 = 1
    private static let packedStatus: UInt8 = 2
    private static let singleStatus: UInt8 = 3
    private static let valueOutcome: UInt8 = 0
    private static let errorOutcome: UInt8 = 1

    /// Builds a reply item by item.
    struct Writer {
        private var writer = ByteWriter(reservingCapacity: 64)
        private let encoder = WireEncoder()

        mutating func begin(count: Int) {
            writer.append(CallReply.itemsStatus)
            writer.append(UInt64(count))
        }

        mutating func appendSuccess<Output: Encodable>(_ output: Output) {
            let mark = writer.bytes.count
            writer.append(CallReply.valueOutcome)
            do {
                try writer.appendLengthPrefixed { try encoder.encode(output, appendingTo: &$0) }
            } catch {
                writer.bytes.removeSubrange(mark...)
                appendFailure(ErrorReport(ClusterFuturesError(.encodingFailed,
                    "the output of type \(Output.self) could not be encoded: \(error)")))
            }
        }

        mutating func appendFailure(_ report: ErrorReport) {
            writer.append(CallReply.errorOutcome)
            writer.appendLengthPrefixed(CallReply.encode(report))
        }

        func finish() -> [UInt8] { writer.bytes }
    }

    /// A reply carrying every output as one message, or nil when they do not encode together.
    static func packed<Output: Encodable>(_ outputs: [Output]) -> [UInt8]? {
        var writer = ByteWriter(reservingCapacity: 32 + outputs.count * 8)
        writer.append(packedStatus)
        writer.append(UInt64(outputs.count))
        do {
            try writer.appendLengthPrefixed { try WireEncoder().encode(outputs, appendingTo: &$0) }
        } catch {
            return nil
        }
        return writer.bytes
    }

    /// The reply to a single request that succeeded, or nil when the output does not encode. With
    /// `outOfBandMinimum`, the output's large arrays go in the payload's buffers.
    static func single<Output: Encodable>(_ output: Output, outOfBandMinimum: Int? = nil) -> Payload? {
        var writer = ByteWriter(reservingCapacity: 32)
        writer.append(singleStatus)
        var buffers: [WireBuffer] = []
        do {
            try writer.appendLengthPrefixed(encoding: output, outOfBandMinimum: outOfBandMinimum, buffers: &buffers)
        } catch {
            return nil
        }
        return Payload(bytes: writer.bytes, buffers: buffers)
    }

    /// A reply that fails every item of the call with one error.
    static func callFailure(_ report: ErrorReport) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(callFailureStatus)
        writer.appendLengthPrefixed(encode(report))
        return writer.bytes
    }

    private static func encode(_ report: ErrorReport) -> [UInt8] {
        if let bytes = try? WireEncoder().encode(report) { return bytes }
        // A report is strings and bytes; if even that fails, send what surely encodes.
        let fallback = ErrorReport(ClusterFuturesError(.encodingFailed, "an error report could not be encoded"))
        return (try? WireEncoder().encode(fallback)) ?? []
    }

    /// The description of the first failure in a reply, or nil when every item succeeded.
    static func firstFailure(in reply: [UInt8]) -> String? {
        var reader = ByteReader(reply)
        do {
            switch try reader.readByte() {
            case itemsStatus:
                let count = try reader.readCount(minimumItemSize: 9)
                for _ in 0..<count {
                    let outcome = try reader.readByte()
                    let bytes = try reader.readLengthPrefixed()
                    if outcome == errorOutcome { return describe(bytes) }
                }
                return nil
            case callFailureStatus:
                return describe(try reader.readLengthPrefixed())
            case packedStatus, singleStatus:
                return nil
            default:
                return "corrupt reply"
            }
        } catch {
            return "corrupt reply: \(error)"
        }
    }

    private static func describe(_ report: ArraySlice<UInt8>) -> String {
        guard let report = try? WireDecoder().decode(ErrorReport.self, from: report) else { return "an unreadable error" }
        return "\(report.typeName): \(report.description)"
    }

    /// Decodes a reply to a request into one result for each input of the caller's batch, merging the
    /// inputs that failed to encode before they were sent. Never throws: a corrupt reply fails every item.
    static func decode<Output: Decodable>(
        _ reply: [UInt8], request: CallRequest, as type: Output.Type,
        functionName: String, origin: TaskOrigin, registry: FunctionRegistry
    ) -> BatchResults<Output> {
        let sent = decodeSent(reply, expecting: request.sentCount, as: type,
                              functionName: functionName, origin: origin, registry: registry)
        guard let sentIndices = request.sentIndices, sentIndices.count != request.batchCount else { return sent }
        var results = [Result<Output, any Error>]()
        results.reserveCapacity(request.batchCount)
        var next = 0
        for index in 0..<request.batchCount {
            if let failure = request.encodingFailures[index] {
                results.append(.failure(failure))
            } else if next < sent.count {
                results.append(sent[next])
                next += 1
            }
        }
        return BatchResults(results)
    }

    /// Decodes the reply to a single request (``CallRequest/init(function:input:)``).
    ///
    /// - Throws: the task's error; ``ClusterFuturesError/Code-swift.struct/decodingFailed`` when the
    ///   output does not decode; ``ClusterFuturesError/Code-swift.struct/protocolViolation`` when the
    ///   reply is corrupt.
    static func decodeSingle<Output: Decodable & Sendable>(
        _ reply: [UInt8], buffers: [WireBuffer] = [], as type: Output.Type,
        functionName: String, origin: TaskOrigin, registry: FunctionRegistry
    ) throws -> Output {
        // Throws rather than returning a `Result`: this runs unspecialized, where every type built
        // from `Output` (`Result<Output, _>`, `Output?`) is looked up at run time on each call.
        guard reply.first == singleStatus else {
            return try decodeOneItem(reply, as: type, functionName: functionName, origin: origin, registry: registry)
        }
        var reader = ByteReader(reply)
        let bytes: ArraySlice<UInt8>
        do {
            _ = try reader.readByte()
            bytes = try reader.readLengthPrefixed()
            guard reader.isAtEnd else {
                throw ClusterFuturesError(.protocolViolation, "corrupt reply: \(reader.remaining) trailing bytes")
            }
        } catch {
            throw ClusterFuturesError(.protocolViolation, "\(functionName): unusable reply from \(origin): \(error)")
        }
        do {
            return try WireDecoder().decode(type, from: bytes, outOfBand: buffers)
        } catch {
            throw ClusterFuturesError(.decodingFailed,
                "\(functionName): the output from \(origin) could not be decoded as \(type): \(error)")
        }
    }

    /// The result of a single request that was answered as a batch of one (a failure, or an output
    /// that could not be encoded on its own).
    private static func decodeOneItem<Output: Decodable & Sendable>(
        _ reply: [UInt8], as type: Output.Type, functionName: String, origin: TaskOrigin, registry: FunctionRegistry
    ) throws -> Output {
        let results = decodeSent(reply, expecting: 1, as: type, functionName: functionName, origin: origin, registry: registry)
        guard let result = results.first else {
            throw ClusterFuturesError(.protocolViolation, "\(functionName): an empty reply from \(origin)")
        }
        return try result.get()
    }

    private static func decodeSent<Output: Decodable>(
        _ reply: [UInt8], expecting expected: Int, as type: Output.Type,
        functionName: String, origin: TaskOrigin, registry: FunctionRegistry
    ) -> BatchResults<Output> {
        let decoder = WireDecoder()
        func report(_ bytes: ArraySlice<UInt8>) -> any Error {
            do {
                return try decoder.decode(ErrorReport.self, from: bytes)
                    .makeError(functionName: functionName, origin: origin, registry: registry)
            } catch {
                return ClusterFuturesError(.protocolViolation,
                    "\(functionName): an error report from \(origin) could not be decoded: \(error)")
            }
        }
        var reader = ByteReader(reply)
        do {
            switch try reader.readByte() {
            case packedStatus:
                let count = try reader.readCount(minimumItemSize: 0)
                guard count == expected else {
                    throw ClusterFuturesError(.protocolViolation,
                        "the reply from \(origin) has \(count) results for \(expected) inputs")
                }
                let packed = try reader.readLengthPrefixed()
                guard reader.isAtEnd else {
                    throw ClusterFuturesError(.protocolViolation, "corrupt reply: \(reader.remaining) trailing bytes")
                }
                let values: [Output]
                do {
                    values = try decoder.decode([Output].self, from: packed)
                } catch {
                    let failure = ClusterFuturesError(.decodingFailed,
                        "\(functionName): the outputs from \(origin) could not be decoded as [\(type)]: \(error)")
                    return BatchResults(Array(repeating: .failure(failure), count: expected))
                }
                guard values.count == expected else {
                    throw ClusterFuturesError(.protocolViolation,
                        "the reply from \(origin) has \(values.count) values for \(expected) inputs")
                }
                return BatchResults(values: values)
            case itemsStatus:
                let count = try reader.readCount(minimumItemSize: 9)
                guard count == expected else {
                    throw ClusterFuturesError(.protocolViolation,
                        "the reply from \(origin) has \(count) results for \(expected) inputs")
                }
                var results = [Result<Output, any Error>]()
                results.reserveCapacity(count)
                for _ in 0..<count {
                    let outcome = try reader.readByte()
                    let bytes = try reader.readLengthPrefixed()
                    switch outcome {
                    case valueOutcome:
                        do {
                            results.append(.success(try decoder.decode(type, from: bytes)))
                        } catch {
                            results.append(.failure(ClusterFuturesError(.decodingFailed,
                                "\(functionName): the output from \(origin) could not be decoded as \(type): \(error)")))
                        }
                    case errorOutcome:
                        results.append(.failure(report(bytes)))
                    default:
                        throw ClusterFuturesError(.protocolViolation, "corrupt reply: unknown outcome \(outcome)")
                    }
                }
                guard reader.isAtEnd else {
                    throw ClusterFuturesError(.protocolViolation, "corrupt reply: \(reader.remaining) trailing bytes")
                }
                return BatchResults(results)
            case callFailureStatus:
                let error = report(try reader.readLengthPrefixed())
                return BatchResults(Array(repeating: .failure(error), count: expected))
            case let status:
                throw ClusterFuturesError(.protocolViolation, "corrupt reply: unknown status \(status)")
            }
        } catch {
            let failure = ClusterFuturesError(.protocolViolation, "\(functionName): unusable reply from \(origin): \(error)")
            return BatchResults(Array(repeating: .failure(failure), count: expected))
        }
    }
}
