import Foundation

/// Encodes `Encodable` values into the compact ClusterFutures binary format.
///
/// The encoder streams straight into one byte array: containers are length-prefixed and their
/// lengths are patched when they close. Keys are interned into a per-message key table that
/// follows the value, so arrays of structs repeat only one-byte key indices.
public struct WireEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// Encodes `value` into a new byte array.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var buffer: [UInt8] = []
        try encode(value, appendingTo: &buffer)
        return buffer
    }

    /// Appends the encoding of `value` to `buffer` (lets callers put a frame header first without copying).
    /// On error `buffer` is restored to its previous length.
    public func encode<T: Encodable>(_ value: T, appendingTo buffer: inout [UInt8]) throws {
        // A top-level primitive is just the header and the tagged value: no state object needed.
        if _WireWriter.writePrimitiveMessage(value, into: &buffer) { return }
        var state = _WireEncoderState.acquire()
        swap(&state.bytes, &buffer)  // hand the storage over so it stays uniquely referenced
        state.bytes.reserveCapacity(state.bytes.count + 64)
        let start = state.bytes.count
        do {
            try state.encodeMessage(value, start: start)
        } catch {
            state.bytes.removeSubrange(start...)
            swap(&state.bytes, &buffer)
            _WireEncoderState.recycle(&state)
            throw error
        }
        swap(&state.bytes, &buffer)  // and back: the state is left holding the caller's empty array
        _WireEncoderState.recycle(&state)
    }
}

/// The byte layout of primitive values, shared by the encoder state and the top-level fast path
/// of `WireEncoder.encode` (so both produce the same bytes by construction).
enum _WireWriter {
    @inline(__always)
    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func fixed<I: FixedWidthInteger>(_ value: I, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    static func stringBody(_ string: String, into bytes: inout [UInt8]) {
        var s = string
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count), into: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always)
    static func bool(_ v: Bool, into bytes: inout [UInt8]) {
        bytes.append(v ? WireTag.boolTrue : WireTag.boolFalse)
    }

    @inline(__always)
    static func signed(_ v: Int64, into bytes: inout [UInt8]) {
        bytes.append(WireTag.int)
        varint(UInt64(bitPattern: (v &<< 1) ^ (v >> 63)), into: &bytes)
    }

    @inline(__always)
    static func unsigned(_ v: UInt64, into bytes: inout [UInt8]) {
        bytes.append(WireTag.uint)
        varint(v, into: &bytes)
    }

    @inline(__always)
    static func float(_ v: Float, into bytes: inout [UInt8]) {
        bytes.append(WireTag.float32)
        fixed(v.bitPattern, into: &bytes)
    }

    @inline(__always)
    static func double(_ v: Double, into bytes: inout [UInt8]) {
        bytes.append(WireTag.float64)
        fixed(v.bitPattern, into: &bytes)
    }

    @inline(__always)
    static func string(_ v: String, into bytes: inout [UInt8]) {
        bytes.append(WireTag.string)
        stringBody(v, into: &bytes)
    }

