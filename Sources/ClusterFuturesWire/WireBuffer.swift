import Foundation

/// A large array of trivial numbers (or `Data`) that travels beside a message instead of inside
/// it, as pickle protocol 5's out-of-band buffers do for mpi4py.
///
/// `WireEncoder.encode(_:appendingTo:outOfBand:minimumBytes:)` leaves such arrays out of the
/// message, writes a reference in their place, and hands them back as `WireBuffer`s holding the
/// array itself (no copy). A transport sends each buffer's bytes as they are, receives them with
/// ``init(kind:count:receivingWith:)`` straight into an array of the right element type, and
/// `WireDecoder.decode(_:from:outOfBand:)` then returns that very array where the message refers to
/// it. A 1 MiB `[UInt8]` goes from the caller's array to the receiver's without being copied by
/// the codec on either side.
public struct WireBuffer: Sendable {
    /// The element type, as the wire format numbers it; see ``Kind``.
    public let kind: Kind
    /// The number of elements.
    public let count: Int
    /// The array that holds the bytes.
    let storage: any _WireBufferStorage

    /// The element type of a ``WireBuffer``: one of the trivial numeric types.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The wire format's byte for it.
        public let rawValue: UInt8
        /// The size of one element in bytes.
        public let elementSize: Int

        /// The kind with wire byte `rawValue`, or nil when no such kind exists (corrupt input).
        public init?(rawValue: UInt8) {
            guard let size = WireBulkKind.size(rawValue) else { return nil }
            self.rawValue = rawValue
            self.elementSize = size
        }

