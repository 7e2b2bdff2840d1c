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