    /// Writes `value` if `T` is exactly one of the primitive types (Bool, String, Float, Double and
    /// the integers up to 64 bits) and returns true; otherwise writes nothing and returns false.
    @inline(__always)
    static func writePrimitive<T>(_ value: T, into bytes: inout [UInt8]) -> Bool {
        if T.self == Int.self { signed(Int64(_wireCast(value, to: Int.self)), into: &bytes); return true }
        if T.self == String.self { string(_wireCast(value, to: String.self), into: &bytes); return true }
        if T.self == Double.self { double(_wireCast(value, to: Double.self), into: &bytes); return true }
        if T.self == Bool.self { bool(_wireCast(value, to: Bool.self), into: &bytes); return true }
        if T.self == Float.self { float(_wireCast(value, to: Float.self), into: &bytes); return true }
        if T.self == Int64.self { signed(_wireCast(value, to: Int64.self), into: &bytes); return true }
        if T.self == UInt64.self { unsigned(_wireCast(value, to: UInt64.self), into: &bytes); return true }
        if T.self == UInt.self { unsigned(UInt64(_wireCast(value, to: UInt.self)), into: &bytes); return true }
        if T.self == Int32.self { signed(Int64(_wireCast(value, to: Int32.self)), into: &bytes); return true }
        if T.self == UInt32.self { unsigned(UInt64(_wireCast(value, to: UInt32.self)), into: &bytes); return true }
        if T.self == Int16.self { signed(Int64(_wireCast(value, to: Int16.self)), into: &bytes); return true }
        if T.self == UInt16.self { unsigned(UInt64(_wireCast(value, to: UInt16.self)), into: &bytes); return true }
        if T.self == Int8.self { signed(Int64(_wireCast(value, to: Int8.self)), into: &bytes); return true }
        if T.self == UInt8.self { unsigned(UInt64(_wireCast(value, to: UInt8.self)), into: &bytes); return true }
        return false
    }

    /// A whole message (`headerPlain` + value) for a top-level primitive, or false (nothing
    /// written) when `T` is not one: exactly what the general path writes for these types, since
    /// a primitive never adds a key table.
    @inline(__always)
    static func writePrimitiveMessage<T>(_ value: T, into bytes: inout [UInt8]) -> Bool {
        guard isPrimitive(T.self) else { return false }
        bytes.append(WireTag.headerPlain)
        return writePrimitive(value, into: &bytes)
    }

    @inline(__always)
    static func isPrimitive<T>(_: T.Type) -> Bool {
        T.self == Int.self || T.self == String.self || T.self == Double.self || T.self == Bool.self
            || T.self == Float.self || T.self == Int64.self || T.self == UInt64.self || T.self == UInt.self
            || T.self == Int32.self || T.self == UInt32.self || T.self == Int16.self || T.self == UInt16.self
            || T.self == Int8.self || T.self == UInt8.self
    }
}

/// A coding key for positions in unkeyed containers (and for `super`); one word, so it is stored
/// inline in an existential and costs nothing until its `stringValue` is asked for.
struct _WireIndexKey: CodingKey {
    /// The position, or -1 for the key "super".
    let index: Int

    var intValue: Int? { index >= 0 ? index : nil }
    var stringValue: String { index >= 0 ? "Index \(index)" : "super" }

    init(intValue: Int) { index = intValue }
    init?(stringValue: String) {
        guard stringValue == "super" else { return nil }
        index = -1
    }
    private init(super: Void) { index = -1 }

    static let superKey = _WireIndexKey(super: ())
}

/// Reinterprets `value` as `To`; callers establish `From.self == To.self` first.
@inline(__always)
func _wireCast<From, To>(_ value: From, to: To.Type) -> To {
    assert(From.self == To.self)
    return unsafeBitCast(value, to: To.self)
}

/// Mutable state shared by every encoder and container of one `encode` call.
final class _WireEncoderState {
    enum FrameKind { case keyed, unkeyed, slot }

    /// An open container (or a pending value slot handed out by `superEncoder`).
    struct Frame {
        var id: Int
        var kind: FrameKind
        var headerPos: Int
        var bodyStart: Int
        var count: Int
    }

