import DequeModule

/// A map's iteration as ``MapResults`` drives it, whatever the output type of the map's function.
protocol MapIteration<Element>: WaitingIterator {
    /// Cancels every chunk that has not started and ends the iteration.
    func cancel()
}

/// What a map yields for each input, made from the input's index and result: the two maps differ
/// only in this. A type rather than a closure: a closure made in generic code costs an allocation
/// for every map.
protocol MapElementKind {
    associatedtype Output: Sendable
    associatedtype Element: Sendable

    /// The element for the input at `index`. What it throws ends the iteration.
    static func element(index: Int, result: Result<Output, any Error>) throws -> Element
}

/// `map`'s elements: the value, or the input's error thrown, which ends the map.
enum MapValues<Output: Sendable>: MapElementKind {
    static func element(index: Int, result: Result<Output, any Error>) throws -> Output {
        try result.get()
    }
}

/// `mapResults`' elements: the input's index and result, an error included, and the map goes on.
enum MapIndexedResults<Output: Sendable>: MapElementKind {
    static func element(index: Int, result: Result<Output, any Error>) -> (index: Int, result: Result<Output, any Error>) {
        (index, result)
    }
}

/// The machinery of ``Executor/map(_:_:timeout:chunkSize:bufferSize:unordered:)`` and
/// ``Executor/mapResults(_:_:timeout:chunkSize:bufferSize:unordered:)``: it submits the inputs in
/// chunks, keeps at most `bufferSize` chunks in flight, reads the done ones in input order (or as
/// they complete), and cancels what is pending when it ends.
///
/// It reads every input's result as the input's index and a `Result`, and yields what `Kind` makes
/// of them.
final class ChunkedMap<Function: RemoteFunction, Inputs: IteratorProtocol<Function.Input>, Kind: MapElementKind>: MapIteration
where Kind.Output == Function.Output {
    typealias Output = Function.Output
    typealias Element = Kind.Element
    typealias ChunkFuture = Future<BatchResults<Output>>

    /// A chunk submitted and not yet read: its future and which inputs it holds.
    private struct Chunk {
        let future: ChunkFuture
        let firstIndex: Int
        let count: Int
    }

    /// The chunk being read: its results, or the error that failed it as a whole and so fails each
    /// of its inputs; and the position in it.
    private struct Reading {
        let results: Result<BatchResults<Output>, any Error>
        let firstIndex: Int
        let count: Int
        var position = 0
    }

    private let executor: any Executor
    private let function: Function
    /// Read as chunks are submitted.
    private var inputs: Inputs
    private let chunkSize: Int
    let deadline: Deadline
    private let bufferSize: Int?
    private let unordered: Bool
    let waiter = FutureWaiter()

    private var inFlight = Deque<Chunk>()
    private var current: Reading?
    /// The index of the first input of the next chunk to submit.
    private var nextIndex = 0
    private var inputsExhausted = false
    private var ended = false

    /// Submits the first `bufferSize` chunks (every chunk, with no `bufferSize`).
    init(
        executor: any Executor, function: Function, inputs: Inputs, chunkSize: Int,
        deadline: Deadline, bufferSize: Int?, unordered: Bool
    ) throws {
        self.executor = executor
        self.function = function
        self.inputs = inputs
        self.chunkSize = chunkSize
        self.deadline = deadline
        self.bufferSize = bufferSize
        self.unordered = unordered
        try refill()
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
            if let reading = current {
                if reading.position < reading.count {
                    current?.position += 1
                    let result: Result<Output, any Error> = switch reading.results {
                    case .success(let batch): batch[reading.position]
                    case .failure(let error): .failure(error)
                    }
                    do {
                        return .yield(try Kind.element(index: reading.firstIndex + reading.position, result: result))
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
        let results = Result { try chunk.future.result(timeout: .zero) }
        let count = switch results {
        case .success(let batch): batch.count
        case .failure: chunk.count
        }
        current = Reading(results: results, firstIndex: chunk.firstIndex, count: count)
    }

    /// Submits chunks until `bufferSize` are in flight or the inputs run out.
    private func refill() throws {
        while !inputsExhausted && !ended && inFlight.count < (bufferSize ?? .max) {
            do {
                var batch: [Function.Input] = []
                batch.reserveCapacity(chunkSize)
                while batch.count < chunkSize, let input = inputs.next() { batch.append(input) }
                guard !batch.isEmpty else {
                    inputsExhausted = true
                    return
                }
                let future = try executor.submit(function, batch: batch)
                _ = future.register(waiter)
                inFlight.append(Chunk(future: future, firstIndex: nextIndex, count: batch.count))
                nextIndex += batch.count
            } catch {
                end()
                throw error
            }
        }
    }

    func cancel() {
        end()
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
        current = nil
        while let chunk = inFlight.popFirst() {
            chunk.future.unregister(waiter)
            chunk.future.cancel()
        }
    }
}
