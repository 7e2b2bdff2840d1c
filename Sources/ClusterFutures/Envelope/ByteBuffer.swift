/// Appends fixed-width little-endian integers and length-prefixed sections to a byte array.
///
/// The call envelope (see ``CallRequest`` and ``CallReply``) is framed with these; the values inside
/// are encoded with `WireEncoder`.
struct ByteWriter {
    var bytes: [UInt8]

    init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ value: UInt8) { bytes.append(value) }

    mutating func append(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends an 8-byte length, then whatever `body` appends, and fills the length in afterwards.
    /// When `body` throws, the buffer is left as it was.
    mutating func appendLengthPrefixed(_ body: (inout [UInt8]) throws -> Void) throws {
        let start = bytes.count
        append(UInt64(0))
        do {
            try body(&bytes)
        } catch {
            bytes.removeSubrange(start...)
            throw error
        }
        let length = UInt64(bytes.count - start - 8).littleEndian
        withUnsafeBytes(of: length) { raw in
            for (offset, byte) in raw.enumerated() { bytes[start + offset] = byte }
        }
    }

    /// Appends an 8-byte length and then `section`.
    mutating func appendLengthPrefixed(_ section: [UInt8]) {
        append(UInt64(section.count))
        bytes.append(contentsOf: section)
    }
}

/// Reads what ``ByteWriter`` wrote, checking every length against the bytes that remain, so a
/// corrupt or truncated message throws instead of reading out of bounds or allocating without limit.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    /// The position in `bytes`' own indices.
    private var position: Int

    init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    /// How many bytes have been read.
    var offset: Int { position - bytes.startIndex }
    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position == bytes.endIndex }

    mutating func readByte() throws(ClusterFuturesError) -> UInt8 {
        guard remaining >= 1 else { throw truncated(needing: 1) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt64() throws(ClusterFuturesError) -> UInt64 {
        guard remaining >= 8 else { throw truncated(needing: 8) }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += 8
        return value
    }

    /// Reads a count of items that each take at least `minimumItemSize` bytes of what remains.
    mutating func readCount(minimumItemSize: Int) throws(ClusterFuturesError) -> Int {
        let start = offset
        let raw = try readUInt64()
        guard raw <= UInt64(remaining / max(minimumItemSize, 1)) else {
            throw ClusterFuturesError(.protocolViolation,
                "corrupt message: count \(raw) at offset \(start) cannot fit in the \(remaining) bytes that remain")
        }
        return Int(raw)
    }

    /// Reads an 8-byte length and returns that many bytes.
    mutating func readLengthPrefixed() throws(ClusterFuturesError) -> ArraySlice<UInt8> {
        let start = offset
        let raw = try readUInt64()
        guard raw <= UInt64(remaining) else {
            throw ClusterFuturesError(.protocolViolation,
                "truncated message: section at offset \(start) declares \(raw) bytes, \(remaining) remain")
        }
        let length = Int(raw)
        defer { position += length }
        return bytes[position..<(position + length)]
    }

    /// The bytes not read yet.
    mutating func readRemaining() -> ArraySlice<UInt8> {
        defer { position = bytes.endIndex }
        return bytes[position...]
    }

    private func truncated(needing count: Int) -> ClusterFuturesError {
        ClusterFuturesError(.protocolViolation,
            "truncated message: needed \(count) bytes at offset \(offset), \(remaining) remain")
    }
}
