import DequeModule
import SystemPackage

/// What a frame between the pool and a worker carries.
///
/// Every frame is a 24-byte header (kind, a flags byte, 6 reserved bytes, a 64-bit id, a 64-bit
/// payload length, all little-endian) followed by the payload, unless the flags say the payload is
/// in the direction's ``SharedArena``.
package enum FrameKind: UInt8 {
    /// Worker → pool, first: protocol version, pid, build id.
    case hello = 1
    /// Pool → worker, after a good hello: the task budget, the spin, the pool's log level
    /// (`Logger.Level.wireCode`), each as 8 bytes, then the initializer.
    case welcome = 2
    /// Worker → pool: the initializer ran; tasks may come.
    case ready = 3
    /// Worker → pool: the initializer failed; the payload says why.
    case initializerFailed = 4
    /// Pool → worker: a call to run: its function's number and the encoded request (``NumberedTask``).
    case task = 5
    /// Worker → pool: the encoded ``CallReply`` to the task with the frame's id.
    case result = 6
    /// Worker → pool: the task budget is spent; the worker exits after this frame.
    case retiring = 7
    /// Pool → worker: exit now.
    case stop = 8
    /// Pool → worker, before its first task of a function: the function's number and task prefix
    /// (``FunctionDefinition``, see ``NumberedTask``).
    case define = 9
    /// Worker → pool, at any time after the welcome, from any thread of the worker: a
    /// ``ForwardedLogRecord``, which the pool logs into its logger with the worker's index, pid
    /// and host.
    case log = 10
}

/// One frame.
package struct Frame {
    static let headerSize = 24
    /// The version of this protocol, sent in ``FrameKind/hello``.
    package static let protocolVersion: UInt32 = 5
    /// The flag that says a frame's payload is in the shared arena, not after the header.
    static let inArenaFlag: UInt8 = 1

    package var kind: FrameKind
    package var id: UInt64
    package var payload: [UInt8]

    /// A frame of `kind` for task `id` (0 when it is about none), carrying `payload`.
    package init(kind: FrameKind, id: UInt64, payload: [UInt8]) {
        self.kind = kind
        self.id = id
        self.payload = payload
    }

    /// The header of a frame of `kind` with a payload of `length` bytes.
    static func header(_ kind: FrameKind, id: UInt64, length: Int) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: headerSize)
        header[0] = kind.rawValue
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: id.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: UInt64(length).littleEndian, toByteOffset: 16, as: UInt64.self)
        }
        return header
    }
}

/// Why a stream of frames cannot be trusted any more.
package struct FrameError: Error, CustomStringConvertible {
    package var description: String

    /// An error that says `description`.
    package init(description: String) {
        self.description = description
    }
}

/// Reads frames from a descriptor as bytes arrive, with a bound on the payload size, so a corrupt,
/// truncated or oversized frame is an error and never an unbounded allocation.
final class FrameReader {
    private var chunk: [UInt8]
    private var start = 0
    private var end = 0
    /// A large frame being read straight into its own payload.
    private var partial: (kind: FrameKind, id: UInt64, payload: [UInt8], filled: Int)?
    private let maxPayload: Int
    private let arena: SharedArena?

    init(chunkSize: Int = 256 * 1024, maxPayload: Int, arena: SharedArena? = nil) {
        chunk = [UInt8](repeating: 0, count: chunkSize)
        self.maxPayload = maxPayload
        self.arena = arena
    }

    /// True while a frame has been begun and not finished.
    var isMidFrame: Bool { partial != nil || end > start }

