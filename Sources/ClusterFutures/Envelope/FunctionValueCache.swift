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

/// The other side of ``EncodedFunctionCache``: for a function type without stored properties, the
/// bytes its calls carry are decoded (and so checked) once, and while later calls carry the same
/// bytes they are not decoded again. Any other bytes are decoded as usual.
///
/// Not generic, and keeps no value of the function type: the code that decodes a task runs
/// unspecialized, where a type built from `F` (`F?`, or a cast from `any Sendable` to `F`) is looked
/// up at run time on each call, which costs more than decoding an empty value.
final class DecodedFunctionCache: Sendable {
    /// The last bytes that decoded as the function type, if any did.
    private let checked = Mutex<[UInt8]?>(nil)

    func decode<F: RemoteFunction>(_: F.Type, from bytes: ArraySlice<UInt8>) throws -> F {
        guard MemoryLayout<F>.size == 0 else { return try WireDecoder().decode(F.self, from: bytes) }
        if checked.withLock({ $0?.elementsEqual(bytes) ?? false }) {
            // A type with no stored bits has one value, so this is the value the same bytes decoded
            // to before, without decoding them again.
            return unsafeBitCast((), to: F.self)
        }
        let function = try WireDecoder().decode(F.self, from: bytes)
        checked.withLock { $0 = Array(bytes) }
        return function
    }
}
