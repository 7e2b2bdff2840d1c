import DequeModule

extension Executor {
    /// Applies `function` to every input and yields the results lazily, in input order (or as they
    /// complete, with `unordered`).
    ///
    /// ```swift
    /// let squares = try executor.map(Square(), 1...100_000, chunkSize: 64, bufferSize: 32)
    /// while let square = try squares.next() { total += square }
    /// // or: for try await square in squares { ... }
    /// ```
    ///
    /// - Parameters:
    ///   - function: the function to apply; its value travels with every chunk.
    ///   - inputs: any sequence, read lazily as chunks are submitted.
    ///   - timeout: measured from this call; when it passes before a result is ready, the iteration
    ///     throws ``ClusterFuturesError/Code-swift.struct/timedOut`` and cancels what is still pending.
    ///   - chunkSize: how many inputs travel in one message to one worker (at least 1).
    ///   - bufferSize: how many chunks may be submitted and not yet yielded (at least 1). With nil,
    ///     every input is submitted by this call, as Python's `map` does; give a size to map over a
    ///     huge or endless sequence in bounded memory.
    ///   - unordered: yield results as they complete instead of in input order.
    /// - Returns: the results. The error of input *k* is thrown when the iteration reaches it, after
    ///   every result before it; the iteration then ends and cancels the rest. Abandoning the
    ///   iteration cancels what has not started, and so does cancelling the Swift task that iterates
    ///   with `for try await`: the iteration then throws `CancellationError` at once, even while it
    ///   waits for a result.
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/invalidArgument`` for a `chunkSize` or
    ///   `bufferSize` below 1, and whatever ``submit(_:batch:)`` throws.
    public func map<F: RemoteFunction, Inputs: Sequence<F.Input>>(
        _ function: F,
        _ inputs: Inputs,
        timeout: Duration? = nil,
        chunkSize: Int = 1,
        bufferSize: Int? = nil,
        unordered: Bool = false
    ) throws -> MapResults<F.Output> {
        guard chunkSize >= 1 else {
            throw ClusterFuturesError(.invalidArgument, "map: chunkSize must be at least 1, not \(chunkSize)")
        }
        if let bufferSize, bufferSize < 1 {
            throw ClusterFuturesError(.invalidArgument, "map: bufferSize must be at least 1, not \(bufferSize)")
        }
        var iterator = inputs.makeIterator()
        let submitNext = { [self] () throws -> Future<BatchResults<F.Output>>? in
            var chunk: [F.Input] = []
            chunk.reserveCapacity(chunkSize)
            while chunk.count < chunkSize, let input = iterator.next() { chunk.append(input) }
            return chunk.isEmpty ? nil : try self.submit(function, batch: chunk)
        }
        return try MapResults(submitNext: submitNext, deadline: Deadline(timeout: timeout),
                              bufferSize: bufferSize, unordered: unordered)
    }
}

/// The results of ``Executor/map(_:_:timeout:chunkSize:bufferSize:unordered:)``, produced lazily.
///
/// Iterate with ``next()`` from synchronous code, or `for try await` from asynchronous code;
/// ``collect()`` gathers them all. Dropping it part-way cancels the chunks that have not started.
///
/// The map owns its chunks' futures, so cancelling the Swift task that iterates asynchronously
/// cancels them as dropping it does: the iteration throws `CancellationError` (promptly, also while
/// it is suspended waiting for a result), the chunks not yet handed to a worker are cancelled, those
/// running finish unseen, and the iteration is over.
public final class MapResults<Output: Sendable>: AsyncSequence, AsyncIteratorProtocol, WaitingIterator {
    public typealias Element = Output
    public typealias Failure = any Error

    fileprivate typealias ChunkFuture = Future<BatchResults<Output>>

    private let submitNext: () throws -> ChunkFuture?
    let deadline: Deadline
    private let bufferSize: Int?
    private let unordered: Bool
    let waiter = FutureWaiter()

