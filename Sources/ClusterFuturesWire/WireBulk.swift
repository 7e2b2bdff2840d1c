import Foundation

// Types the encoder and decoder treat specially wherever they appear: Optional (to keep nested
// optionals), arrays of trivial numbers and Data (one memcpy each way).

/// A type with its own wire representation. Returns false / nil to fall back to its Codable code.
protocol _WireSpecialEncodable {
    func _wireEncode(into state: _WireEncoderState) throws -> Bool
}

/// A type with its own wire reader for some encodings (`_wireCanDecode`); for the others the
/// decoder falls back to `init(from:)`. (No `Self?` results: instantiating `Optional<T>` metadata
/// in unspecialized code is measurably slow.)
protocol _WireSpecialDecodable {
    static func _wireCanDecode(from state: _WireDecoderState, at pos: Int) throws -> Bool
    static func _wireDecode(from state: _WireDecoderState, at pos: Int) throws -> Self
}

/// Marks `Optional` so that a `.some` wrapping another optional can be told apart.
protocol _WireOptionalMarker {}
extension Optional: _WireOptionalMarker {}

/// Trivial numeric types whose arrays are written as raw little-endian bytes.
protocol _WireBulkElement: Sendable {
    associatedtype _WireBits: FixedWidthInteger
    static var _wireKind: UInt8 { get }
    var _wireBits: _WireBits { get }
    init(_wireBits: _WireBits)
}

extension _WireBulkElement where Self: FixedWidthInteger {
    var _wireBits: Self { self }
    init(_wireBits: Self) { self = _wireBits }
}

extension Int8: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.int8 } }
extension Int16: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.int16 } }
extension Int32: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.int32 } }
extension Int64: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.int64 } }
extension UInt8: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.uint8 } }
extension UInt16: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.uint16 } }
extension UInt32: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.uint32 } }
extension UInt64: _WireBulkElement { static var _wireKind: UInt8 { WireBulkKind.uint64 } }
extension Int: _WireBulkElement {
    static var _wireKind: UInt8 { MemoryLayout<Int>.size == 8 ? WireBulkKind.int64 : WireBulkKind.int32 }
}
extension UInt: _WireBulkElement {
    static var _wireKind: UInt8 { MemoryLayout<UInt>.size == 8 ? WireBulkKind.uint64 : WireBulkKind.uint32 }
}
extension Float: _WireBulkElement {
    static var _wireKind: UInt8 { WireBulkKind.float32 }
    var _wireBits: UInt32 { bitPattern }
    init(_wireBits: UInt32) { self.init(bitPattern: _wireBits) }
}
extension Double: _WireBulkElement {
    static var _wireKind: UInt8 { WireBulkKind.float64 }
    var _wireBits: UInt64 { bitPattern }
    init(_wireBits: UInt64) { self.init(bitPattern: _wireBits) }
}

// MARK: - Encoding

extension _WireEncoderState {
    /// Writes the elements of a contiguous array of a bulk element type as raw little-endian bytes.
    fileprivate func writeBulk<Element>(
        kind: any _WireBulkElement.Type, _ buffer: UnsafeBufferPointer<Element>
    ) {
        #if _endian(little)
        writeBulk(kind: kind._wireKind, count: buffer.count, raw: UnsafeRawBufferPointer(buffer))
        #else
        writeBulkSwapped(kind, UnsafeRawBufferPointer(buffer), count: buffer.count)
        #endif
    }

    #if !_endian(little)
    private func writeBulkSwapped<E: _WireBulkElement>(_: E.Type, _ raw: UnsafeRawBufferPointer, count: Int) {
        bytes.append(WireTag.bulk)
        bytes.append(E._wireKind)
        writeVarint(UInt64(count))
        for i in 0..<count {
            writeFixed(raw.loadUnaligned(fromByteOffset: i * MemoryLayout<E>.stride, as: E.self)._wireBits)
        }
    }
    #endif

    /// Writes `elements` as an unkeyed container without going through an
    /// `UnkeyedEncodingContainer` (same bytes, fewer dynamic calls).
    fileprivate func writeElements<S: Sequence>(_ elements: S) throws where S.Element: Encodable {
        _ = openFrame(.unkeyed)
        let frameIndex = frames.count - 1
        var count = 0
        for element in elements {
            try encodeChild(element, key: _WireIndexKey(intValue: count), nested: [])
            count += 1
        }
        frames[frameIndex].count = count
        try closeFrames(downTo: frameIndex)
    }
}

extension Optional: _WireSpecialEncodable where Wrapped: Encodable {
    func _wireEncode(into state: _WireEncoderState) throws -> Bool {
        switch self {
        case .none:
            state.writeNil()
        case .some(let wrapped):
            if Wrapped.self is any _WireOptionalMarker.Type { state.bytes.append(WireTag.some) }
            try state.encodeValue(wrapped)
        }
        return true
    }
}

