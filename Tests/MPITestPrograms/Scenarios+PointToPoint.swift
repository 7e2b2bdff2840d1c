// Scenarios for the point-to-point calls of issue 14: zero-copy non-blocking transfers, send
// modes, matched probes, persistent requests, completion of many requests, and the call-site
// forms (plain Int sources and tags, types from context, PROC_NULL).

import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The address of an array's storage (nil for an empty array).
func storageAddress<T>(_ array: [T]) -> UInt {
    array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
}

/// Whether `array`'s storage is shared with another owner: changing a shared array moves it to a
/// copy. Changes nothing visible (writes the first element back).
func storageIsShared<T>(_ array: inout [T]) -> Bool {
    let before = storageAddress(array)
    array.withUnsafeMutableBufferPointer { buffer in
        if let first = buffer.first { buffer[0] = first }
    }
    return storageAddress(array) != before
}

/// Zero-copy isend and ireceive: the request shares the sent array's storage, and a receive lands
/// in the very storage it was given; receives without a size; PROC_NULL.
func zeroCopy(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let right = (rank + 1) % size
    let left = (rank + size - 1) % size
    let count = 1 << 17   // 1 MiB of Doubles

    // The send shares the caller's storage: changing the array afterwards copies it, on our side.
    var outgoing = (0..<count).map { Double(rank * count + $0) }
    let sentAddress = storageAddress(outgoing)
    let send = try world.isend(outgoing, to: right, tag: 1)
    try expect(storageIsShared(&outgoing), "isend copied the array instead of sharing its storage")
    try expect(storageAddress(outgoing) != sentAddress, "the caller's array did not move off the shared storage")
    outgoing[0] = -1   // Changing our copy cannot change the message.

    var incoming = [Double](repeating: 0, count: count)
    let receivedAddress = storageAddress(incoming)
    let receive = try world.ireceive(into: consume incoming, from: left, tag: 1)
    try expect(receive.request.isPersistent == false, "an ireceive is not persistent")
    try Request.waitAll([receive.request, send])
    let (values, status) = try receive.wait()
    incoming = values
    try expectMPIError(MPIError.Class.request) { _ = try receive.wait() }   // The array went back once.
    try expect(storageAddress(incoming) == receivedAddress, "the received array is not the storage given")
    try expect(status.source == left && status.tag == 1 && status.count == count * 8, "status \(status)")
    try expect(incoming[0] == Double(left * count) && incoming[count - 1] == Double(left * count + count - 1),
               "received \(incoming[0]) ... \(incoming[count - 1])")
    try expect(incoming.enumerated().allSatisfy { $0.element == Double(left * count + $0.offset) }, "received values")

    // A shorter message fills the front; the rest stays.
    let small = try world.isend([Int32(rank), 7], to: right, tag: 2)
    let partial = try world.ireceive(into: [Int32](repeating: -1, count: 5), from: left, tag: 2)
    let (five, partialStatus) = try partial.wait()
    try small.wait()
    try expect(five == [Int32(left), 7, -1, -1, -1] && partialStatus.count == 8, "partial \(five) \(partialStatus)")

    // Too long a message: the wait throws a truncation error.
    let long = try world.isend([Int64](repeating: 3, count: 10), to: right, tag: 3)
    let tooSmall = try world.ireceive(into: [Int64](repeating: 0, count: 4), from: left, tag: 3)
    try expectMPIError(MPIError.Class.truncate) { _ = try tooSmall.wait() }
    try long.wait()

    // Receives with no size to guess: the request probes, then receives exactly the message.
    let sized = try world.ireceive([Int32].self, from: left, tag: 4)
    let bytesIn = try world.ireceiveBytes(from: Source.any, tag: 5)
    let valueIn = try world.ireceiveBytes(from: left, tag: 6)
    let outs = [
        try world.isend((0..<(100 + rank)).map { Int32($0) }, to: right, tag: 4),
        try world.isend(bytes: [UInt8](repeating: UInt8(rank), count: 3 + rank), to: right, tag: 5),
        try world.isend(Message(rank: rank, text: "probed", values: [Double(rank)]), to: right, tag: 6),
    ]
    let (ints, intsStatus) = try sized.wait()
    try expect(ints == (0..<(100 + left)).map { Int32($0) } && intsStatus.count == (100 + left) * 4, "sized \(intsStatus)")
    let (bytes, bytesStatus) = try bytesIn.wait()
    try expect(bytes == [UInt8](repeating: UInt8(left), count: 3 + left) && bytesStatus.source == left, "bytes \(bytes)")
    let message: Message = try valueIn.waitValue()
    try expect(message == Message(rank: left, text: "probed", values: [Double(left)]), "value \(message)")
    try Request.waitAll(outs)

    // A probing receive can be cancelled before its message comes.
    let never = try world.ireceive([UInt8].self, from: left, tag: 99)
    try never.request.cancel()
    let (nothing, cancelled) = try never.wait()
    try expect(nothing.isEmpty && cancelled.isCancelled, "cancelled probing receive \(cancelled)")

    // PROC_NULL: sends and receives complete at once and move nothing.
    let null = MPI.processNull
    try world.send([1, 2, 3], to: null, tag: 7)
    try world.ssend([1.5], to: null)
    var nullStatus = Status()
    let none: [Int] = try world.receive(from: null, tag: 7, status: &nullStatus)
    try expect(none.isEmpty && nullStatus.source == null && nullStatus.count == 0, "PROC_NULL receive \(nullStatus)")
    let nullSend = try world.isend([Int16(1)], to: null, tag: 7)
    let nullReceive = try world.ireceive(into: [Int16](repeating: 9, count: 2), from: Source.processNull, tag: 7)
    try expect(try nullSend.test() != nil, "isend to PROC_NULL did not complete at once")
    let (untouched, nullReceiveStatus) = try nullReceive.wait()
    try expect(untouched == [9, 9] && nullReceiveStatus.source == null && nullReceiveStatus.count == 0,
               "ireceive from PROC_NULL \(untouched) \(nullReceiveStatus)")
    var buffer = [Int](repeating: 4, count: 2)
    let bufferStatus = try world.receive(into: &buffer, from: null)
    try expect(buffer == [4, 4] && bufferStatus.source == null, "receive(into:) from PROC_NULL")
    try world.barrier()
}

