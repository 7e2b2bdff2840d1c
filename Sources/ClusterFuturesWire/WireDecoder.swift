import Foundation

/// Decodes `Decodable` values from the compact ClusterFutures binary format written by
/// `WireEncoder`.
///
/// Input is treated as untrusted: every length and count is checked against the bytes that remain
/// before anything is allocated, nesting deeper than `WireLimits.maxDepth` is rejected, memory is
/// allocated only within a budget proportional to the input (`WireLimits.allocationBudget(forInputBytes:)`),
/// and bytes after the top-level value are an error. Failures are thrown as `DecodingError`.
public struct WireDecoder: Sendable {
    /// The limits enforced while decoding.
    public let limits: WireLimits

    /// Creates a decoder that enforces `limits`.
    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    /// Decodes a `type` value from a complete message in `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a `type` value from a complete message in `bytes`; offsets in errors are relative
    /// to the start of the slice.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: ArraySlice<UInt8>) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a `type` value from a complete message in `buffer`, which is only read during the call.
    public func decode<T: Decodable>(_ type: T.Type, from buffer: UnsafeRawBufferPointer) throws -> T {
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: [],
                    debugDescription: "truncated message: needed 1 bytes at offset 0, 0 remain"))
        }
        let count = buffer.count
        // Top-level primitives in their usual encoding are read without a state object; anything
        // else about them (other tags, a key table, trailing bytes, bad input) takes the general
        // path below, which also produces every error.
        if T.self == Int.self, let v = _WireFastRead.integer(Int.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == String.self, let v = _WireFastRead.string(base, count) { return _wireCast(v, to: T.self) }
        if T.self == Double.self, let v = _WireFastRead.double(base, count) { return _wireCast(v, to: T.self) }
        if T.self == Bool.self, let v = _WireFastRead.bool(base, count) { return _wireCast(v, to: T.self) }
        if T.self == Float.self, let v = _WireFastRead.float(base, count) { return _wireCast(v, to: T.self) }
        if T.self == Int64.self, let v = _WireFastRead.integer(Int64.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == UInt64.self, let v = _WireFastRead.integer(UInt64.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == UInt.self, let v = _WireFastRead.integer(UInt.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == Int32.self, let v = _WireFastRead.integer(Int32.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == UInt32.self, let v = _WireFastRead.integer(UInt32.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == Int16.self, let v = _WireFastRead.integer(Int16.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == UInt16.self, let v = _WireFastRead.integer(UInt16.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == Int8.self, let v = _WireFastRead.integer(Int8.self, base, count) { return _wireCast(v, to: T.self) }
        if T.self == UInt8.self, let v = _WireFastRead.integer(UInt8.self, base, count) { return _wireCast(v, to: T.self) }
        var state = _WireDecoderState.acquire(base: base, count: count, limits: limits, inputBytes: count)
        defer { _WireDecoderState.recycle(&state) }
        return try state.decodeMessage(type)
    }
}

/// Readers for a whole message that is one primitive in the encoding the encoder writes for its
/// type: `headerPlain`, the value's tag and body, and nothing after it. Each returns nil for
/// anything else (including every malformed input), leaving it to the general path to decode the
/// other legal encodings or to throw the right error.
enum _WireFastRead {
    /// The varint at `p` if it is complete before `end` and fits 64 bits.
    @inline(__always)
    static func varint(_ base: UnsafeRawPointer, _ p: inout Int, end: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while p < end {
            let b = base.load(fromByteOffset: p, as: UInt8.self)
            p += 1
            if shift == 63 && b > 1 { return nil }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// Whether the message is at least `count` bytes and starts with `headerPlain` and `tag`.
    @inline(__always)
    static func starts(_ base: UnsafeRawPointer, _ count: Int, tag: UInt8) -> Bool {
        count >= 2 && base.load(as: UInt8.self) == WireTag.headerPlain
            && base.load(fromByteOffset: 1, as: UInt8.self) == tag
    }

    /// A signed integer written with the `int` tag, or an unsigned one with the `uint` tag.
    @inline(__always)
    static func integer<I: FixedWidthInteger>(_: I.Type, _ base: UnsafeRawPointer, _ count: Int) -> I? {
        guard starts(base, count, tag: I.isSigned ? WireTag.int : WireTag.uint) else { return nil }
        var p = 2
        guard let raw = varint(base, &p, end: count), p == count else { return nil }
        if I.isSigned {
            return I(exactly: Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
        }
        return I(exactly: raw)
    }

    @inline(__always)
    static func double(_ base: UnsafeRawPointer, _ count: Int) -> Double? {
        guard count == 10, starts(base, count, tag: WireTag.float64) else { return nil }
        return Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt64.self)))
    }

    @inline(__always)
    static func float(_ base: UnsafeRawPointer, _ count: Int) -> Float? {
        guard count == 6, starts(base, count, tag: WireTag.float32) else { return nil }
        return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
    }

    @inline(__always)
    static func bool(_ base: UnsafeRawPointer, _ count: Int) -> Bool? {
        guard count == 2, base.load(as: UInt8.self) == WireTag.headerPlain else { return nil }
        switch base.load(fromByteOffset: 1, as: UInt8.self) {
        case WireTag.boolTrue: return true
        case WireTag.boolFalse: return false
        default: return nil
        }
    }

    /// A string whose bytes run exactly to the end of the message and are valid UTF-8.
    @inline(__always)
    static func string(_ base: UnsafeRawPointer, _ count: Int) -> String? {
        guard starts(base, count, tag: WireTag.string) else { return nil }
        var p = 2
        guard let length = varint(base, &p, end: count), length == UInt64(count - p) else { return nil }
        return _WireDecoderState.utf8String(UnsafeRawBufferPointer(start: base + p, count: count - p))
    }
}

/// A number read from the wire before it is converted to the requested type.
enum _WireNumber {
    case int(Int64)
    case uint(UInt64)
    case float(Float)
    case double(Double)
    case int128(Int128)
    case uint128(UInt128)
}

/// Shared state of one `decode` call: the bytes, the key table, the coding path and limits.
final class _WireDecoderState {
    @exclusivity(unchecked) var base: UnsafeRawPointer
    // @exclusivity(unchecked): one state object serves a single encode or decode call, on the
    // calling thread, and never escapes it; no access to these properties overlaps another (none is
    // passed inout across a call that touches the same property), so the dynamic checks that
    // class properties otherwise get only cost time here.
    /// End of the readable region (the top-level value once the key table has been split off).
    @exclusivity(unchecked) var end: Int
    @exclusivity(unchecked) var maxDepth: Int
    /// Bytes this decode may still allocate (`WireLimits.allocationBudget(forInputBytes:)` less
    /// what was charged so far); negative once the budget is spent.
    @exclusivity(unchecked) var allocationLeft: Int
    /// The limits and the input size of this decode, for the message of a budget error.
    @exclusivity(unchecked) var limits: WireLimits
    @exclusivity(unchecked) var inputBytes: Int
    /// The key table of the message being decoded.
    @exclusivity(unchecked) var keys: [String] = []
    /// The raw bytes of the last key table parsed without error, and its keys: a state is reused
    /// for later calls on the same thread, and messages of one type repeat the same table.
    @exclusivity(unchecked) var cachedKeyTable: [UInt8] = []
    @exclusivity(unchecked) var cachedKeys: [String] = []
    @exclusivity(unchecked) var path: [any CodingKey] = []
    /// Per-nesting-level position of the entry expected next in a keyed container.
    @exclusivity(unchecked) var hints: [Int] = []
    @exclusivity(unchecked) var nesting = 0
    /// `T.self as? any _WireSpecialDecodable.Type` per type seen.
    @exclusivity(unchecked) var specialTypes = _WireTypeCache<any _WireSpecialDecodable.Type>()
    /// The buffers the message's out-of-band arrays refer to (`WireBuffer`).
    @exclusivity(unchecked) var outOfBand: [WireBuffer] = []

    init(base: UnsafeRawPointer, count: Int, limits: WireLimits, inputBytes: Int) {
        self.base = base
        self.end = count
        self.maxDepth = limits.maxDepth
        self.limits = limits
        self.inputBytes = inputBytes
        self.allocationLeft = limits.allocationBudget(forInputBytes: inputBytes)
    }

    /// Points this state at a new message of `count` bytes (`inputBytes` with its out-of-band
    /// buffers), with a full allocation budget.
    @inline(__always)
    func start(base: UnsafeRawPointer, count: Int, limits: WireLimits, inputBytes: Int) {
        self.base = base
        self.end = count
        self.maxDepth = limits.maxDepth
        self.limits = limits
        self.inputBytes = inputBytes
        self.allocationLeft = limits.allocationBudget(forInputBytes: inputBytes)
    }

    // MARK: Allocation budget

    /// Size charged for the storage object of an array, dictionary, class instance or indirect
    /// enum case, beyond its elements.
    static let objectOverhead = 32

    /// Charges `bytes` (not negative) against the allocation budget before they are allocated.
    @inline(__always)
    func charge(_ bytes: Int, at offset: Int) throws {
        allocationLeft &-= bytes
        if allocationLeft < 0 { throw overBudget(at: offset) }
    }

    /// Charges `count` elements of `stride` bytes each, plus `objectOverhead`.
    @inline(__always)
    func chargeElements(_ count: Int, stride: Int, at offset: Int) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        guard !overflow, bytes < Int.max - Self.objectOverhead else {
            allocationLeft = -1
            throw overBudget(at: offset)
        }
        try charge(bytes + Self.objectOverhead, at: offset)
    }

    /// Charges without checking, where an error cannot be thrown (`allKeys`); the next charge, or
    /// the end of the message, throws if the budget is spent.
    @inline(__always)
    func chargeLater(_ bytes: Int) {
        if allocationLeft >= 0 { allocationLeft &-= bytes }
    }

    @inline(never)
    func overBudget(at offset: Int) -> DecodingError {
        let budget = limits.allocationBudget(forInputBytes: inputBytes)
        return .dataCorrupted(
            DecodingError.Context(
                codingPath: path,
                debugDescription: "decoding would allocate more than \(budget) bytes for a message of "
                    + "\(inputBytes) bytes at offset \(offset) (limit: \(limits.allocationPerInputByte) bytes "
                    + "per input byte + \(limits.allocationAllowance); see WireLimits.allocationPerInputByte "
                    + "and WireLimits.allocationAllowance)"))
    }

    // MARK: Errors

    func corrupt(_ message: String) -> DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: path, debugDescription: "corrupt message: " + message))
    }

    @inline(never)
    func tooDeep(at offset: Int) -> DecodingError {
        corrupt("nesting depth exceeds the limit of \(maxDepth) at offset \(offset) (WireLimits.maxDepth)")
    }

    func truncated(needed: UInt64, at offset: Int, limit: Int) -> DecodingError {
        .dataCorrupted(
            DecodingError.Context(
                codingPath: path,
                debugDescription: "truncated message: needed \(needed) bytes at offset \(offset), "
                    + "\(max(0, limit - offset)) remain"))
    }

    func mismatch(_ type: Any.Type, expected: String, tag: UInt8, at offset: Int) -> DecodingError {
        if tag == WireTag.null {
            return .valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "type mismatch: expected \(expected), found nil at offset \(offset)"))
        }
        return .typeMismatch(
            type,
            DecodingError.Context(
                codingPath: path,
                debugDescription: "type mismatch: expected \(expected), found \(WireTag.name(tag)) at offset \(offset)"))
    }

    // MARK: Raw reads

    @inline(__always)
    func byte(at offset: Int, limit: Int) throws -> UInt8 {
        guard offset < limit else { throw truncated(needed: 1, at: offset, limit: limit) }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    func need(_ count: Int, at offset: Int, limit: Int) throws {
        guard count <= limit - offset else { throw truncated(needed: UInt64(count), at: offset, limit: limit) }
    }

    @inline(__always)
    func readVarint(_ p: inout Int, limit: Int) throws -> UInt64 {
        let start = p
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard p < limit else { throw truncated(needed: 1, at: p, limit: limit) }
            let b = base.load(fromByteOffset: p, as: UInt8.self)
            p += 1
            if shift == 63 && b > 1 {
                throw corrupt("varint at offset \(start) overflows 64 bits")
            }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    /// Reads a byte length and checks that that many bytes remain before `limit`.
    @inline(__always)
    func readLength(_ p: inout Int, limit: Int) throws -> Int {
        let length = try readVarint(&p, limit: limit)
        guard length <= UInt64(limit - p) else { throw truncated(needed: length, at: p, limit: limit) }
        return Int(length)
    }

    @inline(__always)
    func loadLE<I: FixedWidthInteger>(_: I.Type, at offset: Int) -> I {
        I(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: I.self))
    }

    /// Offset just past the value that starts at `pos`, which must end by `limit`. Never recurses.
    func skip(at pos: Int, limit: Int) throws -> Int {
        var p = pos
        var tag = try byte(at: p, limit: limit)
        while tag == WireTag.some {
            p += 1
            tag = try byte(at: p, limit: limit)
        }
        let tagOffset = p
        p += 1
        switch tag {
        case WireTag.null, WireTag.boolFalse, WireTag.boolTrue:
            return p
        case WireTag.int, WireTag.uint:
            _ = try readVarint(&p, limit: limit)
            return p
        case WireTag.float32:
            try need(4, at: p, limit: limit)
            return p + 4
        case WireTag.float64:
            try need(8, at: p, limit: limit)
            return p + 8
        case WireTag.int128, WireTag.uint128:
            try need(16, at: p, limit: limit)
            return p + 16
        case WireTag.string, WireTag.keyed, WireTag.unkeyed:
            let length = try readLength(&p, limit: limit)
            return p + length
        case WireTag.bulk:
            let (_, _, byteCount) = try readBulkHeader(&p, limit: limit)
            return p + byteCount
        case WireTag.outOfBand:
            _ = try readOutOfBand(&p, limit: limit)
            return p
        default:
            throw corrupt("unknown tag \(WireTag.hex(tag)) at offset \(tagOffset)")
        }
    }

    /// Reads `kind varint(count)` after a bulk tag; checks count × size against what remains.
    func readBulkHeader(_ p: inout Int, limit: Int) throws -> (kind: UInt8, count: Int, byteCount: Int) {
        let kindOffset = p
        let kind = try byte(at: p, limit: limit)
        p += 1
        guard let size = WireBulkKind.size(kind) else {
            throw corrupt("unknown bulk element kind \(WireTag.hex(kind)) at offset \(kindOffset)")
        }
        let count = try readVarint(&p, limit: limit)
        let (bytes, overflow) = count.multipliedReportingOverflow(by: UInt64(size))
        guard !overflow, bytes <= UInt64(limit - p) else {
            throw corrupt(
                "bulk array at offset \(kindOffset - 1) declares \(count) elements of \(size) bytes, "
                    + "but only \(limit - p) bytes remain")
        }
        return (kind, Int(count), Int(bytes))
    }

    // MARK: Message

    func decodeMessage<T: Decodable>(_ type: T.Type) throws -> T {
        let total = end
        let header = try byte(at: 0, limit: total)
        guard header == WireTag.headerPlain || header == WireTag.headerKeyTable else {
            throw corrupt("unknown message header \(WireTag.hex(header)) at offset 0")
        }
        let valueEnd = try skip(at: 1, limit: total)
        if header == WireTag.headerKeyTable {
            if isCachedKeyTable(at: valueEnd, count: total - valueEnd) {
                keys = cachedKeys
            } else {
                keys = try readKeyTable(at: valueEnd, limit: total)
            }
        } else {
            guard valueEnd == total else {
                throw corrupt("trailing bytes: \(total - valueEnd) bytes after the top-level value at offset \(valueEnd)")
            }
            keys = []
        }
        end = valueEnd
        let value = try decodeValue(type, at: 1)
        // Charges made where no error could be thrown (`allKeys`) are checked here at the latest.
        if allocationLeft < 0 { throw overBudget(at: valueEnd) }
        return value
    }

    /// Whether the `count` bytes at `offset` are exactly the last key table parsed successfully.
    @inline(__always)
    private func isCachedKeyTable(at offset: Int, count: Int) -> Bool {
        guard count == cachedKeyTable.count, count > 0 else { return false }
        return cachedKeyTable.withUnsafeBytes { cached in
            guard let cachedBase = cached.baseAddress else { return false }
            return memcmp(cachedBase, base + offset, count) == 0
        }
    }

    /// Parses the key table at `offset`, which must run exactly to `limit`, and caches it.
    private func readKeyTable(at offset: Int, limit total: Int) throws -> [String] {
        var p = offset
        let count = try readVarint(&p, limit: total)
        guard count <= UInt64(total - p) else {
            throw corrupt("key table at offset \(offset) declares \(count) keys, but only \(total - p) bytes remain")
        }
        try chargeElements(Int(count), stride: MemoryLayout<String>.stride, at: offset)
        var table: [String] = []
        table.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            table.append(try readStringBody(&p, limit: total))
        }
        guard p == total else {
            throw corrupt("trailing bytes: \(total - p) bytes after the key table at offset \(p)")
        }
        if total - offset <= Self.keyTableCacheLimit {
            cachedKeyTable = Array(UnsafeRawBufferPointer(start: base + offset, count: total - offset))
            cachedKeys = table
        }
        return table
    }

    /// Largest key table (in bytes) kept for the next message.
    static let keyTableCacheLimit = 1024

    // MARK: Scalars

    @inline(__always)
    func readStringBody(_ p: inout Int, limit: Int) throws -> String {
        let start = p
        let length = try readLength(&p, limit: limit)
        let string = Self.utf8String(UnsafeRawBufferPointer(start: base + p, count: length))
        guard let string else { throw corrupt("invalid UTF-8 in string at offset \(start)") }
        p += length
        return string
    }

    /// The string in `raw`, or nil if it is not valid UTF-8.
    @inline(__always)
    static func utf8String(_ raw: UnsafeRawBufferPointer) -> String? {
        raw.withMemoryRebound(to: UInt8.self) { utf8 -> String? in
            // ASCII needs no validation and takes the fast path; anything else is validated.
            var high: UInt8 = 0
            for byte in utf8 { high |= byte }
            if high < 0x80 { return String(decoding: utf8, as: UTF8.self) }
            return String(validating: utf8, as: UTF8.self)
        }
    }

    @inline(__always)
    func readString(_ p: inout Int, limit: Int) throws -> String {
        let tag = try byte(at: p, limit: limit)
        guard tag == WireTag.string else { throw mismatch(String.self, expected: "string", tag: tag, at: p) }
        p += 1
        return try readStringBody(&p, limit: limit)
    }

    @inline(__always)
    func readBool(_ p: inout Int, limit: Int) throws -> Bool {
        let tag = try byte(at: p, limit: limit)
        switch tag {
        case WireTag.boolTrue: p += 1; return true
        case WireTag.boolFalse: p += 1; return false
        default: throw mismatch(Bool.self, expected: "bool", tag: tag, at: p)
        }
    }

    @inline(__always)
    func readNumber(_ p: inout Int, limit: Int, type: Any.Type, expected: String) throws -> _WireNumber {
        let tag = try byte(at: p, limit: limit)
        let start = p
        p += 1
        switch tag {
        case WireTag.int:
            let z = try readVarint(&p, limit: limit)
            return .int(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
        case WireTag.uint:
            return .uint(try readVarint(&p, limit: limit))
        case WireTag.float64:
            try need(8, at: p, limit: limit)
            defer { p += 8 }
            return .double(Double(bitPattern: loadLE(UInt64.self, at: p)))
        case WireTag.float32:
            try need(4, at: p, limit: limit)
            defer { p += 4 }
            return .float(Float(bitPattern: loadLE(UInt32.self, at: p)))
        case WireTag.int128:
            try need(16, at: p, limit: limit)
            defer { p += 16 }
            return .int128(loadLE(Int128.self, at: p))
        case WireTag.uint128:
            try need(16, at: p, limit: limit)
            defer { p += 16 }
            return .uint128(loadLE(UInt128.self, at: p))
        default:
            p = start
            throw mismatch(type, expected: expected, tag: tag, at: start)
        }
    }

    /// Reads one element of a bulk array of `kind` at `offset` (bounds already checked).
    @inline(__always)
    func readBulkNumber(kind: UInt8, at offset: Int) -> _WireNumber {
        switch kind {
        case WireBulkKind.int8: return .int(Int64(loadLE(Int8.self, at: offset)))
        case WireBulkKind.int16: return .int(Int64(loadLE(Int16.self, at: offset)))
        case WireBulkKind.int32: return .int(Int64(loadLE(Int32.self, at: offset)))
        case WireBulkKind.int64: return .int(loadLE(Int64.self, at: offset))
        case WireBulkKind.uint8: return .uint(UInt64(loadLE(UInt8.self, at: offset)))
        case WireBulkKind.uint16: return .uint(UInt64(loadLE(UInt16.self, at: offset)))
        case WireBulkKind.uint32: return .uint(UInt64(loadLE(UInt32.self, at: offset)))
        case WireBulkKind.uint64: return .uint(loadLE(UInt64.self, at: offset))
        case WireBulkKind.float32: return .float(Float(bitPattern: loadLE(UInt32.self, at: offset)))
        default: return .double(Double(bitPattern: loadLE(UInt64.self, at: offset)))
        }
    }

    func integer<I: FixedWidthInteger>(_ number: _WireNumber, as type: I.Type, at offset: Int) throws -> I {
        let described: String
        switch number {
        case .int(let v):
            if let r = I(exactly: v) { return r }
            described = String(v)
        case .uint(let v):
            if let r = I(exactly: v) { return r }
            described = String(v)
        case .int128(let v):
            if let r = I(exactly: v) { return r }
            described = String(v)
        case .uint128(let v):
            if let r = I(exactly: v) { return r }
            described = String(v)
        case .float, .double:
            throw DecodingError.typeMismatch(
                I.self,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "type mismatch: expected \(I.self), found floating-point number at offset \(offset)"))
        }
        throw DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: path,
                debugDescription: "number \(described) at offset \(offset) does not fit in \(I.self)"))
    }

    @inline(__always)
    func double(_ number: _WireNumber) -> Double {
        switch number {
        case .double(let v): return v
        case .float(let v): return Double(v)
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .int128(let v): return Double(v)
        case .uint128(let v): return Double(v)
        }
    }

    @inline(__always)
    func float(_ number: _WireNumber) -> Float {
        switch number {
        case .float(let v): return v
        case .double(let v): return Float(v)
        case .int(let v): return Float(v)
        case .uint(let v): return Float(v)
        case .int128(let v): return Float(v)
        case .uint128(let v): return Float(v)
        }
    }

    @inline(__always)
    func readInteger<I: FixedWidthInteger>(_ type: I.Type, _ p: inout Int, limit: Int) throws -> I {
        let start = p
        let number = try readNumber(&p, limit: limit, type: I.self, expected: "integer")
        return try integer(number, as: I.self, at: start)
    }

    @inline(__always)
    func readDouble(_ p: inout Int, limit: Int) throws -> Double {
        double(try readNumber(&p, limit: limit, type: Double.self, expected: "double"))
    }

    @inline(__always)
    func readFloat(_ p: inout Int, limit: Int) throws -> Float {
        float(try readNumber(&p, limit: limit, type: Float.self, expected: "float"))
    }

    // MARK: Values

    /// Decodes a `T` from the value at `pos`, whose extent has already been checked.
    func decodeValue<T: Decodable>(_ type: T.Type, at pos: Int) throws -> T {
        var p = pos
        if T.self == String.self { return _wireCast(try readString(&p, limit: end), to: T.self) }
        if T.self == Int.self { return _wireCast(try readInteger(Int.self, &p, limit: end), to: T.self) }
        if T.self == Double.self { return _wireCast(try readDouble(&p, limit: end), to: T.self) }
        if T.self == Bool.self { return _wireCast(try readBool(&p, limit: end), to: T.self) }
        if T.self == Float.self { return _wireCast(try readFloat(&p, limit: end), to: T.self) }
        if T.self == Int64.self { return _wireCast(try readInteger(Int64.self, &p, limit: end), to: T.self) }
        if T.self == UInt64.self { return _wireCast(try readInteger(UInt64.self, &p, limit: end), to: T.self) }
        if T.self == UInt.self { return _wireCast(try readInteger(UInt.self, &p, limit: end), to: T.self) }
        if T.self == Int32.self { return _wireCast(try readInteger(Int32.self, &p, limit: end), to: T.self) }
        if T.self == UInt32.self { return _wireCast(try readInteger(UInt32.self, &p, limit: end), to: T.self) }
        if T.self == Int16.self { return _wireCast(try readInteger(Int16.self, &p, limit: end), to: T.self) }
        if T.self == UInt16.self { return _wireCast(try readInteger(UInt16.self, &p, limit: end), to: T.self) }
        if T.self == Int8.self { return _wireCast(try readInteger(Int8.self, &p, limit: end), to: T.self) }
        if T.self == UInt8.self { return _wireCast(try readInteger(UInt8.self, &p, limit: end), to: T.self) }
        if let special = specialTypes.value(for: T.self, { T.self as? any _WireSpecialDecodable.Type }),
            try special._wireCanDecode(from: self, at: pos)
        {
            return try decodeSpecial(special, as: T.self, at: pos)
        }
        return try decodeGeneric(type, at: pos)
    }

    private func decodeSpecial<S: _WireSpecialDecodable, T>(_: S.Type, as: T.Type, at pos: Int) throws -> T {
        _wireCast(try S._wireDecode(from: self, at: pos), to: T.self)
    }

    /// Decodes through `T.init(from:)`, counting nesting against `maxDepth`.
    func decodeGeneric<T: Decodable>(_ type: T.Type, at pos: Int) throws -> T {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= maxDepth else { throw tooDeep(at: pos) }
        try charge(Self.objectOverhead, at: pos)
        return try T(from: _WireDecoderImpl(state: self, position: pos))
    }

    @inline(__always)
    func hint(_ level: Int) -> Int {
        level < hints.count ? hints[level] : -1
    }

    @inline(__always)
    func setHint(_ level: Int, _ value: Int) {
        if level < hints.count {
            hints[level] = value
        } else {
            while hints.count < level { hints.append(-1) }
            hints.append(value)
        }
    }

    /// Pops the coding path back to `count` keys (one at a time: cheaper than a range removal).
    @inline(__always)
    func popPath(to count: Int) {
        while path.count > count { path.removeLast() }
    }

    func codingPath(depth: Int, nested: [any CodingKey]) -> [any CodingKey] {
        nested.isEmpty ? Array(path.prefix(depth)) : Array(path.prefix(depth)) + nested
    }
}

/// The `Decoder` handed to `init(from:)`: the position of the value being decoded.
struct _WireDecoderImpl: Decoder {
    let state: _WireDecoderState
    let position: Int

    var codingPath: [any CodingKey] { state.path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(
            try _WireKeyedDecodingContainer<Key>(state: state, at: position, depth: state.path.count, nested: []))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try _WireUnkeyedDecodingContainer(state: state, at: position, depth: state.path.count, nested: [])
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        _WireSingleValueDecodingContainer(state: state, position: position)
    }
}