    // @exclusivity(unchecked): one state object serves a single encode or decode call, on the
    // calling thread, and never escapes it; no access to these properties overlaps another (none is
    // passed inout across a call that touches the same property), so the dynamic checks that
    // class properties otherwise get only cost time here.
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) var frames: [Frame] = []
    @exclusivity(unchecked) var nextFrameID = 1
    /// Key name → index, built only once the key table outgrows `linearKeyLimit`.
    @exclusivity(unchecked) var keyIndex = [String: Int]()
    @exclusivity(unchecked) var keyList: [String] = []
    @exclusivity(unchecked) var path: [any CodingKey] = []
    /// The first `EncodingError` a non-throwing container method ran into, rethrown at the end.
    /// (Held as `any Error`: an optional of the resilient `EncodingError` costs outlined value
    /// witness calls on every check and on deinit.)
    @exclusivity(unchecked) var pendingError: (any Error)?
    /// `T.self as? any _WireSpecialEncodable.Type` per type seen.
    @exclusivity(unchecked) var specialTypes = _WireTypeCache<any _WireSpecialEncodable.Type>()
    /// Arrays left out of the message (`WireBuffer`), and the size from which they are; `Int.max`
    /// unless the caller asked for out-of-band buffers.
    @exclusivity(unchecked) var outOfBand: [WireBuffer] = []
    @exclusivity(unchecked) var outOfBandMinimum = Int.max

    init() {}

    // MARK: Message

    func encodeMessage<T: Encodable>(_ value: T, start: Int) throws {
        bytes.append(WireTag.headerPlain)
        try encodeValue(value)
        try closeFrames(downTo: 0)
        if let pendingError { throw pendingError }
        if !keyList.isEmpty {
            bytes[start] = WireTag.headerKeyTable
            writeVarint(UInt64(keyList.count))
            for key in keyList { writeStringBody(key) }
        }
    }

    // MARK: Raw writes (the byte layout itself lives in `_WireWriter`)

    @inline(__always)
    func writeVarint(_ value: UInt64) { _WireWriter.varint(value, into: &bytes) }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        var n = 1
        var v = value >> 7
        while v != 0 { n += 1; v >>= 7 }
        return n
    }

    @inline(__always)
    func writeFixed<I: FixedWidthInteger>(_ value: I) { _WireWriter.fixed(value, into: &bytes) }

    @inline(__always)
    func writeStringBody(_ string: String) { _WireWriter.stringBody(string, into: &bytes) }

    // MARK: Tagged primitives

    @inline(__always) func writeNil() { bytes.append(WireTag.null) }
    @inline(__always) func writeBool(_ v: Bool) { _WireWriter.bool(v, into: &bytes) }
    @inline(__always) func writeSigned(_ v: Int64) { _WireWriter.signed(v, into: &bytes) }
    @inline(__always) func writeUnsigned(_ v: UInt64) { _WireWriter.unsigned(v, into: &bytes) }

    func writeInt128(_ v: Int128) {
        if let small = Int64(exactly: v) { writeSigned(small); return }
        bytes.append(WireTag.int128)
        writeFixed(v)
    }

    func writeUInt128(_ v: UInt128) {
        if let small = UInt64(exactly: v) { writeUnsigned(small); return }
        bytes.append(WireTag.uint128)
        writeFixed(v)
    }

    @inline(__always) func writeFloat(_ v: Float) { _WireWriter.float(v, into: &bytes) }
    @inline(__always) func writeDouble(_ v: Double) { _WireWriter.double(v, into: &bytes) }
    @inline(__always) func writeString(_ v: String) { _WireWriter.string(v, into: &bytes) }

    /// Writes the key-table index of `key`, adding it to the table on first use. Small tables are
    /// searched linearly (cheaper than hashing for the few keys of typical structs).
    @inline(__always)
    func writeKey(_ key: some CodingKey) {
        let name = key.stringValue
        let count = keyList.count
        if count <= Self.linearKeyLimit {
            var i = 0
            while i < count {
                if keyList[i] == name {
                    writeVarint(UInt64(i))
                    return
                }
                i += 1
            }
            keyList.append(name)
            if count == Self.linearKeyLimit {
                for (index, known) in keyList.enumerated() { keyIndex[known] = index }
            }
            writeVarint(UInt64(count))
            return
        }
        if let index = keyIndex[name] {
            writeVarint(UInt64(index))
        } else {
            keyIndex[name] = count
            keyList.append(name)
            writeVarint(UInt64(count))
        }
    }

    static let linearKeyLimit = 16

    func writeBulk(kind: UInt8, count: Int, raw: UnsafeRawBufferPointer) {
        if bytes.capacity - bytes.count < raw.count + 12 {
            // Grow once to the exact size (plus room for a small tail such as a key table)
            // instead of doubling through several copies of a large payload.
            bytes.reserveCapacity(bytes.count + raw.count + 64)
        }
        bytes.append(WireTag.bulk)
        bytes.append(kind)
        writeVarint(UInt64(count))
        bytes.append(contentsOf: raw)
    }

    // MARK: Frames

    func openFrame(_ kind: FrameKind) -> Int {
        let id = nextFrameID
        nextFrameID += 1
        let headerPos = bytes.count
        switch kind {
        case .keyed:
            bytes.append(WireTag.keyed)
            bytes.append(0)  // body length, patched on close
        case .unkeyed:
            bytes.append(WireTag.unkeyed)
            bytes.append(0)  // body length
            bytes.append(0)  // element count
        case .slot:
            break
        }
        frames.append(Frame(id: id, kind: kind, headerPos: headerPos, bodyStart: bytes.count, count: 0))
        return id
    }

    /// Makes frame `id` the innermost open frame, closing any frames nested in it, and returns its
    /// index; throws if the frame has already been closed (interleaved container writes).
    @inline(__always)
    func prepareWrite(_ id: Int, codingPath: @autoclosure () -> [any CodingKey]) throws -> Int {
        let last = frames.count - 1
        if last >= 0 && frames[last].id == id { return last }
        return try prepareWriteSlow(id, codingPath: codingPath())
    }

    func prepareWriteSlow(_ id: Int, codingPath: [any CodingKey]) throws -> Int {
        var i = frames.count - 1
        while i >= 0 {
            if frames[i].id == id {
                try closeFrames(downTo: i + 1)
                return i
            }
            i -= 1
        }
        throw EncodingError.invalidValue(
            id,
            EncodingError.Context(
                codingPath: codingPath,
                debugDescription: "interleaved container writes are not supported: this container was "
                    + "already closed because its parent (or a sibling opened later) was written to; "
                    + "finish writing a nested container before writing to its parent again"))
    }

    func closeFrames(downTo count: Int) throws {
        while frames.count > count {
            let frame = frames.removeLast()
            switch frame.kind {
            case .slot:
                if bytes.count == frame.headerPos { writeEmptyKeyed() }
            case .keyed:
                let bodyLength = bytes.count - frame.bodyStart
                if bodyLength < 0x80 {
                    bytes[frame.headerPos + 1] = UInt8(bodyLength)
                } else {
                    let needed = Self.varintSize(UInt64(bodyLength))
                    bytes.insert(contentsOf: repeatElement(0, count: needed - 1), at: frame.bodyStart)
                    patchVarint(UInt64(bodyLength), at: frame.headerPos + 1)
                }
            case .unkeyed:
                let elements = bytes.count - frame.bodyStart
                let countSize = Self.varintSize(UInt64(frame.count))
                let bodyLength = elements + countSize
                if bodyLength < 0x80 {
                    bytes[frame.headerPos + 1] = UInt8(bodyLength)
                    bytes[frame.headerPos + 2] = UInt8(frame.count)
                } else {
                    let lengthSize = Self.varintSize(UInt64(bodyLength))
                    let extra = lengthSize + countSize - 2
                    if extra > 0 {
                        bytes.insert(contentsOf: repeatElement(0, count: extra), at: frame.bodyStart)
                    }
                    let next = patchVarint(UInt64(bodyLength), at: frame.headerPos + 1)
                    patchVarint(UInt64(frame.count), at: next)
                }
            }
        }
    }

    @discardableResult
    func patchVarint(_ value: UInt64, at position: Int) -> Int {
        var v = value
        var p = position
        while v >= 0x80 {
            bytes[p] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            p += 1
        }
        bytes[p] = UInt8(truncatingIfNeeded: v)
        return p + 1
    }

    func writeEmptyKeyed() {
        bytes.append(WireTag.keyed)
        bytes.append(0)
    }

    // MARK: Values

    /// Encodes one value at the current end of the buffer.
    func encodeValue<T: Encodable>(_ value: T) throws {
        // Exact-type fast paths for values reached through generic code (array elements, etc.).
        if _WireWriter.writePrimitive(value, into: &bytes) { return }
        if let special = specialTypes.value(for: T.self, { T.self as? any _WireSpecialEncodable.Type }) {
            if try encodeSpecial(special, value) { return }
        }
        try encodeGeneric(value)
    }

    private func encodeSpecial<S: _WireSpecialEncodable, T>(_: S.Type, _ value: T) throws -> Bool {
        try _wireCast(value, to: S.self)._wireEncode(into: self)
    }

    /// Encodes `value` through its own `encode(to:)`.
    func encodeGeneric<T: Encodable>(_ value: T) throws {
        let base = frames.count
        let start = bytes.count
        try value.encode(to: _WireEncoderImpl(state: self, valueStart: start))
        try closeFrames(downTo: base)
        if bytes.count == start { writeEmptyKeyed() }
    }

    /// Encodes a child value with `key` pushed onto the coding path.
    @inline(__always)
    func encodeChild<T: Encodable>(_ value: T, key: some CodingKey, nested: [any CodingKey]) throws {
        let saved = path.count
        if !nested.isEmpty { path.append(contentsOf: nested) }
        path.append(key)
        defer { popPath(to: saved) }
        try encodeValue(value)
    }

    /// Pops the coding path back to `count` keys (one at a time: cheaper than a range removal).
    @inline(__always)
    func popPath(to count: Int) {
        while path.count > count { path.removeLast() }
    }

    func codingPath(depth: Int, nested: [any CodingKey]) -> [any CodingKey] {
        Array(path.prefix(depth)) + nested
    }
}

