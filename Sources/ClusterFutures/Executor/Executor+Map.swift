extension Executor {
    /// Applies `function` to every input and yields the results lazily, in input order (or as they
    /// complete, with `unordered`).
    ///
    /// ```swift
    /// let squares = try executor.map(Square(), 1...100_000, chunkSize: 64, bufferSize: 32)
    /// for try await square in squares { total += square }
    /// // or, in synchronous code: while let square = try squares.next() { ... }
    /// ```
    ///
    /// The first error ends the map; to go on past the inputs that fail, use
    /// ``mapResults(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``.
    ///
    /// - Parameters:
    ///   - function: the function to apply; its value travels with every chunk.
    ///   - inputs: any sequence, read lazily as chunks are submitted.
    ///   - timeout: measured from this call; when it passes before a result is ready, the iteration
    ///     throws ``ClusterFuturesError/Code-swift.struct/timedOut`` and cancels what is still pending.
    ///   - chunkSize: how many inputs travel in one message to one worker (at least 1). With nil,
    ///     1, or for an ``AsyncRemoteFunction`` its ``AsyncRemoteFunction/concurrentCallsPerWorker``,
    ///     so that each worker has that many calls in flight.
    ///   - bufferSize: how many chunks may be submitted and not yet yielded (at least 1). With nil,
    ///     every input is submitted by this call, as Python's `map` does; give a size to map over a
    ///     huge or endless sequence in bounded memory.
    ///   - unordered: yield results as they complete instead of in input order.
    ///   - progress: whether to draw the map's progress on standard error, counting inputs
    ///     (``ProgressDisplay``): ``ProgressDisplay/never`` by default; ``ProgressDisplay/automatic``
    ///     draws on a terminal. The total is `inputs.underestimatedCount` (a collection's count).
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
        chunkSize: Int? = nil,
        bufferSize: Int? = nil,
        unordered: Bool = false,
        progress: ProgressDisplay = .never
    ) throws -> MapResults<F.Output> {
        try chunkedMap(function, inputs, MapValues.self, timeout: timeout, chunkSize: chunkSize,
                       bufferSize: bufferSize, unordered: unordered, progress: progress)
    }

    /// Applies `function` to every input and yields each input's result, a value or an error, lazily:
    /// an input that fails is yielded as a failure and the map goes on with the next.
    ///
    /// ```swift
    /// for try await (index, result) in try executor.mapResults(ParseReading(), lines, chunkSize: 64, bufferSize: 8) {
    ///     switch result {
    ///     case .success(let reading): readings.append(reading)
    ///     case .failure(let error): print("line \(index) skipped: \(error)")
    ///     }
    /// }
    /// ```
    ///
    /// It submits, buffers, times out and cancels as ``map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``
    /// does, and differs only in what an input's error does: `map` throws it and ends, this yields
    /// it and goes on. An input's error is whatever the function threw on it, the input's failure to
    /// encode, or the error of a chunk that failed as a whole (a worker lost while it ran it, or a
    /// chunk cancelled by a `shutdown(wait:cancelFutures: true)`), which every input of that chunk
    /// gets. What ends the map rather than an input still throws from the iteration: the map's
    /// timeout, the cancellation of the Swift task that iterates, and a failed submit (the executor
    /// was shut down).
    ///
    /// - Parameters:
    ///   - function: the function to apply; its value travels with every chunk.
    ///   - inputs: any sequence, read lazily as chunks are submitted.
    ///   - timeout: measured from this call; when it passes before a result is ready, the iteration
    ///     throws ``ClusterFuturesError/Code-swift.struct/timedOut`` and cancels what is still pending.
    ///   - chunkSize: how many inputs travel in one message to one worker (at least 1). With nil,
    ///     1, or for an ``AsyncRemoteFunction`` its ``AsyncRemoteFunction/concurrentCallsPerWorker``,
    ///     so that each worker has that many calls in flight.
    ///   - bufferSize: how many chunks may be submitted and not yet yielded (at least 1); nil submits
    ///     every input in this call.
    ///   - unordered: yield results as their chunks complete instead of in input order.
    ///   - progress: whether to draw the map's progress on standard error, as `map` does; an input
    ///     that fails counts as done.
    /// - Returns: for every input, in input order (with `unordered`, in the order the chunks
    ///   complete), its `index` (0 for the first element of `inputs`) and its `result`. The index
    ///   says which input a result belongs to whatever the order, so an unordered map can be joined
    ///   back to its inputs, and a failure reported with the input that caused it.
    /// - Throws: as ``map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``.
    public func mapResults<F: RemoteFunction, Inputs: Sequence<F.Input>>(
        _ function: F,
        _ inputs: Inputs,
        timeout: Duration? = nil,
        chunkSize: Int? = nil,
        bufferSize: Int? = nil,
        unordered: Bool = false,
        progress: ProgressDisplay = .never
    ) throws -> MapResults<(index: Int, result: Result<F.Output, any Error>)> {
        try chunkedMap(function, inputs, MapIndexedResults.self, timeout: timeout, chunkSize: chunkSize,
                       bufferSize: bufferSize, unordered: unordered, progress: progress)
    }

    /// The map both ``map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)`` and
    /// ``mapResults(_:_:timeout:chunkSize:bufferSize:unordered:progress:)`` are, yielding what `Kind` makes
    /// of each input's index and result.
    private func chunkedMap<F: RemoteFunction, Inputs: Sequence<F.Input>, Kind: MapElementKind>(
        _ function: F,
        _ inputs: Inputs,
        _ kind: Kind.Type,
        timeout: Duration?,
        chunkSize: Int?,
        bufferSize: Int?,
        unordered: Bool,
        progress: ProgressDisplay
    ) throws -> MapResults<Kind.Element> where Kind.Output == F.Output {
        let chunkSize = chunkSize ?? (F.self as? any AsyncRemoteFunction.Type)?.concurrentCallsPerWorker ?? 1
        guard chunkSize >= 1 else {
            throw ClusterFuturesError(.invalidArgument, "map: chunkSize must be at least 1, not \(chunkSize)")
        }
        if let bufferSize, bufferSize < 1 {
            throw ClusterFuturesError(.invalidArgument, "map: bufferSize must be at least 1, not \(bufferSize)")
        }
        // Counted before the inputs are read (a sequence may be read only once), and only when
        // progress is drawn (a collection may count in linear time); 0 is "not known".
        let meter = progress.meter(total: Optional(inputs.underestimatedCount).flatMap { $0 > 0 ? $0 : nil })
        var iterator = inputs.makeIterator()
        let submitNext = { [self] () throws -> (future: Future<BatchResults<F.Output>>, count: Int)? in
            var batch: [F.Input] = []
            batch.reserveCapacity(chunkSize)
            while batch.count < chunkSize, let input = iterator.next() { batch.append(input) }
            return batch.isEmpty ? nil : (try self.submit(function, batch: batch), batch.count)
        }
        return try ChunkedMap<F.Output, Kind>(
            submitNext: submitNext, deadline: Deadline(timeout: timeout), bufferSize: bufferSize, unordered: unordered,
            progress: meter)
    }
}

