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

    /// One window of `size`-byte messages from rank 0 to rank 1 (osu_bw), then a 4-byte answer.
    static func bandwidthRound(size: Int, peer: Int, send: inout [UInt8], receive: inout [UInt8], on world: Communicator) throws {
        if world.rank == 0 {
            let requests = try send.withUnsafeBytes { bytes in
                try (0..<window).map { _ in try world.isend(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<size]), to: peer, tag: 100) }
            }
            for request in requests { _ = try request.wait() }
            _ = try receive.withUnsafeMutableBytes { bytes in
                try world.receive(intoBytes: UnsafeMutableRawBufferPointer(rebasing: bytes[..<4]), from: .rank(peer), tag: .value(101))
            }
        } else {
            let requests = try (0..<window).map { _ in try world.ireceiveBytes(capacity: size, from: .rank(peer), tag: .value(100)) }
            for request in requests { _ = try request.wait() }
            try send.withUnsafeBytes { bytes in
                try world.send(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<4]), to: peer, tag: 101)
            }
        }
    }

    /// One window of `size`-byte messages each way at once (osu_bibw).
    static func bidirectionalRound(size: Int, peer: Int, send: inout [UInt8], receive: inout [UInt8], on world: Communicator) throws {
        let receives = try (0..<window).map { _ in try world.ireceiveBytes(capacity: size, from: .rank(peer), tag: .value(10)) }
        let sends = try send.withUnsafeBytes { bytes in
            try (0..<window).map { _ in try world.isend(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<size]), to: peer, tag: 10) }
        }
        for request in receives + sends { _ = try request.wait() }
    }
}