    private var inFlight = Deque<ChunkFuture>()
    /// The chunk being read, and the position in it.
    private var current: BatchResults<Output>?
    private var position = 0
    /// A chunk that failed as a whole fails its first item with this.
    private var chunkError: (any Error)?
    private var inputsExhausted = false
    private var ended = false

    fileprivate init(
        submitNext: @escaping () throws -> ChunkFuture?,
        deadline: Deadline, bufferSize: Int?, unordered: Bool
    ) throws {
        self.submitNext = submitNext
        self.deadline = deadline
        self.bufferSize = bufferSize
        self.unordered = unordered
        try refill()
    }

    deinit {
        for future in inFlight {
            future.unregister(waiter)
            future.cancel()
        }
    }

    /// The next result, or nil when every input has been yielded. Blocks the calling thread.
    ///
    /// - Throws: the error of the input whose turn it is; ``ClusterFuturesError/Code-swift.struct/timedOut``
    ///   when the map's timeout passes first.
    public func next() throws -> Output? {
        try nextBlocking()
    }

    /// The next result, or nil when every input has been yielded. Suspends without blocking a thread
    /// (a lazy inline task still runs in the caller).
    ///
    /// - Throws: as ``next()``; `CancellationError` when the awaiting Swift task is cancelled, before
    ///   or while it waits, after cancelling every chunk that has not started and ending the
    ///   iteration.
    public func next(isolation actor: isolated (any Actor)?) async throws -> Output? {
        try await nextSuspending(isolation: actor)
    }

    public func makeAsyncIterator() -> MapResults<Output> { self }

    /// Every remaining result, in iteration order.
    public func collect() throws -> [Output] {
        var outputs: [Output] = []
        while let output = try next() { outputs.append(output) }
        return outputs
    }

    /// Cancels every chunk that has not started and ends the iteration.
    public func cancel() {
        end()
    }

    func step() throws -> WaitStep<Output> {
        // The waiter only needs to wake this iterator; what completed is read from `inFlight`, so
        // the waiter's record is dropped here rather than left to grow with every chunk.
        _ = waiter.takeCompleted()
        while true {
            if let error = chunkError {
                chunkError = nil
                end()
                throw error
            }
            if let chunk = current {
                if position < chunk.count {
                    defer { position += 1 }
                    do {
                        return .yield(try chunk.value(at: position))
                    } catch {
                        end()
                        throw error
                    }
                }
                current = nil
            }
            if ended { return .finished }
            try refill()
            if inFlight.isEmpty {
                end()
                return .finished
            }
            if deadline.hasPassed { try expire() }
            if let index = unordered ? inFlight.firstIndex(where: \.isDone) : (inFlight[0].isDone ? 0 : nil) {
                take(inFlight.remove(at: index))
                continue
            }
            let candidate = unordered ? inFlight.first(where: \.runsOnDemand) : inFlight[0]
            guard let candidate, candidate.runsOnDemand else { return .mustWait }
            candidate.runIfOnDemand()
        }
    }

    /// Makes a done chunk the one being read; a chunk that failed as a whole fails its first item.
    private func take(_ future: ChunkFuture) {
        future.unregister(waiter)
        do {
            current = try future.result(timeout: .zero)
            position = 0
        } catch {
            chunkError = error
        }
    }

    /// Submits chunks until `bufferSize` are in flight or the inputs run out.
    private func refill() throws {
        while !inputsExhausted && !ended && inFlight.count < (bufferSize ?? .max) {
            do {
                guard let future = try submitNext() else {
                    inputsExhausted = true
                    return
                }
                _ = future.register(waiter)
                inFlight.append(future)
            } catch {
                end()
                throw error
            }
        }
    }

    /// The map owns its futures: a cancelled iteration cancels those not started, as ``cancel()`` does.
    func taskWasCancelled() {
        end()
    }

    func expire() throws {
        if unordered ? inFlight.contains(where: \.isDone) : inFlight.first?.isDone == true { return }
        end()
        throw ClusterFuturesError(.timedOut, "map: results were not ready before the timeout")
    }

    private func end() {
        ended = true
        current = nil
        while let future = inFlight.popFirst() {
            future.unregister(waiter)
            future.cancel()
        }
    }
}
