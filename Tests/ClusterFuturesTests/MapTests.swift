import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Testing

/// `Executor.map` and `Executor.mapResults`: order, chunks, buffering, timeout, errors and abandonment.
@Suite struct MapTests {
    init() throws { try TestFunctions.register() }

    @Test(arguments: [InlineDummyExecutor.Mode.lazy, .eager])
    func resultsComeInInputOrder(mode: InlineDummyExecutor.Mode) throws {
        let executor = InlineDummyExecutor(mode: mode)
        let squares = try executor.map(Square(), 0..<1000, chunkSize: 7).collect()
        #expect(squares == (0..<1000).map { $0 * $0 })
    }

    @Test func unorderedYieldsEveryResultOnce() throws {
        let executor = InlineDummyExecutor()
        let squares = try executor.map(Square(), 0..<500, chunkSize: 3, unordered: true).collect()
        #expect(squares.sorted() == (0..<500).map { $0 * $0 })
    }

    @Test func chunkSizeSendsSeveralInputsInOneBatch() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let results = try spy.map(Square(), 0..<10, chunkSize: 4).collect()
        #expect(results == (0..<10).map { $0 * $0 })
        #expect(spy.batchSizes == [4, 4, 2])
    }

    @Test func withoutABufferEveryInputIsSubmittedByTheCall() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let results = try spy.map(Square(), 0..<10, chunkSize: 2)
        #expect(spy.batchSizes == [2, 2, 2, 2, 2])
        #expect(try results.collect().count == 10)
    }

    @Test func bufferSizeBoundsWhatIsInFlightOverAnEndlessSequence() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let naturals = sequence(first: 0) { $0 + 1 }
        let results = try spy.map(Square(), naturals, chunkSize: 5, bufferSize: 3)
        #expect(spy.batchSizes.count == 3, "the call submits only bufferSize chunks")
        var seen = 0
        var largestInFlight = 0
        while seen < 10_000, let square = try results.next() {
            #expect(square == seen * seen)
            seen += 1
            largestInFlight = max(largestInFlight, spy.outstanding)
        }
        #expect(seen == 10_000)
        #expect(largestInFlight <= 3)
        #expect(spy.batchSizes.count <= 10_000 / 5 + 3)
    }

    @Test(arguments: [false, true])
    func consumedChunksAreReleasedWhileMapping(unordered: Bool) throws {
        let spy = SpyExecutor(InlineDummyExecutor(), keepsFutures: false)
        let naturals = sequence(first: 0) { $0 + 1 }
        let results = try spy.map(Square(), naturals, chunkSize: 4, bufferSize: 3, unordered: unordered)
        var largestAlive = 0
        for _ in 0..<4_000 {
            _ = try results.next()
            largestAlive = max(largestAlive, spy.liveFutures)
        }
        #expect(largestAlive <= 4, "only the chunks in flight (bufferSize) and the one being read stay alive")
    }

    @Test func theErrorOfItemKSurfacesAfterTheResultsBeforeIt() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let results = try spy.map(FailOn([5]), 0..<20, chunkSize: 2)
        var delivered: [Int] = []
        #expect(throws: TaskFailure.self) {
            while let value = try results.next() { delivered.append(value) }
        }
        #expect(delivered == [0, 1, 4, 9, 16])
        #expect(try results.next() == nil, "the iteration ends after the error")
        let later = spy.futures.dropFirst(3)
        #expect(later.allSatisfy { $0.isCancelled }, "the chunks after the error are cancelled")
    }

    @Test func theTimeoutIsMeasuredFromTheCallAndCancelsTheRest() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let results = try spy.map(SleepThenReturn(milliseconds: 40), 0..<50, timeout: .milliseconds(100))
        var delivered: [Int] = []
        let error = #expect(throws: ClusterFuturesError.self) {
            while let value = try results.next() { delivered.append(value) }
        }
        #expect(error?.code == .timedOut)
        #expect(delivered.count < 5, "40 ms tasks cannot all fit in a 100 ms timeout")
        #expect(delivered == Array(0..<delivered.count))
        #expect(spy.futures.filter { $0.isCancelled }.count >= 45)
        #expect(spy.futures.allSatisfy { $0.isDone })
    }

    @Test func abandoningTheIterationCancelsWhatIsPending() throws {
        let token = UUID().uuidString
        let spy = SpyExecutor(InlineDummyExecutor())
        do {
            let results = try spy.map(CountCalls(token: token), 0..<100)
            #expect(try results.next() == 0)
            #expect(try results.next() == 1)
        }
        #expect(spy.futures.count == 100)
        #expect(spy.futures.filter { $0.isCancelled }.count == 98)
        #expect(CallCounter.count(token) == 2, "lazy tasks nobody asked for never ran")
    }

    @Test func explicitCancelEndsTheIteration() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let results = try spy.map(Square(), 0..<10)
        #expect(try results.next() == 0)
        results.cancel()
        #expect(try results.next() == nil)
        #expect(spy.futures.dropFirst().allSatisfy { $0.isCancelled })
    }

    @Test func badArgumentsAreErrors() {
        let executor = InlineDummyExecutor()
        for (chunk, buffer) in [(0, nil), (-3, nil), (1, 0), (1, -1)] as [(Int, Int?)] {
            let error = #expect(throws: ClusterFuturesError.self) {
                _ = try executor.map(Square(), [1, 2], chunkSize: chunk, bufferSize: buffer)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test func mapOfNothingYieldsNothing() throws {
        let executor = InlineDummyExecutor()
        #expect(try executor.map(Square(), [Int]()).collect().isEmpty)
    }

    @Test func mapIteratesAsynchronously() async throws {
        let executor = InlineDummyExecutor()
        var total = 0
        for try await square in try executor.map(Square(), 1...100, chunkSize: 16, bufferSize: 2) {
            total += square
        }
        #expect(total == (1...100).reduce(0) { $0 + $1 * $1 })
    }

    @Test func mapAfterShutdownThrows() {
        let executor = InlineDummyExecutor()
        executor.shutdown()
        let error = #expect(throws: ClusterFuturesError.self) { _ = try executor.map(Square(), [1]) }
        #expect(error?.code == .executorShutDown)
    }

    @Test func oneUnencodableInputFailsOnlyItsOwnItem() throws {
        let executor = InlineDummyExecutor()
        let inputs = [Fragile(value: 1), Fragile(value: 2, poisoned: true), Fragile(value: 3)]
        let batch = try executor.submit(PassFragile(), batch: inputs).result()
        #expect(try batch[0].get() == Fragile(value: 1))
        #expect(throws: ClusterFuturesError.self) { try batch[1].get() }
        #expect(try batch[2].get() == Fragile(value: 3))
    }

    // MARK: mapResults

    @Test(arguments: [InlineDummyExecutor.Mode.lazy, .eager], [false, true])
    func mapResultsYieldsEveryInputsResultAndGoesOnPastErrors(mode: InlineDummyExecutor.Mode, unordered: Bool) throws {
        let spy = SpyExecutor(InlineDummyExecutor(mode: mode))
        let failing: Set<Int> = [0, 5, 6, 19]
        let results = try spy.mapResults(FailOn(failing), 0..<20, chunkSize: 3, bufferSize: 2, unordered: unordered).collect()
        #expect(results.map(\.index).sorted() == Array(0..<20))
        if !unordered { #expect(results.map(\.index) == Array(0..<20)) }
        for (index, result) in results {
            switch result {
            case .success(let square): #expect(!failing.contains(index) && square == index * index)
            case .failure(let error): #expect(failing.contains(index) && error is TaskFailure, "input \(index): \(error)")
            }
        }
        #expect(spy.batchSizes == [3, 3, 3, 3, 3, 3, 2], "chunkSize holds as for map")
        #expect(spy.futures.allSatisfy { $0.state == .finished }, "no chunk was cancelled by an error")
    }

    @Test func mapResultsIsLazyAndBufferedAsMapIs() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let naturals = sequence(first: 0) { $0 + 1 }
        let results = try spy.mapResults(FailOn([3, 10]), naturals, chunkSize: 5, bufferSize: 3)
        #expect(spy.batchSizes.count == 3, "the call submits only bufferSize chunks")
        var largestInFlight = 0
        for expected in 0..<1_000 {
            let item = try #require(try results.next())
            #expect(item.index == expected)
            #expect((try? item.result.get()) == ([3, 10].contains(expected) ? nil : expected * expected))
            largestInFlight = max(largestInFlight, spy.outstanding)
        }
        #expect(largestInFlight <= 3)
        results.cancel()
        #expect(try results.next() == nil, "cancel ends the iteration")
        #expect(spy.futures.last?.isCancelled == true, "and cancels the chunks not started")
    }

    @Test func mapResultsGivesEveryInputOfAChunkLostWithItsWorkerThatError() throws {
        let pool = try LocalProcessPoolExecutor(workers: 2)
        defer { pool.shutdown(wait: true, cancelFutures: true) }
        let results = try pool.mapResults(SquareOrCrash(crashOn: 7), 0..<16, timeout: .seconds(60), chunkSize: 4).collect()
        #expect(results.map(\.index) == Array(0..<16))
        for (index, result) in results {
            switch result {
            case .success(let square):
                #expect(!(4..<8).contains(index) && square == index * index, "input \(index) gave \(square)")
            case .failure(let error):
                #expect((4..<8).contains(index), "input \(index) failed with \(error)")
                #expect((error as? ClusterFuturesError)?.code == .workerLost, "input \(index) failed with \(error)")
            }
        }
    }

    @Test func mapResultsEndsByThrowingWhenASubmitFails() throws {
        let executor = InlineDummyExecutor()
        let results = try executor.mapResults(Square(), 0..<10, bufferSize: 1)
        #expect(try results.next()?.index == 0)
        executor.shutdown(wait: false, cancelFutures: false)
        let error = #expect(throws: ClusterFuturesError.self) { try results.next() }
        #expect(error?.code == .executorShutDown)
        #expect(try results.next() == nil, "the iteration is over")

        let refused = #expect(throws: ClusterFuturesError.self) { _ = try executor.mapResults(Square(), [1]) }
        #expect(refused?.code == .executorShutDown)
    }

    @Test func mapResultsEndsByThrowingAtItsTimeout() throws {
        let spy = SpyExecutor(InlineDummyExecutor())
        let results = try spy.mapResults(SleepThenReturn(milliseconds: 40), 0..<50, timeout: .milliseconds(100))
        var delivered: [Int] = []
        let error = #expect(throws: ClusterFuturesError.self) {
            while let item = try results.next() { delivered.append(try item.result.get()) }
        }
        #expect(error?.code == .timedOut)
        #expect(delivered.count < 5 && delivered == Array(0..<delivered.count))
        #expect(spy.futures.allSatisfy { $0.isDone }, "the rest is cancelled")
    }

    @Test func mapResultsBadArgumentsAreErrors() {
        let executor = InlineDummyExecutor()
        for (chunk, buffer) in [(0, nil), (1, 0)] as [(Int, Int?)] {
            let error = #expect(throws: ClusterFuturesError.self) {
                _ = try executor.mapResults(Square(), [1, 2], chunkSize: chunk, bufferSize: buffer)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    // MARK: Asynchronous iteration and collect

    @Test(arguments: [false, true])
    func mapResultsIteratesAsynchronously(unordered: Bool) async throws {
        let executor = InlineDummyExecutor()
        var failed: [Int] = []
        var total = 0
        for try await (index, result) in try executor.mapResults(FailOn([2, 50]), 1...100, chunkSize: 16, bufferSize: 2,
                                                                  unordered: unordered) {
            switch result {
            case .success(let square): total += square
            case .failure: failed.append(index)
            }
        }
        #expect(failed.sorted() == [1, 49], "indices count from 0: inputs 2 and 50")
        #expect(total == (1...100).reduce(0) { $0 + $1 * $1 } - 4 - 2_500)
    }

    @Test func collectAwaitsEveryResult() async throws {
        let executor = InlineDummyExecutor()
        #expect(try await executor.map(Square(), 0..<100, chunkSize: 7).collect() == (0..<100).map { $0 * $0 })
        let results = try await executor.mapResults(FailOn([3]), 0..<5).collect()
        #expect(results.map { try? $0.result.get() } == [0, 1, 4, nil, 16])
    }
}