    /// Reads what is available now and appends every complete frame to `frames`.
    ///
    /// - Returns: false at end of file.
    func readAvailable(from fd: FileDescriptor, into frames: inout [Frame]) throws -> Bool {
        while true {
            if var current = partial {
                let count = try current.payload.withUnsafeMutableBytes { raw in
                    try SystemCalls.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[current.filled...]))
                }
                guard let count else { partial = current; return true }
                if count == 0 { return false }
                current.filled += count
                if current.filled == current.payload.count {
                    frames.append(Frame(kind: current.kind, id: current.id, payload: current.payload))
                    partial = nil
                } else {
                    partial = current
                }
                continue
            }
            if start > 0 && start == end {
                start = 0
                end = 0
            } else if start > 0 && chunk.count - end < Frame.headerSize {
                chunk.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
                }
                end -= start
                start = 0
            }
            let count = try chunk.withUnsafeMutableBytes { raw in
                try SystemCalls.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
            }
            guard let count else { return true }
            if count == 0 { return false }
            end += count
            try parse(into: &frames)
        }
    }

    /// Takes complete frames out of `chunk`; begins a `partial` frame for a payload too large for it.
    private func parse(into frames: inout [Frame]) throws {
        while end - start >= Frame.headerSize {
            let (kindByte, flags, id, rawLength) = chunk.withUnsafeBytes { raw in
                (raw[start], raw[start + 1],
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 16, as: UInt64.self)))
            }
            guard let kind = FrameKind(rawValue: kindByte) else {
                throw FrameError(description: "corrupt frame: unknown kind \(kindByte)")
            }
            guard rawLength <= UInt64(maxPayload) else {
                throw FrameError(description: "oversized frame: \(rawLength) bytes, the limit is \(maxPayload)")
            }
            let length = Int(rawLength)
            if flags & Frame.inArenaFlag != 0 {
                guard let arena else { throw FrameError(description: "corrupt frame: a shared-arena payload where there is no arena") }
                frames.append(Frame(kind: kind, id: id, payload: try arena.take(length: length)))
                start += Frame.headerSize
                continue
            }
            let payloadStart = start + Frame.headerSize
            let available = end - payloadStart
            if available >= length {
                frames.append(Frame(kind: kind, id: id, payload: Array(chunk[payloadStart..<payloadStart + length])))
                start = payloadStart + length
                continue
            }
            if length > chunk.count - Frame.headerSize {
                // Every byte is written by the copy below and the reads that follow before the
                // payload is handed out, so it need not be zeroed first.
                var payload = [UInt8](unsafeUninitializedCapacity: length) { _, count in count = length }
                payload.withUnsafeMutableBytes { raw in
                    chunk.withUnsafeBytes { source in
                        raw.baseAddress!.copyMemory(from: source.baseAddress! + payloadStart, byteCount: available)
                    }
                }
                partial = (kind, id, payload, available)
                start = end
            } else if start > 0 {
                chunk.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
                }
                end -= start
                start = 0
            }
            return
        }
    }
}

/// Frames waiting to be written to a descriptor, written with as few calls as the descriptor allows.
///
/// Headers and small payloads are copied into one growing buffer; a large payload is queued as its
/// own segment, so it is never copied.
final class FrameWriter {
    /// Payloads at least this large are queued without copying.
    private static let copyLimit = 16 * 1024

    private var segments = Deque<[UInt8]>()
    /// The buffer small pieces are copied into, not yet in `segments`.
    private var tail: [UInt8] = []
    private var offset = 0
    private let arena: SharedArena?

    init(arena: SharedArena? = nil) {
        self.arena = arena
    }

    var isEmpty: Bool { segments.isEmpty && tail.isEmpty }

    func enqueue(_ kind: FrameKind, id: UInt64, payload: [UInt8]) {
        enqueue(kind, id: id, segments: [payload])
    }

    /// Queues a frame whose payload is the concatenation of `payloadSegments`.
    func enqueue(_ kind: FrameKind, id: UInt64, segments payloadSegments: [[UInt8]]) {
        var length = 0
        for segment in payloadSegments { length += segment.count }
        if let arena, arena.put(payloadSegments, length: length) {
            appendHeader(kind, flags: Frame.inArenaFlag, id: id, length: length)
            return
        }
        appendHeader(kind, flags: 0, id: id, length: length)
        for segment in payloadSegments where !segment.isEmpty {
            if segment.count < Self.copyLimit {
                tail.append(contentsOf: segment)
            } else {
                if !tail.isEmpty {
                    segments.append(tail)
                    tail = []
                }
                segments.append(segment)
            }
        }
    }

    private func appendHeader(_ kind: FrameKind, flags: UInt8, id: UInt64, length: Int) {
        tail.append(kind.rawValue)
        tail.append(flags)
        tail.append(contentsOf: repeatElement(0, count: 6))
        withUnsafeBytes(of: id.littleEndian) { tail.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(length).littleEndian) { tail.append(contentsOf: $0) }
    }

    /// Writes what the descriptor takes now. Returns true when everything was written.
    func flush(to fd: FileDescriptor) throws -> Bool {
        if !tail.isEmpty {
            segments.append(tail)
            tail = []
            tail.reserveCapacity(4096)
        }
        while !segments.isEmpty {
            let written: Int?
            if segments.count == 1, let only = segments.first {
                written = try only.withUnsafeBytes { raw in
                    try SystemCalls.write(fd, [UnsafeRawBufferPointer(rebasing: raw[offset...])])
                }
            } else {
                written = try withBuffers(Array(segments.prefix(64)), firstOffset: offset) { try SystemCalls.write(fd, $0) }
            }
            guard let written else { return false }
            consume(written)
        }
        return true
    }

