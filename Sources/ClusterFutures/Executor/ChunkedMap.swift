import DequeModule

/// What a map yields for each input, made from the input's index and result: the two maps differ
/// only in this. A type rather than a closure: a closure made in generic code costs an allocation
/// for every map.
protocol MapElementKind {
    associatedtype Output: Sendable
    associatedtype Element: Sendable

    /// The element for the input at `index`, whose result is at `position` in `batch`. What it
    /// throws ends the iteration.
    static func element(index: Int, in batch: BatchResults<Output>, at position: Int) throws -> Element

    /// The element for the input at `index`, of a chunk that failed as a whole with `error`. What
    /// it throws ends the iteration.
    static func element(index: Int, chunkError error: any Error) throws -> Element
}

/// `map`'s elements: the value, or the input's error thrown, which ends the map.
enum MapValues<Output: Sendable>: MapElementKind {
    static func element(index: Int, in batch: BatchResults<Output>, at position: Int) throws -> Output {
        try batch.value(at: position)
    }

    static func element(index: Int, chunkError error: any Error) throws -> Output {
        throw error
    }
}

/// `mapResults`' elements: the input's index and result, an error included, and the map goes on.
enum MapIndexedResults<Output: Sendable>: MapElementKind {
    static func element(
        index: Int, in batch: BatchResults<Output>, at position: Int
    ) -> (index: Int, result: Result<Output, any Error>) {
        (index, batch[position])
    }

    static func element(index: Int, chunkError error: any Error) -> (index: Int, result: Result<Output, any Error>) {
        (index, .failure(error))
    }
}

/// The machinery of ``Executor/map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)`` and
/// ``Executor/mapResults(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``: it submits the inputs in
/// chunks, keeps at most `bufferSize` chunks in flight, reads the done ones in input order (or as
/// they complete), and cancels what is pending when it ends.
///
/// It reads every input's result as the input's index and a `Result`, and yields what `Kind` makes
/// of them.
///
/// It is generic only over the output and the element: the function and the inputs are captured by
/// `submitNext`, a closure made where `map` is called with their concrete types, so that reading
/// the inputs and submitting them are specialized there. (Generic over them, this class ran
/// unspecialized, and a `map` in chunks of 64 lost 15-20% of its throughput.)
/// It is the ``MapResults`` a map returns (its only subclass), so that a map is one object.
final class ChunkedMap<Output: Sendable, Kind: MapElementKind>: MapResults<Kind.Element>, WaitingIterator
where Kind.Output == Output {
    typealias Element = Kind.Element
    typealias ChunkFuture = Future<BatchResults<Output>>
    /// Submits the next chunk and returns its future and size, or nil when the inputs have run out.
    typealias SubmitNext = () throws -> (future: ChunkFuture, count: Int)?

    /// A chunk submitted and not yet read: its future and which inputs it holds.
    private struct Chunk {
        let future: ChunkFuture
        let firstIndex: Int
        let count: Int
    }

    private let submitNext: SubmitNext
    let deadline: Deadline
    private let bufferSize: Int?
    private let unordered: Bool
    let waiter = FutureWaiter()
    /// Counts inputs, not chunks: each element yielded is one input's.
    let progress: ProgressMeter?

    private var inFlight = Deque<Chunk>()
    /// The chunk being read: its results, or the error that failed it as a whole and so fails each
    /// of its inputs (nil for both: none is); the index of its first input, its size, and the
    /// position in it. Kept as separate properties, not one optional struct: each result is read
    /// without copying the chunk's state.
    private var currentResults: BatchResults<Output>?
    private var currentError: (any Error)?
    private var currentFirstIndex = 0
    private var currentCount = 0
    private var position = 0
    /// The index of the first input of the next chunk to submit.
    private var nextIndex = 0
    private var inputsExhausted = false
    private var ended = false

    /// Submits the first `bufferSize` chunks (every chunk, with no `bufferSize`).
    init(submitNext: @escaping SubmitNext, deadline: Deadline, bufferSize: Int?, unordered: Bool,
         progress: ProgressMeter?) throws {
        self.submitNext = submitNext
        self.deadline = deadline
        self.bufferSize = bufferSize
        self.unordered = unordered
        self.progress = progress
        super.init()
        try refill()
    }

    override func blockingNext() throws -> Element? {
        try nextBlocking()
    }

    override func suspendingNext(isolation actor: isolated (any Actor)?) async throws -> Element? {
        try await nextSuspending(isolation: actor)
    }

    deinit {
        for chunk in inFlight {
            chunk.future.unregister(waiter)
            chunk.future.cancel()
        }
    }

    func step() throws -> WaitStep<Element> {
        // The waiter only needs to wake this iterator; what completed is read from `inFlight`, so
        // the waiter's record is dropped here rather than left to grow with every chunk.
        _ = waiter.takeCompleted()
        while true {
            if position < currentCount {
                let index = currentFirstIndex + position
                defer { position += 1 }
                do {
                    if let results = currentResults {
                        return .yield(try Kind.element(index: index, in: results, at: position))
                    }
                    return .yield(try Kind.element(index: index, chunkError: currentError ?? CancellationError()))
                } catch {
                    end()
                    throw error
                }
            }
            clearCurrent()
            if ended { return .finished }
            try refill()
            if inFlight.isEmpty {
                end()
                return .finished
            }
            if deadline.hasPassed { try expire() }
            if let index = unordered ? inFlight.firstIndex(where: \.future.isDone) : (inFlight[0].future.isDone ? 0 : nil) {
                take(inFlight.remove(at: index))
                continue
            }
            let candidate = unordered ? inFlight.first(where: \.future.runsOnDemand)?.future : inFlight[0].future
            guard let candidate, candidate.runsOnDemand else { return .mustWait }
            candidate.runIfOnDemand()
        }
    }

    /// Makes a done chunk the one being read.
    private func take(_ chunk: Chunk) {
        chunk.future.unregister(waiter)
        do {
            let results = try chunk.future.result(timeout: .zero)
            currentResults = results
            currentCount = results.count
        } catch {
            currentError = error
            currentCount = chunk.count
        }
        currentFirstIndex = chunk.firstIndex
        position = 0
    }

    /// No chunk is being read.
    private func clearCurrent() {
        currentResults = nil
        currentError = nil
        currentCount = 0
        position = 0
    }

    /// Submits chunks until `bufferSize` are in flight or the inputs run out.
    private func refill() throws {
        while !inputsExhausted && !ended && inFlight.count < (bufferSize ?? .max) {
            do {
                guard let (future, count) = try submitNext() else {
                    inputsExhausted = true
                    return
                }
                _ = future.register(waiter)
                inFlight.append(Chunk(future: future, firstIndex: nextIndex, count: count))
                nextIndex += count
            } catch {
                end()
                throw error
            }
        }
    }

    override func cancel() {
        end()
        progress?.finish(.cancelled)
    }

    /// The map owns its futures: a cancelled iteration cancels those not started, as ``cancel()`` does.
    func taskWasCancelled() {
        end()
    }

    func expire() throws {
        if unordered ? inFlight.contains(where: \.future.isDone) : inFlight.first?.future.isDone == true { return }
        end()
        throw ClusterFuturesError(.timedOut, "map: results were not ready before the timeout")
    }

    private func end() {
        ended = true
        clearCurrent()
        while let chunk = inFlight.popFirst() {
            chunk.future.unregister(waiter)
            chunk.future.cancel()
        }
    }
}
