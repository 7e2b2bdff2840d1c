import ClusterFuturesWire

/// The bytes sent to whoever runs a call: the function value and a batch of inputs.
///
/// Layout: `len function`, `count`, then `count` times `len input`; every `len` and `count` is a
/// little-endian `UInt64`, every value is `WireEncoder`'s encoding. Each input is encoded on its own
/// so that one input that cannot be encoded or decoded fails only its own item.
struct CallRequest: Sendable {
    /// The encoded request.
    var bytes: [UInt8]
    /// Positions in the caller's batch of the inputs that are in ``bytes``, in order.
    var sentIndices: [Int]
    /// Inputs that could not be encoded, by their position in the caller's batch.
    var encodingFailures: [Int: ClusterFuturesError]
    /// The number of inputs in the caller's batch.
    var batchCount: Int

    /// Encodes `function` and `inputs`.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/encodingFailed`` when the function value
    ///   itself cannot be encoded; a failing input only marks that input.
    init<F: RemoteFunction>(function: F, inputs: some Collection<F.Input>) throws(ClusterFuturesError) {
        let encoder = WireEncoder()
        var writer = ByteWriter(reservingCapacity: 32 + inputs.count * 16)
        do {
            try writer.appendLengthPrefixed { try encoder.encode(function, appendingTo: &$0) }
        } catch {
            throw ClusterFuturesError(.encodingFailed, "the function value \(F.name) could not be encoded: \(error)")
        }
        let countOffset = writer.bytes.count
        writer.append(UInt64(0))
        var sentIndices: [Int] = []
        sentIndices.reserveCapacity(inputs.count)
        var failures: [Int: ClusterFuturesError] = [:]
        for (index, input) in inputs.enumerated() {
            do {
                try writer.appendLengthPrefixed { try encoder.encode(input, appendingTo: &$0) }
                sentIndices.append(index)
            } catch {
                failures[index] = ClusterFuturesError(.encodingFailed,
                    "\(F.name): input \(index) of type \(F.Input.self) could not be encoded: \(error)")
            }
        }
        withUnsafeBytes(of: UInt64(sentIndices.count).littleEndian) { raw in
            for (offset, byte) in raw.enumerated() { writer.bytes[countOffset + offset] = byte }
        }
        self.bytes = writer.bytes
        self.sentIndices = sentIndices
        self.encodingFailures = failures
        self.batchCount = inputs.count
    }

    /// Runs a request for `F` in this process and returns the encoded ``CallReply``. Never throws:
    /// every failure, down to a corrupt request, is reported in the reply.
    static func serve<F: RemoteFunction>(_ type: F.Type, request: ArraySlice<UInt8>) -> [UInt8] {
        let decoder = WireDecoder()
        var reader = ByteReader(request)
        var reply = CallReply.Writer()
        do {
            let functionBytes = try reader.readLengthPrefixed()
            let function: F
            do {
                function = try decoder.decode(F.self, from: functionBytes)
            } catch {
                throw ClusterFuturesError(.decodingFailed, "the function value could not be decoded: \(error)")
            }
            let count = try reader.readCount(minimumItemSize: 8)
            reply.begin(count: count)
            for index in 0..<count {
                let inputBytes = try reader.readLengthPrefixed()
                let input: F.Input
                do {
                    input = try decoder.decode(F.Input.self, from: inputBytes)
                } catch {
                    reply.appendFailure(ErrorReport(ClusterFuturesError(.decodingFailed,
                        "input \(index) could not be decoded as \(F.Input.self): \(error)")))
                    continue
                }
                let output: F.Output
                do {
                    output = try function(input)
                } catch {
                    reply.appendFailure(ErrorReport(error))
                    continue
                }
                reply.appendSuccess(output)
            }
            guard reader.isAtEnd else {
                throw ClusterFuturesError(.protocolViolation, "corrupt request: \(reader.remaining) bytes after the last input")
            }
            return reply.finish()
        } catch {
            return CallReply.callFailure(ErrorReport(error))
        }
    }
}
