import ClusterFuturesWire

/// The bytes sent to whoever runs a call: the function value and one input or a batch of inputs.
///
/// Layout: `len function`, then a mode byte. Mode `single` (2): `len input`, one input as one
/// `WireEncoder` message, answered with a single-value ``CallReply``. Mode `packed` (1): `count`,
/// then `len inputs`, the whole `[Input]` as one message (numeric arrays travel as one copy). Mode
/// `items` (0): `count`, then `count` times `len input`, each input encoded on its own, so that one
/// input that cannot be encoded or decoded fails only its own item; a batch is sent this way only
/// when packing it failed. Every `len` and `count` is a little-endian `UInt64`.
struct CallRequest: Sendable {
    static let itemsMode: UInt8 = 0
    static let packedMode: UInt8 = 1
    static let singleMode: UInt8 = 2

    /// The encoded request.
    var bytes: [UInt8]
    /// The input's arrays that travel out of band (see ``init(function:input:outOfBandMinimum:)``).
    var buffers: [WireBuffer] = []
    /// Positions in the caller's batch of the inputs that are in ``bytes``, in order; nil when all are.
    var sentIndices: [Int]?
    /// Inputs that could not be encoded, by their position in the caller's batch.
    var encodingFailures: [Int: ClusterFuturesError]
    /// The number of inputs in the caller's batch.
    var batchCount: Int

    /// How many inputs are in the request.
    var sentCount: Int { sentIndices?.count ?? batchCount }

    /// Encodes `function` and one input: the request of `submit(_:_:)`, answered by one value.
    /// With `outOfBandMinimum`, the input's arrays of trivial numbers of at least that many bytes
    /// are left out of ``bytes`` and put in ``buffers``, for a transport that sends them as they are.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/encodingFailed`` when the function value
    ///   cannot be encoded; an input that cannot be encoded is reported in ``encodingFailures``.
    init<F: RemoteFunction>(
        function: F, input: F.Input, outOfBandMinimum: Int? = nil, functions: EncodedFunctionCache? = nil
    ) throws(ClusterFuturesError) {
        var writer = ByteWriter(reservingCapacity: 48)
        try Self.appendFunction(function, to: &writer, functions: functions)
        batchCount = 1
        sentIndices = nil
        encodingFailures = [:]
        writer.append(Self.singleMode)
        var buffers: [WireBuffer] = []
        do {
            try writer.appendLengthPrefixed(encoding: input, outOfBandMinimum: outOfBandMinimum, buffers: &buffers)
            self.buffers = buffers
        } catch {
            encodingFailures[0] = ClusterFuturesError(.encodingFailed,
                "\(F.name): the input of type \(F.Input.self) could not be encoded: \(error)")
        }
        bytes = writer.bytes
    }

    /// Appends `len function`.
    private static func appendFunction<F: RemoteFunction>(
        _ function: F, to writer: inout ByteWriter, functions: EncodedFunctionCache? = nil
    ) throws(ClusterFuturesError) {
        do {
            try writer.appendLengthPrefixed { bytes in
                if let functions {
                    try functions.encode(function, appendingTo: &bytes)
                } else {
                    try WireEncoder().encode(function, appendingTo: &bytes)
                }
            }
        } catch {
            throw ClusterFuturesError(.encodingFailed, "the function value \(F.name) could not be encoded: \(error)")
        }
    }

    /// Encodes `function` and `inputs`.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/encodingFailed`` when the function value
    ///   itself cannot be encoded; a failing input only marks that input.
    init<F: RemoteFunction>(function: F, inputs: [F.Input]) throws(ClusterFuturesError) {
        let encoder = WireEncoder()
        var writer = ByteWriter(reservingCapacity: 48 + inputs.count * 16)
        try Self.appendFunction(function, to: &writer)
        batchCount = inputs.count
        encodingFailures = [:]
        sentIndices = nil
        let modeOffset = writer.bytes.count
        writer.append(Self.packedMode)
        writer.append(UInt64(inputs.count))
        do {
            try writer.appendLengthPrefixed { try encoder.encode(inputs, appendingTo: &$0) }
            bytes = writer.bytes
            return
        } catch {
            // One input does not encode: send the others one by one.
            writer.bytes.removeSubrange(modeOffset...)
        }
        writer.append(Self.itemsMode)
        let countOffset = writer.bytes.count
        writer.append(UInt64(0))
        var sent: [Int] = []
        sent.reserveCapacity(inputs.count)
        for index in inputs.indices {
            do {
                try writer.appendLengthPrefixed { try encoder.encode(inputs[index], appendingTo: &$0) }
                sent.append(index)
            } catch {
                encodingFailures[index] = ClusterFuturesError(.encodingFailed,
                    "\(F.name): input \(index) of type \(F.Input.self) could not be encoded: \(error)")
            }
        }
        withUnsafeBytes(of: UInt64(sent.count).littleEndian) { raw in
            for (offset, byte) in raw.enumerated() { writer.bytes[countOffset + offset] = byte }
        }
        bytes = writer.bytes
        sentIndices = sent
    }