/// The results of ``Executor/map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``, or of
/// ``Executor/mapResults(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``, produced lazily.
///
/// Iterate with `for try await` or `try await next()` from asynchronous code, and with the blocking
/// `next()` from synchronous code; `collect()` gathers them all, in both. Dropping it part-way
/// cancels the chunks that have not started.
///
/// The map owns its chunks' futures, so cancelling the Swift task that iterates asynchronously
/// cancels them as dropping it does: the iteration throws `CancellationError` (promptly, also while
/// it is suspended waiting for a result), the chunks not yet handed to a worker are cancelled, those
/// running finish unseen, and the iteration is over.
// Not final, yet closed to other modules: a map's machinery (`ChunkedMap`, generic over the
// function's output too) is its only subclass, so that a map is one object.
public class MapResults<Element: Sendable>: AsyncSequence, AsyncIteratorProtocol {
    /// What the iteration throws: an input's error (for `map`), a timeout, a cancellation, or what a
    /// submit threw.
    public typealias Failure = any Error

    init() {}

    /// The next element, blocking: implemented by the subclass.
    func blockingNext() throws -> Element? {
        preconditionFailure("MapResults is made only as a ChunkedMap")
    }

    /// The next element, suspending: implemented by the subclass.
    func suspendingNext(isolation actor: isolated (any Actor)?) async throws -> Element? {
        preconditionFailure("MapResults is made only as a ChunkedMap")
    }

    /// The next result, or nil when every input has been yielded. Blocks the calling thread.
    ///
    /// Unavailable in asynchronous code, where it would hold a thread of the cooperative pool:
    /// there, `try await next()` suspends instead.
    ///
    /// - Throws: for `map`, the error of the input whose turn it is;
    ///   ``ClusterFuturesError/Code-swift.struct/timedOut`` when the map's timeout passes first; what
    ///   submitting the next chunk threw. The iteration is then over.
    @available(*, noasync, message: "next() blocks the thread; in async code use 'try await next()' or 'for try await'")
    public func next() throws -> Element? {
        try blockingNext()
    }

    /// The next result, or nil when every input has been yielded. Suspends without blocking a thread
    /// (a lazy inline task still runs in the caller).
    ///
    /// - Throws: as the blocking `next()`; `CancellationError` when the awaiting Swift task is
    ///   cancelled, before or while it waits, after cancelling every chunk that has not started and
    ///   ending the iteration.
    public nonisolated(nonsending) func next() async throws -> Element? {
        try await suspendingNext(isolation: #isolation)
    }

    /// The next result, as the asynchronous `next()`: what `for try await` calls, in the caller's
    /// isolation.
    public func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
        try await suspendingNext(isolation: actor)
    }

    /// The map's results themselves: they are their own iterator, iterated once.
    public func makeAsyncIterator() -> MapResults<Element> { self }

    /// Every remaining result, in iteration order. Blocks the calling thread.
    ///
    /// Unavailable in asynchronous code: there, `try await collect()` suspends instead.
    ///
    /// - Throws: as the blocking `next()`.
    @available(*, noasync, message: "collect() blocks the thread; in async code use 'try await collect()'")
    public func collect() throws -> [Element] {
        var elements: [Element] = []
        while let element = try blockingNext() { elements.append(element) }
        return elements
    }

    /// Every remaining result, in iteration order, awaited without blocking a thread.
    ///
    /// - Throws: as the asynchronous `next()`, `CancellationError` included.
    public nonisolated(nonsending) func collect() async throws -> [Element] {
        var elements: [Element] = []
        while let element = try await suspendingNext(isolation: #isolation) { elements.append(element) }
        return elements
    }

    /// Cancels every chunk that has not started and ends the iteration.
    public func cancel() {
        preconditionFailure("MapResults is made only as a ChunkedMap")
    }
}
