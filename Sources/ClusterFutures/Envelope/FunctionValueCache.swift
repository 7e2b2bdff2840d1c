import ClusterFuturesWire
import Synchronization

/// The encoding of a function type without stored properties (`struct Square: RemoteFunction {}`),
/// kept after the first call: every value of such a type is the same, so it encodes to the same
/// bytes, and encoding it again on each call would be most of a small call's cost.
final class EncodedFunctionCache: Sendable {
    private let bytes = Mutex<[UInt8]?>(nil)

    /// Appends `function`'s encoding to `buffer`, from the cache when its type has no stored
    /// properties.
    func encode<F: RemoteFunction>(_ function: F, appendingTo buffer: inout [UInt8]) throws {
        guard MemoryLayout<F>.size == 0 else {
            try WireEncoder().encode(function, appendingTo: &buffer)
            return
        }
        if let cached = bytes.withLock({ $0 }) {
            buffer.append(contentsOf: cached)
            return
        }
        var encoded: [UInt8] = []
        try WireEncoder().encode(function, appendingTo: &encoded)
        bytes.withLock { $0 = encoded }
        buffer.append(contentsOf: encoded)
    }
}

/// The other side of ``EncodedFunctionCache``: a function type without stored properties, decoded
/// once from the bytes its calls carry and reused while they carry the same bytes. Any other
/// bytes are decoded (and so checked) as usual.
///
/// Not generic, so that no type is built from `F` at run time on each call (the code that decodes
/// a task runs unspecialized, and instantiating `Optional<F>` or a tuple with `F` costs more than
/// decoding an empty value).
final class DecodedFunctionCache: Sendable {
    private struct Last {
        var bytes: [UInt8] = []
        var function: (any Sendable)?
    }

    private let last = Mutex(Last())

    func decode<F: RemoteFunction>(_: F.Type, from bytes: ArraySlice<UInt8>) throws -> F {
        guard MemoryLayout<F>.size == 0 else { return try WireDecoder().decode(F.self, from: bytes) }
        let cached = last.withLock { last in last.bytes.elementsEqual(bytes) ? last.function : nil }
        if let function = cached as? F { return function }
        let function = try WireDecoder().decode(F.self, from: bytes)
        last.withLock { $0 = Last(bytes: Array(bytes), function: function) }
        return function
    }
}