/// The `Encoder` handed to `encode(to:)`: the position of the value being encoded.
struct _WireEncoderImpl: Encoder {
    let state: _WireEncoderState
    let valueStart: Int

    var codingPath: [any CodingKey] { state.path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// An open frame of `kind` that starts at this value, if any (a second request for the same
    /// container, e.g. a subclass and its superclass sharing one keyed container).
    private func existingFrame(_ kind: _WireEncoderState.FrameKind) -> Int? {
        var i = state.frames.count - 1
        while i >= 0 {
            let frame = state.frames[i]
            if frame.headerPos < valueStart { return nil }
            if frame.headerPos == valueStart && frame.kind == kind { return frame.id }
            i -= 1
        }
        return nil
    }

    private func frameID(for kind: _WireEncoderState.FrameKind, what: String) -> Int {
        if let id = existingFrame(kind) { return id }
        if state.bytes.count == valueStart { return state.openFrame(kind) }
        if state.pendingError == nil {
            state.pendingError = EncodingError.invalidValue(
                what,
                EncodingError.Context(
                    codingPath: state.path,
                    debugDescription: "cannot create a \(what) container: a different value was already "
                        + "encoded at this position, or the encoder was used after its parent moved on"))
        }
        return 0  // no frame has id 0: every write through this container throws
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let id = frameID(for: .keyed, what: "keyed")
        return KeyedEncodingContainer(
            _WireKeyedEncodingContainer<Key>(state: state, frameID: id, depth: state.path.count, nested: []))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let id = frameID(for: .unkeyed, what: "unkeyed")
        return _WireUnkeyedEncodingContainer(state: state, frameID: id, depth: state.path.count, nested: [])
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        _WireSingleValueEncodingContainer(state: state, valueStart: valueStart)
    }
}