extension Array: _WireSpecialEncodable where Element: Encodable {
    func _wireEncode(into state: _WireEncoderState) throws -> Bool {
        try state.writeArray(self)
    }
}

extension ContiguousArray: _WireSpecialEncodable where Element: Encodable {
    func _wireEncode(into state: _WireEncoderState) throws -> Bool {
        try state.writeArray(self)
    }
}

extension _WireEncoderState {
    /// Writes an array: one bulk copy when its elements are trivial numbers, else element by element.
    fileprivate func writeArray<C: RandomAccessCollection>(_ array: C) throws -> Bool where C.Element: Encodable {
        if let kind = C.Element.self as? any _WireBulkElement.Type {
            #if _endian(little)
            let byteCount = array.count * MemoryLayout<C.Element>.stride
            if byteCount >= outOfBandMinimum, writeOutOfBand(array, kind: kind._wireKind, count: array.count, byteCount: byteCount) {
                return true
            }
            #endif
            if array.withContiguousStorageIfAvailable({ writeBulk(kind: kind, $0) }) != nil { return true }
        }
        try writeElements(array)
        return true
    }
}

extension Data: _WireSpecialEncodable {
    func _wireEncode(into state: _WireEncoderState) throws -> Bool {
        if count >= state.outOfBandMinimum, state.writeOutOfBand(self, kind: WireBulkKind.uint8, count: count, byteCount: count) {
            return true
        }
        withUnsafeBytes { raw in
            state.writeBulk(kind: WireBulkKind.uint8, count: raw.count, raw: raw)
        }
        return true
    }
}

// MARK: - Decoding

extension _WireDecoderState {
    /// Whether the value at `pos` is a bulk array of exactly `kind`.
    fileprivate func isBulk(of kind: UInt8, at pos: Int) throws -> Bool {
        let tag = try byte(at: pos, limit: end)
        guard tag == WireTag.bulk || tag == WireTag.outOfBand else { return false }
        return try byte(at: pos + 1, limit: end) == kind
    }

    /// Whether a collection of `Element` can be read directly from the value at `pos`: a bulk
    /// array of the element's own kind, or an unkeyed container. (A bulk array of another kind
    /// goes through `init(from:)`, which converts element by element.)
    fileprivate func canDecodeCollection<Element>(of _: Element.Type, at pos: Int) throws -> Bool {
        let tag = try byte(at: pos, limit: end)
        if tag == WireTag.unkeyed { return true }
        guard tag == WireTag.bulk || tag == WireTag.outOfBand, let kind = Element.self as? any _WireBulkElement.Type else {
            return false
        }
        return try byte(at: pos + 1, limit: end) == kind._wireKind
    }

    /// Reads the bulk array at `pos` (kind already checked) into a new collection with one copy.
    /// A new array holding `count` elements copied (one memcpy) from the raw bytes at `offset`.
    @inline(__always)
    private func copyBulk<E>(_: E.Type, count: Int, from offset: Int) -> [E] {
        [E](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0, let destination = buffer.baseAddress {
                UnsafeMutableRawPointer(destination).copyMemory(
                    from: base + offset, byteCount: count * MemoryLayout<E>.stride)
            }
            initialized = count
        }
    }

    fileprivate func decodeBulk<C: RangeReplaceableCollection & Decodable>(
        _: C.Type, at pos: Int, isArray: Bool, isContiguousArray: Bool
    ) throws -> C {
        var p = pos + 1
        let (_, count, byteCount) = try readBulkHeader(&p, limit: end)
        let offset = p
        try charge(byteCount + Self.objectOverhead, at: pos)
        #if _endian(little)
        // Concrete element types first: their array metadata is a cached constant, while
        // instantiating `[C.Element]` in unspecialized code costs a runtime lookup.
        if C.self == [Double].self { return _wireCast(copyBulk(Double.self, count: count, from: offset), to: C.self) }
        if C.self == [Float].self { return _wireCast(copyBulk(Float.self, count: count, from: offset), to: C.self) }
        if C.self == [Int].self { return _wireCast(copyBulk(Int.self, count: count, from: offset), to: C.self) }
        if C.self == [UInt8].self { return _wireCast(copyBulk(UInt8.self, count: count, from: offset), to: C.self) }
        if isArray {
            return _wireCast(copyBulk(C.Element.self, count: count, from: offset), to: C.self)
        }
        if isContiguousArray {
            try charge(byteCount + Self.objectOverhead, at: pos)  // the array copied into the result
            return _wireCast(ContiguousArray(copyBulk(C.Element.self, count: count, from: offset)), to: C.self)
        }
        #endif
        // Big-endian hosts: element by element through the unkeyed reader.
        return try C(from: _WireDecoderImpl(state: self, position: pos))
    }

