/// Writes key/value entries into one open keyed frame.
struct _WireKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: _WireEncoderState
    let frameID: Int
    let depth: Int
    let nested: [any CodingKey]

    var codingPath: [any CodingKey] { state.codingPath(depth: depth, nested: nested) }

    @inline(__always)
    private func begin(_ key: some CodingKey) throws {
        _ = try state.prepareWrite(frameID, codingPath: codingPath)
        state.writeKey(key)
    }

    mutating func encodeNil(forKey key: Key) throws { try begin(key); state.writeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try begin(key); state.writeBool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try begin(key); state.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try begin(key); state.writeDouble(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try begin(key); state.writeFloat(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try begin(key); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try begin(key); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try begin(key); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try begin(key); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try begin(key); state.writeSigned(value) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { try begin(key); state.writeInt128(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try begin(key); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try begin(key); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try begin(key); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try begin(key); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try begin(key); state.writeUnsigned(value) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { try begin(key); state.writeUInt128(value) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try state.encodeChild(value, key: key, nested: nested)
    }

    /// Skips nil; otherwise encodes `Optional.some(value)` so that a present `.some(nil)` of a
    /// nested optional keeps its outer layer.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return }
        try encode(Optional.some(value), forKey: key)
    }

    private func failedFrame(_ error: any Error) -> Int {
        if state.pendingError == nil, let error = error as? EncodingError { state.pendingError = error }
        return 0
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let id: Int
        do {
            try begin(key)
            id = state.openFrame(.keyed)
        } catch {
            id = failedFrame(error)
        }
        return KeyedEncodingContainer(
            _WireKeyedEncodingContainer<NestedKey>(state: state, frameID: id, depth: depth, nested: nested + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let id: Int
        do {
            try begin(key)
            id = state.openFrame(.unkeyed)
        } catch {
            id = failedFrame(error)
        }
        return _WireUnkeyedEncodingContainer(state: state, frameID: id, depth: depth, nested: nested + [key])
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(key: _WireIndexKey.superKey)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(key: key)
    }

    private func superEncoder(key: some CodingKey) -> any Encoder {
        do {
            try begin(key)
            _ = state.openFrame(.slot)
            return _WireEncoderImpl(state: state, valueStart: state.bytes.count)
        } catch {
            _ = failedFrame(error)
            return _WireEncoderImpl(state: state, valueStart: -1)
        }
    }
}

/// Appends values to one open unkeyed frame.
struct _WireUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let state: _WireEncoderState
    let frameID: Int
    let depth: Int
    let nested: [any CodingKey]

    var codingPath: [any CodingKey] { state.codingPath(depth: depth, nested: nested) }

    var count: Int {
        for frame in state.frames.reversed() where frame.id == frameID { return frame.count }
        return 0
    }

    /// Readies the frame for one more element and returns that element's index.
    @inline(__always)
    private func begin() throws -> Int {
        let i = try state.prepareWrite(frameID, codingPath: codingPath)
        let index = state.frames[i].count
        state.frames[i].count = index + 1
        return index
    }

    mutating func encodeNil() throws { _ = try begin(); state.writeNil() }
    mutating func encode(_ value: Bool) throws { _ = try begin(); state.writeBool(value) }
    mutating func encode(_ value: String) throws { _ = try begin(); state.writeString(value) }
    mutating func encode(_ value: Double) throws { _ = try begin(); state.writeDouble(value) }
    mutating func encode(_ value: Float) throws { _ = try begin(); state.writeFloat(value) }
    mutating func encode(_ value: Int) throws { _ = try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8) throws { _ = try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int16) throws { _ = try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32) throws { _ = try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64) throws { _ = try begin(); state.writeSigned(value) }
    mutating func encode(_ value: Int128) throws { _ = try begin(); state.writeInt128(value) }
    mutating func encode(_ value: UInt) throws { _ = try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { _ = try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { _ = try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { _ = try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { _ = try begin(); state.writeUnsigned(value) }
    mutating func encode(_ value: UInt128) throws { _ = try begin(); state.writeUInt128(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = try begin()
        try state.encodeChild(value, key: _WireIndexKey(intValue: index), nested: nested)
    }

    private func failedFrame(_ error: any Error) -> Int {
        if state.pendingError == nil, let error = error as? EncodingError { state.pendingError = error }
        return 0
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let id: Int
        var key = _WireIndexKey(intValue: 0)
        do {
            key = _WireIndexKey(intValue: try begin())
            id = state.openFrame(.keyed)
        } catch {
            id = failedFrame(error)
        }
        return KeyedEncodingContainer(
            _WireKeyedEncodingContainer<NestedKey>(state: state, frameID: id, depth: depth, nested: nested + [key]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let id: Int
        var key = _WireIndexKey(intValue: 0)
        do {
            key = _WireIndexKey(intValue: try begin())
            id = state.openFrame(.unkeyed)
        } catch {
            id = failedFrame(error)
        }
        return _WireUnkeyedEncodingContainer(state: state, frameID: id, depth: depth, nested: nested + [key])
    }

    mutating func superEncoder() -> any Encoder {
        do {
            _ = try begin()
            _ = state.openFrame(.slot)
            return _WireEncoderImpl(state: state, valueStart: state.bytes.count)
        } catch {
            _ = failedFrame(error)
            return _WireEncoderImpl(state: state, valueStart: -1)
        }
    }
}

/// Writes exactly one value at the position of its encoder.
struct _WireSingleValueEncodingContainer: SingleValueEncodingContainer {
    let state: _WireEncoderState
    let valueStart: Int

    var codingPath: [any CodingKey] { state.path }

    @inline(__always)
    private func begin() throws {
        guard state.bytes.count == valueStart else {
            throw EncodingError.invalidValue(
                valueStart,
                EncodingError.Context(
                    codingPath: state.path,
                    debugDescription: "single value container: a value was already encoded at this "
                        + "position, or the container was used after its parent moved on"))
        }
    }

    mutating func encodeNil() throws { try begin(); state.writeNil() }
    mutating func encode(_ value: Bool) throws { try begin(); state.writeBool(value) }
    mutating func encode(_ value: String) throws { try begin(); state.writeString(value) }
    mutating func encode(_ value: Double) throws { try begin(); state.writeDouble(value) }
    mutating func encode(_ value: Float) throws { try begin(); state.writeFloat(value) }
    mutating func encode(_ value: Int) throws { try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8) throws { try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int16) throws { try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32) throws { try begin(); state.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64) throws { try begin(); state.writeSigned(value) }
    mutating func encode(_ value: Int128) throws { try begin(); state.writeInt128(value) }
    mutating func encode(_ value: UInt) throws { try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { try begin(); state.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { try begin(); state.writeUnsigned(value) }
    mutating func encode(_ value: UInt128) throws { try begin(); state.writeUInt128(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try begin()
        try state.encodeValue(value)
    }
}