/// Synchronous, buffered and ready sends.
func sendModes(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let right = (rank + 1) % size
    let left = (rank + size - 1) % size

    // Issend completes only once the matching receive has started: the receiver waits for "go".
    if size >= 2 && rank < 2 {
        let partner = 1 - rank
        if rank == 0 {
            let request = try world.issend([Int32](repeating: 5, count: 4), to: partner, tag: 1)
            let until = MPI.wtime() + 0.2
            while MPI.wtime() < until {
                try expect(try request.test() == nil, "issend completed before the receive was posted")
                usleep(1000)
            }
            try world.send(bytes: Array("go".utf8), to: partner, tag: 2)
            let status = try request.wait()
            try expect(status.source == partner && status.tag == 1 && status.count == 16, "issend status \(status)")
        } else {
            let go = try world.receiveBytes(from: partner, tag: 2)
            try expect(go == Array("go".utf8), "go \(go)")
            let values: [Int32] = try world.receive(from: partner, tag: 1)
            try expect(values == [5, 5, 5, 5], "issend values \(values)")
        }
    }

    // Ssend around the ring (the receive is posted first, or the ring would deadlock).
    let ring = try world.ireceive(into: [Int](repeating: 0, count: 3), from: left, tag: 3)
    try world.ssend([rank, rank, rank], to: right, tag: 3)
    let (ringValues, _) = try ring.wait()
    try expect(ringValues == [left, left, left], "ssend ring \(ringValues)")
    // (A receive without a size is only posted once tested, so it cannot meet a blocking ssend
    // in a ring: the Codable ssend goes one way, between ranks 0 and 1.)
    if rank == 0 {
        try world.ssend("ssend from 0", to: 1, tag: 4)
    } else if rank == 1 {
        let text: String = try world.receive(from: 0, tag: 4)
        try expect(text == "ssend from 0", "Codable ssend \(text)")
    }
    let issendValue = try world.issend(["issend": rank], to: right, tag: 5)
    let issendIn: [String: Int] = try world.receive(from: left, tag: 5)
    try issendValue.wait()
    try expect(issendIn == ["issend": left], "Codable issend \(issendIn)")

    // Bsend: without a buffer it fails, whatever the size (Open MPI itself would send a small
    // message without one, and after refusing a large one could not reach `right` again: the
    // module checks first, and the barrier shows the job goes on); with one, it returns at once,
    // before any receive.
    try expectMPIError(MPIError.Class.buffer) { try world.bsend([Double](repeating: 1, count: 1000), to: right, tag: 6) }
    try expectMPIError(MPIError.Class.buffer) { try world.bsend([Double(1)], to: right, tag: 6) }
    try expectMPIError(MPIError.Class.buffer) { _ = try world.ibsend([Double(1)], to: right, tag: 6) }
    try world.barrier()
    let overhead = MPI.bufferedSendOverhead
    try expect(overhead > 0, "BSEND_OVERHEAD \(overhead)")
    try MPI.attachBuffer(byteCount: 3 * (800 + overhead) + 64)
    try expectMPIError { try MPI.attachBuffer(byteCount: 100) }
    // A message larger than the whole buffer fails too, and the sends below still arrive.
    try expectMPIError(MPIError.Class.buffer) { try world.bsend([Double](repeating: 1, count: 1000), to: right, tag: 6) }
    try expectMPIError(MPIError.Class.buffer) { _ = try world.ibsend([Double](repeating: 1, count: 1000), to: right, tag: 6) }
    try world.bsend([Double](repeating: Double(rank), count: 100), to: right, tag: 7)
    try world.bsend(["buffered", "\(rank)"], to: right, tag: 8)
    let ibsend = try world.ibsend([UInt8](repeating: UInt8(rank), count: 10), to: right, tag: 9)
    try ibsend.wait()
    let doubles: [Double] = try world.receive(from: left, tag: 7)
    let strings: [String] = try world.receive(from: left, tag: 8)
    let bytes = try world.receiveBytes(from: left, tag: 9)
    try expect(doubles == [Double](repeating: Double(left), count: 100), "bsend doubles")
    try expect(strings == ["buffered", "\(left)"], "bsend strings \(strings)")
    try expect(bytes == [UInt8](repeating: UInt8(left), count: 10), "ibsend bytes")
    let detached = try MPI.detachBuffer()
    try expect(detached == 3 * (800 + overhead) + 64, "detached \(detached) bytes")
    try expect(try MPI.detachBuffer() == 0, "a second detach")

    // Rsend: every receive is posted before the barrier, every rsend after it.
    let ready = try world.ireceive(into: [Float](repeating: 0, count: 2), from: left, tag: 10)
    let readyToo = try world.ireceive(into: [Float](repeating: 0, count: 1), from: left, tag: 11)
    try world.barrier()
    try world.rsend([Float(rank), 0.5], to: right, tag: 10)
    let irsend = try world.irsend([Float(-rank)], to: right, tag: 11)
    let (readyValues, _) = try ready.wait()
    let (readyTooValues, _) = try readyToo.wait()
    try irsend.wait()
    try expect(readyValues == [Float(left), 0.5] && readyTooValues == [Float(-left)], "rsend \(readyValues) \(readyTooValues)")
    try world.barrier()
}

