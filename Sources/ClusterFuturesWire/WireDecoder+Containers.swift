/// Reads entries of one keyed container. Lookups first try the entry after the last one read
/// (the common in-order case), then scan the container.
struct _WireKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: _WireDecoderState
    let bodyStart: Int
    let bodyEnd: Int
    let depth: Int
    let nested: [any CodingKey]

    init(state: _WireDecoderState, at pos: Int, depth: Int, nested: [any CodingKey]) throws {
        self.state = state
        self.depth = depth
        self.nested = nested
        var p = pos
        let tag = try state.byte(at: p, limit: state.end)
        guard tag == WireTag.keyed else {
            throw state.mismatch(
                KeyedDecodingContainer<Key>.self, expected: "keyed container", tag: tag, at: p)
        }
        p += 1
        let length = try state.readLength(&p, limit: state.end)
        bodyStart = p
        bodyEnd = p + length
        state.setHint(depth + nested.count, bodyStart)
    }

    var codingPath: [any CodingKey] { state.codingPath(depth: depth, nested: nested) }

    var allKeys: [Key] {
        var result: [Key] = []
        var p = bodyStart
        while p < bodyEnd {
            guard let id = try? state.readVarint(&p, limit: bodyEnd), id < UInt64(state.keys.count),
                let next = try? state.skip(at: p, limit: bodyEnd)
            else { break }
            if let key = Key(stringValue: state.keys[Int(id)]) {
                // A getter cannot throw: the charge is checked by the next one, or at the end.
                state.chargeLater(MemoryLayout<Key>.stride)
                result.append(key)
            }
            p = next
        }
        return result
    }

    /// Position of the value stored under `name` and of the entry after it, or nil.
    func find(_ name: String) throws -> (value: Int, next: Int)? {
        let hint = state.hint(depth + nested.count)
        if hint >= bodyStart && hint < bodyEnd {
            var p = hint
            let id = try state.readVarint(&p, limit: bodyEnd)
            guard id < UInt64(state.keys.count) else { throw badKey(id, at: hint) }
            if state.keys[Int(id)] == name {
                return (p, try state.skip(at: p, limit: bodyEnd))
            }
        }
        var p = bodyStart
        while p < bodyEnd {
            let entry = p
            let id = try state.readVarint(&p, limit: bodyEnd)
            guard id < UInt64(state.keys.count) else { throw badKey(id, at: entry) }
            let next = try state.skip(at: p, limit: bodyEnd)
            if state.keys[Int(id)] == name { return (p, next) }
            p = next
        }
        return nil
    }

    private func badKey(_ id: UInt64, at offset: Int) -> DecodingError {
        state.corrupt("key index \(id) at offset \(offset) is outside the key table of \(state.keys.count) keys")
    }

    func contains(_ key: Key) -> Bool {
        ((try? find(key.stringValue)) ?? nil) != nil
    }

    /// Finds the value under `key` (throwing keyNotFound) and marks the entry after it as the
    /// next expected one.
    private func require(_ key: some CodingKey) throws -> Int {
        guard let (value, next) = try find(key.stringValue) else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(
                    codingPath: codingPath,
                    debugDescription: "key not found: \"\(key.stringValue)\""))
        }
        state.setHint(depth + nested.count, next)
        return value
    }

    /// Runs `body` on the value under `key` with the key pushed onto the coding path.
    @inline(__always)
    private func withValue<R>(_ key: Key, _ body: (inout Int) throws -> R) throws -> R {
        var pos = try require(key)
        let saved = state.path.count
        if !nested.isEmpty { state.path.append(contentsOf: nested) }
        state.path.append(key)
        defer { state.popPath(to: saved) }
        try state.charge(MemoryLayout<R>.stride, at: pos)
        return try body(&pos)
    }

    /// Runs a primitive reader `body` on the value under `key`. The readers call no user code and
    /// use the coding path only for their errors, so instead of pushing the key for every read, the
    /// key is added to the path of an error when one is thrown (giving the same path).
    @inline(__always)
    private func readValue<R>(_ key: Key, _ body: (inout Int) throws -> R) throws -> R {
        var pos = try require(key)
        do {
            try state.charge(MemoryLayout<R>.stride, at: pos)
            return try body(&pos)
        } catch let error as DecodingError {
            throw atKey(error, key)
        }
    }

    /// `error`, thrown with the coding path of this container's parent, with `nested` and `key` added.
    private func atKey(_ error: DecodingError, _ key: Key) -> DecodingError {
        func moved(_ context: DecodingError.Context) -> DecodingError.Context {
            DecodingError.Context(
                codingPath: context.codingPath + nested + [key],
                debugDescription: context.debugDescription,
                underlyingError: context.underlyingError)
        }
        switch error {
        case .typeMismatch(let type, let context): return .typeMismatch(type, moved(context))
        case .valueNotFound(let type, let context): return .valueNotFound(type, moved(context))
        case .keyNotFound(let missing, let context): return .keyNotFound(missing, moved(context))
        case .dataCorrupted(let context): return .dataCorrupted(moved(context))
        @unknown default: return error
        }
    }

    /// One lookup for `decodeIfPresent` of a primitive: nil if absent or nil, else `body`'s value.
    @inline(__always)
    private func withPresentValue<R>(_ key: Key, _ body: (inout Int) throws -> R) throws -> R? {
        // Charged whether present or not: the optional field takes its room in any case.
        try state.charge(MemoryLayout<R?>.stride, at: bodyStart)
        guard let (value, next) = try find(key.stringValue) else { return nil }
        state.setHint(depth + nested.count, next)
        if try state.byte(at: value, limit: bodyEnd) == WireTag.null { return nil }
        var pos = value
        do {
            return try body(&pos)
        } catch let error as DecodingError {
            throw atKey(error, key)
        }
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try withPresentValue(key) { try state.readBool(&$0, limit: bodyEnd) }
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try withPresentValue(key) { try state.readString(&$0, limit: bodyEnd) }
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try withPresentValue(key) { try state.readDouble(&$0, limit: bodyEnd) }
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try withPresentValue(key) { try state.readFloat(&$0, limit: bodyEnd) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try withPresentValue(key) { try state.readInteger(Int.self, &$0, limit: bodyEnd) }
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try withPresentValue(key) { try state.readInteger(Int64.self, &$0, limit: bodyEnd) }
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        try withPresentValue(key) { try state.readInteger(UInt64.self, &$0, limit: bodyEnd) }
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let pos = try require(key)
        return try state.byte(at: pos, limit: bodyEnd) == WireTag.null
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try readValue(key) { try state.readBool(&$0, limit: bodyEnd) }
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try readValue(key) { try state.readString(&$0, limit: bodyEnd) }
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try readValue(key) { try state.readDouble(&$0, limit: bodyEnd) }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try readValue(key) { try state.readFloat(&$0, limit: bodyEnd) }
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try readValue(key) { try state.readInteger(Int.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try readValue(key) { try state.readInteger(Int8.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try readValue(key) { try state.readInteger(Int16.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try readValue(key) { try state.readInteger(Int32.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try readValue(key) { try state.readInteger(Int64.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 {
        try readValue(key) { try state.readInteger(Int128.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try readValue(key) { try state.readInteger(UInt.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try readValue(key) { try state.readInteger(UInt8.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try readValue(key) { try state.readInteger(UInt16.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try readValue(key) { try state.readInteger(UInt32.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try readValue(key) { try state.readInteger(UInt64.self, &$0, limit: bodyEnd) }
    }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 {
        try readValue(key) { try state.readInteger(UInt128.self, &$0, limit: bodyEnd) }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try withValue(key) { try state.decodeValue(T.self, at: $0) }
    }

    /// nil when the key is absent or holds nil; a nested optional's `.some(nil)` survives.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        // Charged whether present or not: the optional field takes its room in any case.
        try state.charge(MemoryLayout<T?>.stride, at: bodyStart)
        guard let (pos, next) = try find(key.stringValue) else { return nil }
        state.setHint(depth + nested.count, next)
        let saved = state.path.count
        if !nested.isEmpty { state.path.append(contentsOf: nested) }
        state.path.append(key)
        defer { state.popPath(to: saved) }
        if try state.byte(at: pos, limit: bodyEnd) == WireTag.null { return nil }
        if T.self is any _WireOptionalMarker.Type {
            // The encoder wrote `.some` marker + inner optional; the Optional reader unwraps it.
            return try state.decodeValue(T?.self, at: pos)
        }
        return try state.decodeValue(T.self, at: pos)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let pos = try require(key)
        return KeyedDecodingContainer(
            try _WireKeyedDecodingContainer<NestedKey>(state: state, at: pos, depth: depth, nested: nested + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let pos = try require(key)
        return try _WireUnkeyedDecodingContainer(state: state, at: pos, depth: depth, nested: nested + [key])
    }

    func superDecoder() throws -> any Decoder {
        _WireDecoderImpl(state: state, position: try require(_WireIndexKey.superKey))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        _WireDecoderImpl(state: state, position: try require(key))
    }
}

/// Reads the elements of an unkeyed container, or of a bulk array element by element.
struct _WireUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let state: _WireDecoderState
    var position: Int
    let bodyEnd: Int
    let count: Int?
    var currentIndex = 0
    let depth: Int
    let nested: [any CodingKey]
    /// The element kind when reading a bulk array, else nil.
    let bulkKind: UInt8?
    let bulkSize: Int

    init(state: _WireDecoderState, at pos: Int, depth: Int, nested: [any CodingKey]) throws {
        self.state = state
        self.depth = depth
        self.nested = nested
        var p = pos
        let tag = try state.byte(at: p, limit: state.end)
        p += 1
        switch tag {
        case WireTag.unkeyed:
            let length = try state.readLength(&p, limit: state.end)
            let end = p + length
            let countOffset = p
            let count = try state.readVarint(&p, limit: end)
            guard count <= UInt64(end - p) else {
                throw state.corrupt(
                    "unkeyed container at offset \(pos) declares \(count) elements at offset \(countOffset), "
                        + "but only \(end - p) bytes remain")
            }
            self.count = Int(count)
            bodyEnd = end
            bulkKind = nil
            bulkSize = 0
        case WireTag.bulk:
            let (kind, count, byteCount) = try state.readBulkHeader(&p, limit: state.end)
            self.count = count
            bodyEnd = p + byteCount
            bulkKind = kind
            bulkSize = WireBulkKind.size(kind) ?? 1
        default:
            throw state.mismatch([Any].self, expected: "unkeyed container", tag: tag, at: pos)
        }
        position = p
    }

    var codingPath: [any CodingKey] { state.codingPath(depth: depth, nested: nested) }
    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    /// Runs `body` on the next element, an `R` of `stride` bytes, with its index pushed onto the
    /// coding path.
    @inline(__always)
    private mutating func next<R>(_ type: Any.Type, stride: Int, _ body: (inout Int) throws -> R) throws -> R {
        guard currentIndex < (count ?? 0) else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: codingPath + [_WireIndexKey(intValue: currentIndex)],
                    debugDescription: "unkeyed container is at end: all \(count ?? 0) elements were read"))
        }
        let saved = state.path.count
        if !nested.isEmpty { state.path.append(contentsOf: nested) }
        state.path.append(_WireIndexKey(intValue: currentIndex))
        defer { state.popPath(to: saved) }
        try state.charge(stride, at: position)
        let result = try body(&position)
        currentIndex += 1
        return result
    }

    /// Reads the next element as a number, from a bulk array or a tagged value.
    @inline(__always)
    private mutating func nextNumber(_ type: Any.Type, stride: Int, expected: String) throws -> (_WireNumber, Int) {
        let kind = bulkKind
        let size = bulkSize
        let end = bodyEnd
        let state = self.state
        return try next(type, stride: stride) { p in
            let start = p
            if let kind {
                let number = state.readBulkNumber(kind: kind, at: p)
                p += size
                return (number, start)
            }
            return (try state.readNumber(&p, limit: end, type: type, expected: expected), start)
        }
    }

    private mutating func nextInteger<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let (number, offset) = try nextNumber(I.self, stride: MemoryLayout<I>.stride, expected: "integer")
        return try state.integer(number, as: I.self, at: offset)
    }

    private func bulkMismatch(_ type: Any.Type, expected: String) -> DecodingError {
        .typeMismatch(
            type,
            DecodingError.Context(
                codingPath: codingPath + [_WireIndexKey(intValue: currentIndex)],
                debugDescription: "type mismatch: expected \(expected), found bulk array element at offset \(position)"))
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < (count ?? 0) else {
            throw DecodingError.valueNotFound(
                Any?.self,
                DecodingError.Context(
                    codingPath: codingPath, debugDescription: "unkeyed container is at end"))
        }
        if bulkKind != nil { return false }
        if try state.byte(at: position, limit: bodyEnd) == WireTag.null {
            position += 1
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        if bulkKind != nil { throw bulkMismatch(Bool.self, expected: "bool") }
        let end = bodyEnd
        let state = self.state
        return try next(Bool.self, stride: MemoryLayout<Bool>.stride) { try state.readBool(&$0, limit: end) }
    }
    mutating func decode(_ type: String.Type) throws -> String {
        if bulkKind != nil { throw bulkMismatch(String.self, expected: "string") }
        let end = bodyEnd
        let state = self.state
        return try next(String.self, stride: MemoryLayout<String>.stride) { try state.readString(&$0, limit: end) }
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        state.double(try nextNumber(Double.self, stride: MemoryLayout<Double>.stride, expected: "double").0)
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        state.float(try nextNumber(Float.self, stride: MemoryLayout<Float>.stride, expected: "float").0)
    }
    mutating func decode(_ type: Int.Type) throws -> Int { try nextInteger(Int.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try nextInteger(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try nextInteger(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try nextInteger(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try nextInteger(Int64.self) }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try nextInteger(Int128.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try nextInteger(UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try nextInteger(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try nextInteger(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try nextInteger(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try nextInteger(UInt64.self) }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try nextInteger(UInt128.self) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if bulkKind != nil {
            // Elements of a bulk array are numbers; route the numeric types to the readers above.
            if T.self == Double.self { return _wireCast(try decode(Double.self), to: T.self) }
            if T.self == Float.self { return _wireCast(try decode(Float.self), to: T.self) }
            if T.self == Int.self { return _wireCast(try decode(Int.self), to: T.self) }
            if T.self == Int8.self { return _wireCast(try decode(Int8.self), to: T.self) }
            if T.self == Int16.self { return _wireCast(try decode(Int16.self), to: T.self) }
            if T.self == Int32.self { return _wireCast(try decode(Int32.self), to: T.self) }
            if T.self == Int64.self { return _wireCast(try decode(Int64.self), to: T.self) }
            if T.self == UInt.self { return _wireCast(try decode(UInt.self), to: T.self) }
            if T.self == UInt8.self { return _wireCast(try decode(UInt8.self), to: T.self) }
            if T.self == UInt16.self { return _wireCast(try decode(UInt16.self), to: T.self) }
            if T.self == UInt32.self { return _wireCast(try decode(UInt32.self), to: T.self) }
            if T.self == UInt64.self { return _wireCast(try decode(UInt64.self), to: T.self) }
            throw bulkMismatch(T.self, expected: "\(T.self)")
        }
        let end = bodyEnd
        let state = self.state
        return try next(T.self, stride: MemoryLayout<T>.stride) { p in
            let after = try state.skip(at: p, limit: end)
            let value = try state.decodeValue(T.self, at: p)
            p = after
            return value
        }
    }

    /// Checks that the next element exists, is not a bulk element, and returns its extent.
    private mutating func nextExtent(_ type: Any.Type) throws -> (start: Int, end: Int) {
        if bulkKind != nil { throw bulkMismatch(type, expected: "container") }
        guard currentIndex < (count ?? 0) else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(codingPath: codingPath, debugDescription: "unkeyed container is at end"))
        }
        let start = position
        let end = try state.skip(at: start, limit: bodyEnd)
        // The caller builds an element of its own from it, of a type the decoder does not see.
        try state.charge(_WireDecoderState.objectOverhead, at: start)
        return (start, end)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let (start, end) = try nextExtent(KeyedDecodingContainer<NestedKey>.self)
        let container = try _WireKeyedDecodingContainer<NestedKey>(
            state: state, at: start, depth: depth, nested: nested + [_WireIndexKey(intValue: currentIndex)])
        position = end
        currentIndex += 1
        return KeyedDecodingContainer(container)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (start, end) = try nextExtent([Any].self)
        let container = try _WireUnkeyedDecodingContainer(
            state: state, at: start, depth: depth, nested: nested + [_WireIndexKey(intValue: currentIndex)])
        position = end
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let (start, end) = try nextExtent((any Decoder).self)
        position = end
        currentIndex += 1
        return _WireDecoderImpl(state: state, position: start)
    }
}

/// Reads the one value at its decoder's position.
struct _WireSingleValueDecodingContainer: SingleValueDecodingContainer {
    let state: _WireDecoderState
    let position: Int

    var codingPath: [any CodingKey] { state.path }

    func decodeNil() -> Bool {
        (try? state.byte(at: position, limit: state.end)) == WireTag.null
    }

    private func read<R>(_ body: (inout Int) throws -> R) throws -> R {
        var p = position
        return try body(&p)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try read { try state.readBool(&$0, limit: state.end) } }
    func decode(_ type: String.Type) throws -> String { try read { try state.readString(&$0, limit: state.end) } }
    func decode(_ type: Double.Type) throws -> Double { try read { try state.readDouble(&$0, limit: state.end) } }
    func decode(_ type: Float.Type) throws -> Float { try read { try state.readFloat(&$0, limit: state.end) } }
    func decode(_ type: Int.Type) throws -> Int { try read { try state.readInteger(Int.self, &$0, limit: state.end) } }
    func decode(_ type: Int8.Type) throws -> Int8 { try read { try state.readInteger(Int8.self, &$0, limit: state.end) } }
    func decode(_ type: Int16.Type) throws -> Int16 { try read { try state.readInteger(Int16.self, &$0, limit: state.end) } }
    func decode(_ type: Int32.Type) throws -> Int32 { try read { try state.readInteger(Int32.self, &$0, limit: state.end) } }
    func decode(_ type: Int64.Type) throws -> Int64 { try read { try state.readInteger(Int64.self, &$0, limit: state.end) } }
    func decode(_ type: Int128.Type) throws -> Int128 { try read { try state.readInteger(Int128.self, &$0, limit: state.end) } }
    func decode(_ type: UInt.Type) throws -> UInt { try read { try state.readInteger(UInt.self, &$0, limit: state.end) } }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try read { try state.readInteger(UInt8.self, &$0, limit: state.end) } }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try read { try state.readInteger(UInt16.self, &$0, limit: state.end) } }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try read { try state.readInteger(UInt32.self, &$0, limit: state.end) } }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try read { try state.readInteger(UInt64.self, &$0, limit: state.end) } }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try read { try state.readInteger(UInt128.self, &$0, limit: state.end) } }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.decodeValue(T.self, at: position)
    }
}
