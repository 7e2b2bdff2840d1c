import ExampleSupport
import MPI

/// `cf-point-to-point`: the MPI module's point-to-point calls between rank 0 and rank 1, each
/// checking what arrived and printing one line per check (`OK ...` or `FAIL ...`); the exit status
/// is 1 if any check failed.
///
///     mpiexec -n 2 cf-point-to-point
///     cf-point-to-point            # alone: rank 0 is both ends of every exchange
///
/// Ranks beyond 1 take no part. Alone, in a world of one rank, every message goes from rank 0 to
/// itself: a send to oneself is started without blocking (`isend`) and completed after the
/// receive, as MPI requires (a blocking send to oneself may wait forever for its receive).
@main
enum PointToPoint {
    static func main() {
        Checklist.run(program: "cf-point-to-point") { world, checks in
            if world.rank == 0 {
                print(world.size == 1
                    ? "a world of 1 rank: rank 0 sends every message to itself (run under mpiexec -n 2 for two processes)"
                    : "rank 0 sends to rank 1\(world.size > 2 ? "; ranks 2...\(world.size - 1) take no part" : "")")
            }
            if world.rank <= 1 {
                let peers = Peers(world: world)
                try dictionary(peers, &checks)
                try tagOrder(peers, &checks)
                try typedBuffer(peers, &checks)
                try nonBlocking(peers, &checks)
                try persistent(peers, &checks)
            }
        }
    }

    /// Who sends (rank 0) and who receives (rank 1, or rank 0 itself in a world of one).
    struct Peers {
        let world: Communicator
        /// The rank that receives.
        var receiver: Int { world.size > 1 ? 1 : 0 }
        /// Whether this rank sends.
        var isSender: Bool { world.rank == 0 }
        /// Whether this rank receives.
        var isReceiver: Bool { world.rank == receiver }
        /// Whether sender and receiver are this one process.
        var isSelf: Bool { receiver == 0 }

        /// Sends `value` to the receiver: a blocking send to another rank; to itself, a started
        /// one, returned to be waited for after the receive.
        func send(_ value: some Encodable, tag: Int) throws -> Request? {
            if isSelf { return try world.isend(value, to: receiver, tag: tag) }
            try world.send(value, to: receiver, tag: tag)
            return nil
        }
    }

    /// A `[String: Int]` (any Codable value) from rank 0, received from any source, with its status.
    static func dictionary(_ peers: Peers, _ checks: inout Checklist) throws {
        let sent = ["alpha": 1, "beta": 2, "gamma": 3]
        let pending = peers.isSender ? try peers.send(sent, tag: 7) : nil
        if peers.isReceiver {
            var status = Status()
            let received: [String: Int] = try peers.world.receive(from: .any, tag: 7, status: &status)
            checks.check("a [String: Int] from rank 0 with tag 7, received from any source", received == sent, "received \(received)")
            checks.check("its status names source 0 and tag 7", status.source == 0 && status.tag == 7, "status \(status)")
        }
        _ = try pending?.wait()
    }

    /// Two messages sent with tags 1 then 2; the receiver takes tag 2 first. The sends are started
    /// without blocking: a blocking send of the first could wait for a receive that comes only
    /// after the second message (MPI may, but need not, buffer small messages).
    static func tagOrder(_ peers: Peers, _ checks: inout Checklist) throws {
        var sends: [Request] = []
        if peers.isSender {
            sends.append(try peers.world.isend("first, tag 1", to: peers.receiver, tag: 1))
            sends.append(try peers.world.isend("second, tag 2", to: peers.receiver, tag: 2))
        }
        if peers.isReceiver {
            let second: String = try peers.world.receive(from: .rank(0), tag: .value(2))
            let first: String = try peers.world.receive(from: .rank(0), tag: .value(1))
            checks.check("sent with tag 1 then tag 2, received tag 2 first, then tag 1",
                         second == "second, tag 2" && first == "first, tag 1", "received \(second.debugDescription) then \(first.debugDescription)")
        }
        _ = try Request.waitAll(sends)
    }

    /// 1,000 `Int32`s sent straight from the array's storage and received into a new array.
    static func typedBuffer(_ peers: Peers, _ checks: inout Checklist) throws {
        let sent = (0..<1000).map { Int32($0 * 7 - 3000) }
        var pending: Request?
        if peers.isSender {
            if peers.isSelf {
                pending = try peers.world.isend(buffer: sent, to: peers.receiver, tag: 3)
            } else {
                try peers.world.send(buffer: sent, to: peers.receiver, tag: 3)
            }
        }
        if peers.isReceiver {
            var status = Status()
            let received = try peers.world.receiveBuffer(of: Int32.self, from: .rank(0), tag: .value(3), status: &status)
            checks.check("a typed buffer of 1,000 Int32 (4,000 bytes)", received == sent && status.count == 4000,
                         "received \(received.count) values, status \(status)")
        }
        _ = try pending?.wait()
    }

    /// Ranks 0 and 1 swap arrays at once with `ireceive(into:)` and `isend`, neither copied:
    /// MPI writes into the array handed over and reads the one sent from their own storage.
    static func nonBlocking(_ peers: Peers, _ checks: inout Checklist) throws {
        let world = peers.world
        let other = peers.isSelf ? 0 : 1 - world.rank
        let mine = (0..<256).map { Double(world.rank * 1000 + $0) / 8 }
        let expected = (0..<256).map { Double(other * 1000 + $0) / 8 }
        let buffer = [Double](repeating: -1, count: 256)
        let receive = try world.ireceive(into: consume buffer, from: other, tag: 4)
        let send = try world.isend(mine, to: other, tag: 4)
        _ = try send.wait()
        let (received, status) = try receive.wait()
        checks.check("non-blocking: isend and ireceive(into:) of 256 Double each way, zero-copy",
                     received == expected && status.source == other, "received \(received.prefix(3))..., status \(status)")
    }

    /// A persistent send and receive set up once and started three times, the sender changing
    /// its array between runs.
    static func persistent(_ peers: Peers, _ checks: inout Checklist) throws {
        let world = peers.world
        let send = peers.isSender ? try world.sendInit([Int64](repeating: 0, count: 64), to: peers.receiver, tag: 5) : nil
        let receive = peers.isReceiver ? try world.receiveInit(into: [Int64](repeating: 0, count: 64), from: 0, tag: 5) : nil
        var mismatches: [Int] = []
        for run in 1...3 {
            try send?.withBuffer { span in
                for index in 0..<span.count { span[index] = Int64(run * 1000 + index) }
            }
            try receive?.start()
            try send?.start()
            _ = try send?.wait()
            _ = try receive?.wait()
            let matches = try receive?.withBuffer { span in
                (0..<span.count).allSatisfy { span[$0] == Int64(run * 1000 + $0) }
            }
            if matches == false { mismatches.append(run) }
        }
        _ = try send?.free()
        _ = try receive?.free()
        if peers.isReceiver {
            checks.check("persistent requests: sendInit and receiveInit, started and waited for 3 times",
                         mismatches.isEmpty, "runs \(mismatches) received other values")
        }
    }
}