/// Matched probes: the probed message is the one received, even when another of the same tag
/// arrived meanwhile.
func matchedProbe(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    // Pairs (0, 1), (2, 3): the odd rank sends, the even one probes.
    let partner = rank ^ 1
    if partner < size {
        if rank % 2 == 1 {
            try world.send([Int32(1), 2, 3], to: partner, tag: 5)
            try world.send([Int32(9), 9], to: partner, tag: 5)
            try world.send(bytes: [1], to: partner, tag: 6)
            try world.send(Message(rank: rank, text: "mprobe", values: []), to: partner, tag: 7)
            try world.send([Int64](repeating: 8, count: 6), to: partner, tag: 8)
            try world.send([Int64](repeating: 4, count: 3), to: partner, tag: 9)
            try world.send([Int64](repeating: 2, count: 2), to: partner, tag: 10)
        } else {
            let first = try world.mprobe(from: partner, tag: 5)
            try expect(first.status.source == partner && first.status.tag == 5 && first.status.count == 12,
                       "mprobe status \(first.status)")
            // Once tag 6 is in, the second tag-5 message is too; a plain receive takes it, not the probed one.
            _ = try world.receiveBytes(from: partner, tag: 6)
            let second: [Int32] = try world.receive(from: partner, tag: 5)
            try expect(second == [9, 9], "the plain receive got \(second)")
            let probed = try first.receive([Int32].self)
            try expect(probed == [1, 2, 3], "the matched receive got \(probed)")

            var found: MatchedMessage?
            let deadline = MPI.wtime() + 10
            while found == nil && MPI.wtime() < deadline { found = try world.improbe(from: Source.any, tag: 7) }
            guard let codable = found else { throw Failure(description: "improbe never found tag 7") }
            let decoded: Message = try codable.receive()
            try expect(decoded == Message(rank: partner, text: "mprobe", values: []), "decoded \(decoded)")
            try expect(try world.improbe(from: partner, tag: 77) == nil, "improbe found a message never sent")

            var into = [Int64](repeating: 0, count: 8)
            let status = try world.mprobe(from: partner, tag: 8).receive(into: &into)
            try expect(into == [8, 8, 8, 8, 8, 8, 0, 0] && status.count == 48, "mrecv into \(into) \(status)")
            let pending = try world.mprobe(from: partner, tag: 9).ireceive(into: [Int64](repeating: 0, count: 3))
            let (imrecv, _) = try pending.wait()
            try expect(imrecv == [4, 4, 4], "imrecv into \(imrecv)")
            let sized = try world.mprobe(from: partner, tag: 10).ireceive([Int64].self)
            let (exact, _) = try sized.wait()
            try expect(exact == [2, 2], "imrecv sized \(exact)")
        }
    }
    // Any source: rank 0 takes one message from every other rank, each by a matched probe.
    if rank == 0 {
        var seen: Set<Int> = []
        for _ in 1..<size {
            let message = try world.mprobe(from: Source.any, tag: 20)
            let source = message.status.source
            let values = try message.receive([Int].self)
            try expect(values == [source, source * 2], "from \(source): \(values)")
            seen.insert(source)
        }
        try expect(seen == Set(1..<size), "sources \(seen)")
    } else {
        try world.send([rank, rank * 2], to: 0, tag: 20)
    }
    try world.barrier()
}