        /// The element type's name, such as `Double`.
        public var description: String { WireBulkKind.name(rawValue) }
    }

    /// The buffer's size in bytes.
    public var byteCount: Int { count * kind.elementSize }

    /// Calls `body` with the buffer's bytes (little-endian elements), valid only during the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage._withUnsafeBytes(body)
    }

    /// A buffer of `count` elements of `kind`, filled by `receive` with exactly `byteCount` bytes:
    /// how a transport receives a buffer without an extra copy. The storage is an array of the
    /// kind's element type, which the decoder hands out as is.
    ///
    /// - Throws: what `receive` throws.
    public init(kind: Kind, count: Int, receivingWith receive: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        self.kind = kind
        self.count = count
        switch kind.rawValue {
        case WireBulkKind.int8: storage = try Self.receiving(Int8.self, count, receive)
        case WireBulkKind.int16: storage = try Self.receiving(Int16.self, count, receive)
        case WireBulkKind.int32: storage = try Self.receiving(Int32.self, count, receive)
        case WireBulkKind.int64: storage = try Self.receiving(Int64.self, count, receive)
        case WireBulkKind.uint16: storage = try Self.receiving(UInt16.self, count, receive)
        case WireBulkKind.uint32: storage = try Self.receiving(UInt32.self, count, receive)
        case WireBulkKind.uint64: storage = try Self.receiving(UInt64.self, count, receive)
        case WireBulkKind.float32: storage = try Self.receiving(Float.self, count, receive)
        case WireBulkKind.float64: storage = try Self.receiving(Double.self, count, receive)
        default: storage = try Self.receiving(UInt8.self, count * kind.elementSize, receive)
        }
    }

    private static func receiving<E: _WireBulkElement>(
        _: E.Type, _ count: Int, _ receive: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws -> [E] {
        try [E](unsafeUninitializedCapacity: count) { buffer, initialized in
            try receive(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Wraps `array` when it is an `Array` or `ContiguousArray` of a bulk element type, or `Data`.
    init?<C>(holding array: C, kind: UInt8, count: Int) {
        guard let storage = array as? any _WireBufferStorage, let kind = Kind(rawValue: kind) else { return nil }
        self.kind = kind
        self.count = count
        self.storage = storage
    }

    /// The stored array itself when it is exactly an `A`, so decoding needs no copy.
    func adopt<A>(as _: A.Type) -> A? {
        storage as? A
    }
}

/// What can hold a ``WireBuffer``'s bytes without copying them.
protocol _WireBufferStorage: Sendable {
    func _withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: _WireBufferStorage where Element: _WireBulkElement {
    func _withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension ContiguousArray: _WireBufferStorage where Element: _WireBulkElement {
    func _withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension Data: _WireBufferStorage {
    func _withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension WireEncoder {
    /// Appends the encoding of `value` to `buffer`, leaving every array of trivial numbers (and every
    /// `Data`) of at least `minimumBytes` bytes out of it: each is appended to `outOfBand` instead,
    /// without a copy, and the message refers to it by its position there. Decode with
    /// `WireDecoder.decode(_:from:outOfBand:)` and the same buffers, in the same order.
    ///
    /// On error `buffer` and `outOfBand` are restored to their previous lengths.
    public func encode<T: Encodable>(
        _ value: T, appendingTo buffer: inout [UInt8], outOfBand: inout [WireBuffer], minimumBytes: Int
    ) throws {
        // A top-level primitive has no array to leave out: the fast path of `encode(_:appendingTo:)`.
        if _WireWriter.writePrimitiveMessage(value, into: &buffer) { return }
        let buffersBefore = outOfBand.count
        var state = _WireEncoderState.acquire()
        swap(&state.outOfBand, &outOfBand)
        state.outOfBandMinimum = max(1, minimumBytes)
        defer {
            swap(&state.outOfBand, &outOfBand)
            state.outOfBandMinimum = Int.max
            _WireEncoderState.recycle(&state)
        }
        swap(&state.bytes, &buffer)
        defer { swap(&state.bytes, &buffer) }
        let start = state.bytes.count
        do {
            try state.encodeMessage(value, start: start)
        } catch {
            state.bytes.removeSubrange(start...)
            state.outOfBand.removeSubrange(buffersBefore...)
            throw error
        }
    }
}

extension WireDecoder {
    /// Decodes a `type` value from a message written by
    /// `WireEncoder.encode(_:appendingTo:outOfBand:minimumBytes:)`, with its out-of-band buffers.
    /// An array of the buffer's own element type is returned without a copy.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: ArraySlice<UInt8>, outOfBand: [WireBuffer]) throws -> T {
        guard !outOfBand.isEmpty else { return try decode(type, from: bytes) }
        return try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return try decode(type, from: buffer) }
            // The buffers are input too: the budget covers a copy of them where the requested type
            // is not the buffer's own.
            var inputBytes = buffer.count
            for outOfBandBuffer in outOfBand {
                let (sum, overflow) = inputBytes.addingReportingOverflow(outOfBandBuffer.byteCount)
                inputBytes = overflow ? Int.max : sum
            }
            var state = _WireDecoderState.acquire(base: base, count: buffer.count, limits: limits, inputBytes: inputBytes)
            state.outOfBand = outOfBand
            defer {
                state.outOfBand = []
                _WireDecoderState.recycle(&state)
            }
            return try state.decodeMessage(type)
        }
    }
}

// MARK: - The out-of-band reference in a message

extension _WireEncoderState {
    /// Leaves `array` (`count` elements of `kind`, `byteCount` bytes) out of the message when out-of-band
    /// buffers were asked for and it is large enough; returns whether it did.
    func writeOutOfBand<C>(_ array: C, kind: UInt8, count: Int, byteCount: Int) -> Bool {
        guard byteCount >= outOfBandMinimum, let buffer = WireBuffer(holding: array, kind: kind, count: count) else {
            return false
        }
        bytes.append(WireTag.outOfBand)
        bytes.append(kind)
        writeVarint(UInt64(count))
        writeVarint(UInt64(outOfBand.count))
        outOfBand.append(buffer)
        return true
    }
}

extension _WireDecoderState {
    /// Reads `kind varint(count) varint(index)` after an out-of-band tag and returns the buffer it
    /// refers to, checked to be of that kind and count.
    func readOutOfBand(_ p: inout Int, limit: Int) throws -> WireBuffer {
        let tagOffset = p - 1
        let kind = try byte(at: p, limit: limit)
        p += 1
        let count = try readVarint(&p, limit: limit)
        let index = try readVarint(&p, limit: limit)
        guard index < UInt64(outOfBand.count) else {
            throw corrupt("out-of-band buffer \(index) at offset \(tagOffset) was not given (\(outOfBand.count) were)")
        }
        let buffer = outOfBand[Int(index)]
        guard buffer.kind.rawValue == kind, UInt64(buffer.count) == count else {
            throw corrupt("out-of-band buffer \(index) at offset \(tagOffset) should hold \(count) \(WireBulkKind.name(kind)) "
                + "elements, but holds \(buffer.count) \(buffer.kind)")
        }
        return buffer
    }

    /// The out-of-band buffer at `pos` as a new `[E]`: the buffer's own array when it is one, else
    /// a copy of its bytes.
    func outOfBandArray<E>(_: E.Type, at pos: Int) throws -> [E] {
        var p = pos + 1
        let buffer = try readOutOfBand(&p, limit: end)
        if let array = buffer.adopt(as: [E].self) { return array }
        try charge(buffer.byteCount + Self.objectOverhead, at: pos)
        let count = buffer.byteCount / MemoryLayout<E>.stride
        return buffer.withUnsafeBytes { raw in
            [E](unsafeUninitializedCapacity: count) { destination, initialized in
                if let source = raw.baseAddress, let target = destination.baseAddress {
                    UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: raw.count)
                }
                initialized = count
            }
        }
    }
}