    /// Reads an unkeyed container straight into a collection.
    fileprivate func decodeElements<C: RangeReplaceableCollection>(_: C.Type, at pos: Int) throws -> C
    where C.Element: Decodable {
        var p = pos + 1
        let length = try readLength(&p, limit: end)
        let bodyEnd = p + length
        let countOffset = p
        let count = try readVarint(&p, limit: bodyEnd)
        guard count <= UInt64(bodyEnd - p) else {
            throw corrupt(
                "unkeyed container at offset \(pos) declares \(count) elements at offset \(countOffset), "
                    + "but only \(bodyEnd - p) bytes remain")
        }
        nesting += 1
        let savedPath = path.count
        defer {
            nesting -= 1
            popPath(to: savedPath)
        }
        guard nesting <= maxDepth else { throw tooDeep(at: pos) }
        // The whole array is charged before its storage is reserved; its elements are not charged
        // again one by one.
        try chargeElements(Int(count), stride: MemoryLayout<C.Element>.stride, at: pos)
        var result = C()
        result.reserveCapacity(Int(count))
        path.append(_WireIndexKey(intValue: 0))
        for index in 0..<Int(count) {
            path[savedPath] = _WireIndexKey(intValue: index)
            let next = try skip(at: p, limit: bodyEnd)
            result.append(try decodeValue(C.Element.self, at: p))
            p = next
        }
        guard p == bodyEnd else {
            throw corrupt("unkeyed container at offset \(pos) has \(bodyEnd - p) bytes after its \(count) elements")
        }
        return result
    }

    fileprivate func decodeCollection<C: RangeReplaceableCollection & Decodable>(
        _: C.Type, at pos: Int, isArray: Bool, isContiguousArray: Bool
    ) throws -> C where C.Element: Decodable {
        switch try byte(at: pos, limit: end) {
        case WireTag.bulk:
            return try decodeBulk(C.self, at: pos, isArray: isArray, isContiguousArray: isContiguousArray)
        case WireTag.outOfBand where isArray:
            return _wireCast(try outOfBandArray(C.Element.self, at: pos), to: C.self)
        case WireTag.outOfBand where isContiguousArray:
            let array = try outOfBandArray(C.Element.self, at: pos)
            try charge(array.count * MemoryLayout<C.Element>.stride + Self.objectOverhead, at: pos)
            return _wireCast(ContiguousArray(array), to: C.self)
        default:
            break
        }
        if C.self == [String].self { return _wireCast(try decodeElements([String].self, at: pos), to: C.self) }
        return try decodeElements(C.self, at: pos)
    }
}

extension Optional: _WireSpecialDecodable where Wrapped: Decodable {
    static func _wireCanDecode(from state: _WireDecoderState, at pos: Int) throws -> Bool { true }

    static func _wireDecode(from state: _WireDecoderState, at pos: Int) throws -> Self {
        let tag = try state.byte(at: pos, limit: state.end)
        if tag == WireTag.null { return .none }
        if tag == WireTag.some { return .some(try state.decodeValue(Wrapped.self, at: pos + 1)) }
        return .some(try state.decodeValue(Wrapped.self, at: pos))
    }
}

extension Array: _WireSpecialDecodable where Element: Decodable {
    static func _wireCanDecode(from state: _WireDecoderState, at pos: Int) throws -> Bool {
        try state.canDecodeCollection(of: Element.self, at: pos)
    }

    static func _wireDecode(from state: _WireDecoderState, at pos: Int) throws -> Self {
        try state.decodeCollection(Self.self, at: pos, isArray: true, isContiguousArray: false)
    }
}

extension ContiguousArray: _WireSpecialDecodable where Element: Decodable {
    static func _wireCanDecode(from state: _WireDecoderState, at pos: Int) throws -> Bool {
        try state.canDecodeCollection(of: Element.self, at: pos)
    }

    static func _wireDecode(from state: _WireDecoderState, at pos: Int) throws -> Self {
        try state.decodeCollection(Self.self, at: pos, isArray: false, isContiguousArray: true)
    }
}

extension Data: _WireSpecialDecodable {
    static func _wireCanDecode(from state: _WireDecoderState, at pos: Int) throws -> Bool {
        try state.isBulk(of: WireBulkKind.uint8, at: pos)
    }

    static func _wireDecode(from state: _WireDecoderState, at pos: Int) throws -> Data {
        var p = pos + 1
        if try state.byte(at: pos, limit: state.end) == WireTag.outOfBand {
            let buffer = try state.readOutOfBand(&p, limit: state.end)
            if let data = buffer.adopt(as: Data.self) { return data }
            try state.charge(buffer.byteCount + _WireDecoderState.objectOverhead, at: pos)
            return buffer.withUnsafeBytes { Data($0) }
        }
        let (_, count, _) = try state.readBulkHeader(&p, limit: state.end)
        try state.charge(count + _WireDecoderState.objectOverhead, at: pos)
        return Data(bytes: state.base + p, count: count)
    }
}