/// testAll, testAny, waitSome, testSome, waitAny: indices and statuses.
func completion(_ world: Communicator) throws {
    let rank = world.rank
    let partner = rank ^ 1
    if partner < world.size {
        if rank % 2 == 0 {
            let receives = try (0..<3).map { try world.ireceive(into: [Int](repeating: 0, count: 1), from: partner, tag: 10 + $0) }
            let requests = receives.map { $0.request }
            try expect(try Request.testAll(requests) == nil, "testAll before any send")
            try expect(try Request.testAny(requests) == nil, "testAny before any send")
            try expect(try Request.testSome(requests).isEmpty, "testSome before any send")
            try world.send([11], to: partner, tag: 1)   // Ask for tag 11 only.
            let some = try Request.waitSome(requests)
            let someIndices = some.map { $0.index }
            try expect(someIndices == [1] && some[0].status.tag == 11, "waitSome \(someIndices)")
            try expect(try Request.testAny(requests) == nil, "testAny with 10 and 12 outstanding")
            try world.send([12], to: partner, tag: 1)
            let any = try Request.waitAny(requests)
            try expect(any.index == 2 && any.status.tag == 12, "waitAny \(any.index)")
            try world.send([10], to: partner, tag: 1)
            var last: (index: Int, status: Status)?
            let deadline = MPI.wtime() + 10
            while last == nil && MPI.wtime() < deadline {
                last = try Request.testAny(requests)
            }
            try expect(last?.index == 0 && last?.status.tag == 10, "testAny \(String(describing: last?.index))")
            let all = try Request.testAll(requests)
            let tags = all?.map { $0.tag }
            try expect(tags == [10, 11, 12], "testAll \(String(describing: all))")
            try expectMPIError(MPIError.Class.request) { _ = try Request.waitSome(requests) }
            try expectMPIError(MPIError.Class.request) { _ = try Request.testSome(requests) }
            try expectMPIError(MPIError.Class.request) { _ = try Request.testAny(requests) }
            var values: [Int] = []
            for receive in receives { values += try receive.wait().0 }
            try expect(values == [110, 111, 112], "values \(values)")
        } else {
            for _ in 0..<3 {
                let tag: [Int] = try world.receive(from: partner, tag: 1)
                try world.send([100 + tag[0]], to: partner, tag: tag[0])
            }
        }
    }
    // testSome may report several at once: two sends to oneself, both complete, in index order.
    let me = Communicator.selfCommunicator
    let a = try me.ireceive(into: [UInt8](repeating: 0, count: 1), from: 0, tag: 1)
    let b = try me.ireceive(into: [UInt8](repeating: 0, count: 1), from: 0, tag: 2)
    let sends = [try me.isend(bytes: [2], to: 0, tag: 2), try me.isend(bytes: [1], to: 0, tag: 1)]
    try Request.waitAll(sends)
    var done: [Int] = []
    let deadline = MPI.wtime() + 10
    while done.count < 2 && MPI.wtime() < deadline {
        let some = try Request.testSome([a.request, b.request])
        done += some.map { $0.index }
    }
    try expect(done.sorted() == [0, 1], "testSome \(done)")
    let (aValue, _) = try a.wait()
    let (bValue, _) = try b.wait()
    try expect(aValue == [1] && bValue == [2], "self receives \(aValue) \(bValue)")
    try world.barrier()
}