    private func consume(_ count: Int) {
        var remaining = count
        while remaining > 0, let first = segments.first {
            let left = first.count - offset
            if remaining >= left {
                remaining -= left
                segments.removeFirst()
                offset = 0
            } else {
                offset += remaining
                remaining = 0
            }
        }
    }

    private func withBuffers<R>(
        _ arrays: [[UInt8]], firstOffset: Int, _ body: ([UnsafeRawBufferPointer]) throws -> R
    ) throws -> R {
        func nest(_ index: Int, _ collected: [UnsafeRawBufferPointer]) throws -> R {
            guard index < arrays.count else { return try body(collected) }
            return try arrays[index].withUnsafeBytes { raw in
                let slice = index == 0 ? UnsafeRawBufferPointer(rebasing: raw[firstOffset...]) : raw
                return try nest(index + 1, collected + [slice])
            }
        }
        return try nest(0, [])
    }
}

/// The payloads of the frames that name functions by number (``FunctionNumbers``): a
/// ``FrameKind/define`` frame carries the number and the task prefix, a ``FrameKind/task`` frame
/// the number and then the encoded ``CallRequest``, each number as 8 bytes, little-endian.
package enum NumberedTask {
    /// The payload of a ``FrameKind/define`` frame.
    static func payload(defining definition: FunctionDefinition) -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: 8 + definition.taskPrefix.count)
        writer.append(UInt64(definition.number))
        writer.bytes += definition.taskPrefix
        return writer.bytes
    }

    /// The definition a ``FrameKind/define`` frame carries (its number is checked where it is
    /// defined: ``DefinedFunctions/define(_:registry:extra:)``).
    package static func definition(in payload: [UInt8]) throws(ClusterFuturesError) -> FunctionDefinition {
        var reader = ByteReader(payload)
        let number = try reader.readUInt64()
        return FunctionDefinition(number: Int(clamping: number), taskPrefix: Array(reader.readRemaining()))
    }

    /// The first segment of a ``FrameKind/task`` frame of function `number`.
    static func segment(number: Int) -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: 8)
        writer.append(UInt64(number))
        return writer.bytes
    }

    /// The function number and the request a ``FrameKind/task`` frame carries; the request is not
    /// copied.
    package static func task(in payload: [UInt8]) throws(ClusterFuturesError) -> (number: Int, request: ArraySlice<UInt8>) {
        var reader = ByteReader(payload)
        let number = try reader.readUInt64()
        return (Int(clamping: number), reader.readRemaining())
    }
}

/// A call with the prefix that names its function (its registered and mangled names,
/// length-prefixed), then the encoded ``CallRequest``: a function's ``Job/taskPrefix``, and the
/// initializer a ``FrameKind/welcome`` frame carries.
package struct TaskMessage {
    /// The prefix naming the function, the same for every call to it.
    package var prefix: ArraySlice<UInt8>
    package var request: ArraySlice<UInt8>

    package init(prefix: [UInt8], request: [UInt8]) {
        self.prefix = prefix[...]
        self.request = request[...]
    }

    /// The prefix for a function's task messages.
    static func prefix(functionName: String, mangledName: String) -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: 16 + functionName.utf8.count + mangledName.utf8.count)
        writer.appendLengthPrefixed(Array(functionName.utf8))
        writer.appendLengthPrefixed(Array(mangledName.utf8))
        return writer.bytes
    }

    /// The message as payload segments: the prefix, then the request, which is not copied.
    func encodedSegments() -> [[UInt8]] { [Array(prefix), Array(request)] }

    /// Splits a received message into its prefix and request, without copying either.
    package init(decoding bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        _ = try reader.readLengthPrefixed()
        _ = try reader.readLengthPrefixed()
        prefix = bytes[..<reader.offset]
        request = reader.readRemaining()
    }

    /// The registered and mangled names the prefix carries.
    var names: (functionName: String, mangledName: String) {
        var reader = ByteReader(prefix)
        let name = (try? reader.readLengthPrefixed()).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let mangled = (try? reader.readLengthPrefixed()).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (name, mangled)
    }
}