    /// Runs a request for `F` that came with out-of-band `buffers` in this process and returns the
    /// encoded ``CallReply``; with `outOfBandMinimum`, a single call's output leaves its large
    /// arrays out of band too. `functions` decodes the function value. Never throws: every failure,
    /// down to a corrupt request, is reported in the reply.
    static func serve<F: RemoteFunction>(
        _ type: F.Type, request: ArraySlice<UInt8>, buffers: [WireBuffer], outOfBandMinimum: Int?,
        functions: DecodedFunctionCache
    ) -> Payload {
        let decoder = WireDecoder()
        var reader = ByteReader(request)
        do {
            let functionBytes = try reader.readLengthPrefixed()
            let function: F
            do {
                function = try functions.decode(F.self, from: functionBytes)
            } catch {
                throw ClusterFuturesError(.decodingFailed, "the function value could not be decoded: \(error)")
            }
            let mode = try reader.readByte()
            if mode == singleMode {
                let input = try reader.readLengthPrefixed()
                guard reader.isAtEnd else {
                    throw ClusterFuturesError(.protocolViolation, "corrupt request: \(reader.remaining) bytes after the input")
                }
                return serveSingle(function, input: input, buffers: buffers, outOfBandMinimum: outOfBandMinimum, decoder: decoder)
            }
            return try serveBatch(function, mode: mode, reader: &reader, decoder: decoder)
        } catch {
            return Payload(bytes: CallReply.callFailure(ErrorReport(error)))
        }
    }

    /// Runs a batch request for `function` whose mode byte `reader` just read. Apart from
    /// ``serve(_:request:buffers:outOfBandMinimum:functions:)`` so that a single call, which runs
    /// unspecialized, does not look up the batch path's types (`Result<F.Input, _>`) at run time.
    ///
    /// - Throws: what fails the whole request (a corrupt request, inputs that do not decode).
    private static func serveBatch<F: RemoteFunction>(
        _ function: F, mode: UInt8, reader: inout ByteReader, decoder: WireDecoder
    ) throws -> Payload {
        let count = try reader.readCount(minimumItemSize: mode == packedMode ? 0 : 8)
        let inputs: [Result<F.Input, ClusterFuturesError>]
        switch mode {
        case packedMode:
            let packed = try reader.readLengthPrefixed()
            let decoded: [F.Input]
            do {
                decoded = try decoder.decode([F.Input].self, from: packed)
            } catch {
                throw ClusterFuturesError(.decodingFailed, "the inputs could not be decoded as [\(F.Input.self)]: \(error)")
            }
            guard decoded.count == count else {
                throw ClusterFuturesError(.protocolViolation, "corrupt request: \(decoded.count) inputs where \(count) were announced")
            }
            return Payload(bytes: run(function, on: decoded))
        case itemsMode:
            var items: [Result<F.Input, ClusterFuturesError>] = []
            items.reserveCapacity(count)
            for index in 0..<count {
                let bytes = try reader.readLengthPrefixed()
                do {
                    items.append(.success(try decoder.decode(F.Input.self, from: bytes)))
                } catch {
                    items.append(.failure(ClusterFuturesError(.decodingFailed,
                        "input \(index) could not be decoded as \(F.Input.self): \(error)")))
                }
            }
            inputs = items
        default:
            throw ClusterFuturesError(.protocolViolation, "corrupt request: unknown mode \(mode)")
        }
        guard reader.isAtEnd else {
            throw ClusterFuturesError(.protocolViolation, "corrupt request: \(reader.remaining) bytes after the last input")
        }
        let decoded = inputs.compactMap { try? $0.get() }
        if let calls = function._callConcurrently(decoded) {
            // The inputs that decoded ran together; the others keep their decoding errors.
            var results = calls.makeIterator()
            return Payload(bytes: reply(to: inputs.map { input -> Result<F.Output, any Error> in
                switch input {
                case .failure(let error): .failure(error)
                case .success: results.next().map { $0.mapError { $0 as any Error } }
                    ?? .failure(ClusterFuturesError(.protocolViolation, "a concurrent batch lost a result"))
                }
            }))
        }
        var reply = CallReply.Writer()
        reply.begin(count: inputs.count)
        for input in inputs {
            switch input {
            case .failure(let error): reply.appendFailure(ErrorReport(error))
            case .success(let input):
                do {
                    reply.appendSuccess(try function(input))
                } catch {
                    reply.appendFailure(ErrorReport(error))
                }
            }
        }
        return Payload(bytes: reply.finish())
    }