/// Persistent requests: a ring started 10 times with sendInit/receiveInit and startAll, and a
/// 1-D halo exchange with PROC_NULL at both ends, checked against the same computation done serially.
func persistent(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let right = (rank + 1) % size
    let left = (rank + size - 1) % size

    var sendBuffer = [Int](repeating: 0, count: 4)
    let sendAddress = storageAddress(sendBuffer)
    let receiveBuffer = [Int](repeating: -1, count: 4)
    let receiveAddress = storageAddress(receiveBuffer)
    let send = try world.sendInit(consume sendBuffer, to: right, tag: 3)
    let receive = try world.receiveInit(into: consume receiveBuffer, from: left, tag: 3)
    try expect(send.request.isPersistent && send.isComplete, "a new persistent request is inactive")
    for iteration in 0..<10 {
        try send.withBuffer { span in
            for index in span.indices { span[index] = rank * 1000 + iteration * 10 + index }
        }
        try Request.startAll([receive.request, send.request])
        try expectMPIError(MPIError.Class.request) { try send.start() }
        try expectMPIError(MPIError.Class.request) { try receive.withBuffer { _ in } }
        let statuses = try Request.waitAll([send.request, receive.request])
        try expect(statuses[1].source == left && statuses[1].count == 32, "iteration \(iteration): \(statuses[1])")
        let got = try receive.withBuffer { span in (0..<span.count).map { span[$0] } }
        try expect(got == (0..<4).map { left * 1000 + iteration * 10 + $0 }, "iteration \(iteration): \(got)")
    }
    try expectMPIError(MPIError.Class.request) { try Request.selfCommunicatorProbe() }
    sendBuffer = try send.free()
    let received = try receive.free()
    try expectMPIError(MPIError.Class.request) { _ = try send.free() }
    try expectMPIError(MPIError.Class.request) { try receive.start() }
    try expectMPIError(MPIError.Class.request) { try receive.withBuffer { _ in } }
    try expect(storageAddress(sendBuffer) == sendAddress, "sendInit moved the array it was given")
    try expect(storageAddress(received) == receiveAddress, "receiveInit moved the array it was given")
    try expect(received == (0..<4).map { left * 1000 + 90 + $0 }, "last ring values \(received)")

    // Halo exchange: each rank owns `cells` values plus a ghost cell at each end; PROC_NULL
    // neighbours at the ends leave the outer ghosts at 0.
    let cells = 5
    let steps = 10
    let lower = rank == 0 ? MPI.processNull : rank - 1
    let upper = rank == size - 1 ? MPI.processNull : rank + 1
    var owned = (0..<cells).map { Double(rank * cells + $0 + 1) }
    let toLower = try world.sendInit([Double](repeating: 0, count: 1), to: lower, tag: 1)
    let toUpper = try world.sendInit([Double](repeating: 0, count: 1), to: upper, tag: 2)
    let fromLower = try world.receiveInit(into: [Double](repeating: 0, count: 1), from: lower, tag: 2)
    let fromUpper = try world.receiveInit(into: [Double](repeating: 0, count: 1), from: upper, tag: 1)
    let all = [toLower.request, toUpper.request, fromLower.request, fromUpper.request]
    for _ in 0..<steps {
        let (first, last) = (owned[0], owned[cells - 1])
        try toLower.withBuffer { $0[0] = first }
        try toUpper.withBuffer { $0[0] = last }
        try Request.startAll(all)
        try Request.waitAll(all)
        let below = try fromLower.withBuffer { $0[0] }
        let above = try fromUpper.withBuffer { $0[0] }
        let outerBelow: Double = lower == MPI.processNull ? 0 : below
        let outerAbove: Double = upper == MPI.processNull ? 0 : above
        owned = smoothed([outerBelow] + owned + [outerAbove])
    }
    // The same steps on the whole line, serially.
    var line = (0..<(size * cells)).map { Double($0 + 1) }
    for _ in 0..<steps {
        line = smoothed([0] + line + [0])
    }
    try expect(owned == Array(line[(rank * cells)..<((rank + 1) * cells)]), "halo result \(owned)")
    for request in [toLower, toUpper, fromLower, fromUpper] { _ = try request.free() }
    try world.barrier()
}

