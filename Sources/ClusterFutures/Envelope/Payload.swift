import ClusterFuturesWire

/// An encoded request or reply with the out-of-band buffers that travel beside it (`WireBuffer`):
/// large arrays a transport sends and receives as they are, without the codec copying them.
/// `@_spi(ExecutorImplementation)`.
@_spi(ExecutorImplementation)
public struct Payload: Sendable {
    /// The message.
    public var bytes: [UInt8]
    /// The buffers the message refers to, in order.
    public var buffers: [WireBuffer]

    /// A message and its buffers.
    public init(bytes: [UInt8], buffers: [WireBuffer] = []) {
        self.bytes = bytes
        self.buffers = buffers
    }
}

extension ByteWriter {
    /// Appends `len value`: `value`'s encoding, whose arrays of at least `outOfBandMinimum` bytes
    /// (when given) are appended to `buffers` instead (see `WireBuffer`).
    mutating func appendLengthPrefixed<T: Encodable>(
        encoding value: T, outOfBandMinimum: Int?, buffers: inout [WireBuffer]
    ) throws {
        try appendLengthPrefixed { bytes in
            if let outOfBandMinimum {
                try WireEncoder().encode(value, appendingTo: &bytes, outOfBand: &buffers, minimumBytes: outOfBandMinimum)
            } else {
                try WireEncoder().encode(value, appendingTo: &bytes)
            }
        }
    }
}
