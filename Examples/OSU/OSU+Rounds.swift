import MPI

extension OSU {
    /// One ping-pong of `size` bytes (osu_latency): blocking send and receive, straight from and into
    /// the arrays' storage.
    static func latencyRound(size: Int, peer: Int, send: inout [UInt8], receive: inout [UInt8], on world: Communicator) throws {
        try send.withUnsafeBytes { sendBytes in
            try receive.withUnsafeMutableBytes { receiveBytes in
                let outgoing = UnsafeRawBufferPointer(rebasing: sendBytes[..<size])
                let incoming = UnsafeMutableRawBufferPointer(rebasing: receiveBytes[..<size])
                if world.rank == 0 {
                    try world.send(bytes: outgoing, to: peer, tag: 1)
                    _ = try world.receive(intoBytes: incoming, from: .rank(peer), tag: .value(1))
                } else {
                    _ = try world.receive(intoBytes: incoming, from: .rank(peer), tag: .value(1))
                    try world.send(bytes: outgoing, to: peer, tag: 1)
                }
            }
        }
    }

    /// The arrays of one message size's window: each message has its own, as each has its own
    /// slice of one large buffer in the C loops. Sends go straight from them and receives straight
    /// into them (the module's zero-copy non-blocking calls).
    struct Window {
        var sends: [[UInt8]]
        var receives: [[UInt8]]

        init(size: Int) {
            sends = (0..<OSU.window).map { _ in [UInt8](repeating: UInt8(ascii: "a"), count: size) }
            receives = (0..<OSU.window).map { _ in [UInt8](repeating: UInt8(ascii: "b"), count: size) }
        }

        /// Starts a receive into each of the window's arrays (handed over, not copied).
        mutating func startReceives(from peer: Int, tag: Int, on world: Communicator) throws -> [ReceiveRequest<UInt8>] {
            try receives.indices.map { index in
                var buffer: [UInt8] = []
                swap(&buffer, &receives[index])
                return try world.ireceive(into: consume buffer, from: peer, tag: tag)
            }
        }

        /// Waits for the receives and takes their arrays back.
        mutating func finishReceives(_ requests: [ReceiveRequest<UInt8>]) throws {
            for (index, request) in requests.enumerated() {
                receives[index] = try request.wait().0
            }
        }

        /// Starts a send from each of the window's arrays (kept, not copied).
        func startSends(to peer: Int, tag: Int, on world: Communicator) throws -> [Request] {
            try sends.map { try world.isend($0, to: peer, tag: tag) }
        }
    }

    /// One window of `size`-byte messages from rank 0 to rank 1 (osu_bw), then a 4-byte answer.
    static func bandwidthRound(window: inout Window, peer: Int, on world: Communicator) throws {
        var answer = [UInt8](repeating: 0, count: 4)
        if world.rank == 0 {
            _ = try Request.waitAll(window.startSends(to: peer, tag: 100, on: world))
            _ = try world.receive(into: &answer, from: .rank(peer), tag: .value(101))
        } else {
            try window.finishReceives(window.startReceives(from: peer, tag: 100, on: world))
            try world.send(buffer: answer, to: peer, tag: 101)
        }
    }

    /// One window of `size`-byte messages each way at once (osu_bibw).
    static func bidirectionalRound(window: inout Window, peer: Int, on world: Communicator) throws {
        let receives = try window.startReceives(from: peer, tag: 10, on: world)
        let sends = try window.startSends(to: peer, tag: 10, on: world)
        _ = try Request.waitAll(sends)
        try window.finishReceives(receives)
    }
}