/// One step of the halo program: each inner cell becomes the mean of itself and its neighbours.
func smoothed(_ padded: [Double]) -> [Double] {
    (1..<(padded.count - 1)).map { (index: Int) -> Double in
        let sum: Double = padded[index - 1] + padded[index] + padded[index + 1]
        return sum / 3
    }
}

extension Request {
    /// Starting a request that is not persistent throws.
    static func selfCommunicatorProbe() throws {
        let request = try Communicator.selfCommunicator.isend([1], to: 0, tag: 50)
        defer { _ = try? Communicator.selfCommunicator.receiveBytes(from: 0, tag: 50) }
        try request.start()
    }
}

/// The non-blocking exchange of the cluster articles: every rank posts its receives from both
/// neighbours, sends to both, and waits for all four at once; then 1,000 Int32 each way between pairs.
func nonBlockingExchange(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let right = (rank + 1) % size
    let left = (rank + size - 1) % size
    let fromLeft = try world.ireceive(into: [Int](repeating: 0, count: 2), from: left, tag: 1)
    let fromRight = try world.ireceive(into: [Int](repeating: 0, count: 2), from: right, tag: 2)
    let toRight = try world.isend([rank, 1], to: right, tag: 1)
    let toLeft = try world.isend([rank, 2], to: left, tag: 2)
    let statuses = try Request.waitAll([fromLeft.request, fromRight.request, toRight, toLeft])
    try expect(statuses[0].source == left && statuses[1].source == right, "sources \(statuses)")
    let (leftValues, _) = try fromLeft.wait()
    let (rightValues, _) = try fromRight.wait()
    try expect(leftValues == [left, 1] && rightValues == [right, 2], "exchange \(leftValues) \(rightValues)")

    let partner = rank ^ 1
    if partner < size {
        let mine = (0..<1000).map { Int32(rank * 1000 + $0) }
        let incoming = try world.ireceive(into: [Int32](repeating: 0, count: 1000), from: partner, tag: 3)
        let outgoing = try world.isend(mine, to: partner, tag: 3)
        let (theirs, status) = try incoming.wait()
        try outgoing.wait()
        try expect(theirs == (0..<1000).map { Int32(partner * 1000 + $0) } && status.count == 4000, "pair exchange \(status)")
    }
    try world.barrier()
}