    /// The reply to a batch whose calls have run: packed when every call succeeded and the outputs
    /// pack, else item by item.
    private static func reply<Output: Encodable, Failure: Error>(to results: [Result<Output, Failure>]) -> [UInt8] {
        let outputs = results.compactMap { try? $0.get() }
        if outputs.count == results.count, let packed = CallReply.packed(outputs) { return packed }
        var reply = CallReply.Writer()
        reply.begin(count: results.count)
        for result in results {
            switch result {
            case .success(let output): reply.appendSuccess(output)
            case .failure(let error): reply.appendFailure(ErrorReport(error))
            }
        }
        return reply.finish()
    }

    /// Runs `function` on one input and returns a single-value reply, or a one-item reply when the
    /// input cannot be decoded, the call throws, or its output cannot be encoded.
    private static func serveSingle<F: RemoteFunction>(
        _ function: F, input bytes: ArraySlice<UInt8>, buffers: [WireBuffer], outOfBandMinimum: Int?,
        decoder: WireDecoder
    ) -> Payload {
        func oneItem(_ append: (inout CallReply.Writer) -> Void) -> Payload {
            var reply = CallReply.Writer()
            reply.begin(count: 1)
            append(&reply)
            return Payload(bytes: reply.finish())
        }
        let input: F.Input
        do {
            input = try decoder.decode(F.Input.self, from: bytes, outOfBand: buffers)
        } catch {
            return oneItem { $0.appendFailure(ErrorReport(ClusterFuturesError(.decodingFailed,
                "the input could not be decoded as \(F.Input.self): \(error)"))) }
        }
        let output: F.Output
        do {
            output = try function(input)
        } catch {
            return oneItem { $0.appendFailure(ErrorReport(error)) }
        }
        // A single-value reply, or, when the output does not encode, a one-item reply saying so.
        return CallReply.single(output, outOfBandMinimum: outOfBandMinimum) ?? oneItem { $0.appendSuccess(output) }
    }

    /// Runs `function` on packed inputs. When every call succeeds, the outputs go back packed too;
    /// otherwise each item is reported on its own.
    private static func run<F: RemoteFunction>(_ function: F, on inputs: [F.Input]) -> [UInt8] {
        if let results = function._callConcurrently(inputs) { return reply(to: results) }
        var outputs: [F.Output] = []
        outputs.reserveCapacity(inputs.count)
        var firstFailure: (index: Int, error: any Error)?
        for index in inputs.indices {
            do {
                outputs.append(try function(inputs[index]))
            } catch {
                firstFailure = (index, error)
                break
            }
        }
        if firstFailure == nil, let packed = CallReply.packed(outputs) { return packed }
        var reply = CallReply.Writer()
        reply.begin(count: inputs.count)
        for index in inputs.indices {
            if index < outputs.count {
                reply.appendSuccess(outputs[index])
            } else if let failure = firstFailure, failure.index == index {
                reply.appendFailure(ErrorReport(failure.error))
            } else {
                do {
                    reply.appendSuccess(try function(inputs[index]))
                } catch {
                    reply.appendFailure(ErrorReport(error))
                }
            }
        }
        return reply.finish()
    }
}