/// Call sites: plain Int sources and tags, `.any`, types from context, statuses only when asked,
/// arrays without `buffer:` on the typed path.
func callSites(_ world: Communicator) throws {
    let rank = world.rank
    let size = world.size
    let right = (rank + 1) % size
    let left = (rank + size - 1) % size
    let tag = 40 + rank

    // Plain Int variables for source and tag, and the type from context.
    try world.send(Message(rank: rank, text: "call site", values: [1]), to: right, tag: 40 + right)
    let message: Message = try world.receive(from: left, tag: tag)
    try expect(message.rank == left, "message from \(message.rank)")
    try world.send("any", to: right, tag: 3)
    let anyText = try world.receive(String.self, from: .any, tag: 3)
    try expect(anyText == "any", "any source \(anyText)")
    try world.send("any tag", to: right, tag: 4)
    var status = Status()
    let anyTag: String = try world.receive(from: left, tag: .any, status: &status)
    try expect(anyTag == "any tag" && status.tag == 4 && status.source == left, "any tag \(status)")

    // An array without a label takes the typed path: a typed receive of exactly its size gets it.
    try world.send([Int](arrayLiteral: rank, 2, 3), to: right, tag: 5)
    var three = [Int](repeating: 0, count: 3)
    let typedStatus = try world.receive(into: &three, from: left, tag: 5)
    try expect(three == [left, 2, 3] && typedStatus.count == 24, "typed path \(three) \(typedStatus)")
    try world.send([Double](repeating: 0.25, count: 4), to: right, tag: 6)
    let doubles: [Double] = try world.receive(from: left, tag: 6)
    try expect(doubles == [0.25, 0.25, 0.25, 0.25], "context-typed array \(doubles)")
    let request = try world.isend([UInt16(7), 8], to: right, tag: 7)
    var shorts = [UInt16](repeating: 0, count: 2)
    try world.receive(into: &shorts, from: left, tag: 7)
    try request.wait()
    try expect(shorts == [7, 8], "isend without a label \(shorts)")

    // Probes and byte receives take plain Ints too.
    try world.send(bytes: [UInt8(rank)], to: right, tag: 40 + right)
    let probed = try world.probe(from: left, tag: 40 + rank)
    try expect(probed.source == left && probed.count == 1, "probe \(probed)")
    let single = try world.receiveBytes(from: left, tag: tag)
    try expect(single == [UInt8(left)], "bytes \(single)")

    // sendReceive and receiveBuffer give the value alone, typed from context, and the status on request.
    let fromLeft: Message = try world.sendReceive(Message(rank: rank, text: "exchange", values: [Double(rank)]), to: right,
                                                  sendTag: 8, from: left, receiveTag: 8)
    try expect(fromLeft.rank == left && fromLeft.values == [Double(left)], "sendReceive from context \(fromLeft)")
    var exchangeStatus = Status()
    let fromRight = try world.sendReceive([rank, 9], to: left, sendTag: 9, receiving: [Int].self, from: right,
                                          receiveTag: .any, status: &exchangeStatus)
    try expect(fromRight == [right, 9] && exchangeStatus.source == right && exchangeStatus.tag == 9,
               "sendReceive with status \(fromRight) \(exchangeStatus)")
    let exchangedBytes = try world.sendReceive(bytes: [UInt8(rank), 1], to: right, sendTag: 10, from: left, receiveTag: 10)
    try expect(exchangedBytes == [UInt8(left), 1], "sendReceive bytes \(exchangedBytes)")
    let typedExchange = try world.sendReceive(buffer: [UInt32(rank), 13, 14], to: right, sendTag: 13, from: left, receiveTag: 13)
    try expect(typedExchange == [UInt32(left), 13, 14], "typed sendReceive \(typedExchange)")
    var typedExchangeStatus = Status()
    let typedLonger = try world.sendReceive(buffer: [Int16](repeating: Int16(rank), count: rank + 1), to: left, sendTag: 14,
                                            from: right, receiveTag: .any, status: &typedExchangeStatus)
    try expect(typedLonger == [Int16](repeating: Int16(right), count: right + 1) && typedExchangeStatus.source == right
                   && typedExchangeStatus.tag == 14 && typedExchangeStatus.count == 2 * (right + 1),
               "typed sendReceive with status \(typedLonger) \(typedExchangeStatus)")
    try world.send(buffer: [Int32(rank), 11, 12], to: right, tag: 11)
    let typedBuffer: [Int32] = try world.receiveBuffer(from: left, tag: 11)
    try expect(typedBuffer == [Int32(left), 11, 12], "receiveBuffer from context \(typedBuffer)")
    try world.send(buffer: [Float](repeating: 1.5, count: 5), to: right, tag: 12)
    var bufferStatus = Status()
    let floats = try world.receiveBuffer(of: Float.self, from: .any, tag: 12, status: &bufferStatus)
    try expect(floats == [Float](repeating: 1.5, count: 5) && bufferStatus.source == left && bufferStatus.count == 20,
               "receiveBuffer with status \(floats) \(bufferStatus)")
    try world.barrier()
}

/// The point-to-point scenarios, merged into `scenarios` by main.swift. (A function, not a global:
/// a global dictionary of closures would have to be `Sendable`, and merging a dictionary of
/// `@Sendable` closures into main.swift's crashes at run time with a failed cast.)
func pointToPointScenarios() -> [String: (Communicator) throws -> Void] { [
    "zero-copy": zeroCopy,
    "send-modes": sendModes,
    "mprobe": matchedProbe,
    "completion": completion,
    "persistent": persistent,
    "nonblocking-exchange": nonBlockingExchange,
    "call-sites": callSites,
] }
