@testable import ClusterFutures
import ClusterFuturesTestSupport
import Dispatch
import Testing

/// The progress line: its text for each state and width, when it is redrawn (on a manual clock),
/// when it is drawn at all, and what maps and `asCompleted` count on it (into a recording, not
/// standard error). `ProgressTerminalTests` runs it on a pipe and on a terminal.
@Suite struct ProgressTests {
    init() throws { try TestFunctions.register() }

    // MARK: The line's text

    private func line(_ done: Int, of total: Int?, after seconds: Double, label: String? = "squares",
                      _ ending: ProgressLine.Ending? = nil) -> ProgressLine {
        ProgressLine(label: label, done: done, total: total, elapsed: .milliseconds(Int(seconds * 1000)), ending: ending)
    }

    @Test func aRunningLineSaysDoneOutOfTotalTheRateAndTheTimes() {
        #expect(line(12, of: 40, after: 3).text(columns: 100)
                == "squares: 12/40 30% [######..............] 4.00/s, 0:03 elapsed, 0:07 left")
        #expect(line(0, of: 40, after: 0, label: nil).text(columns: 100)
                == "0/40 0% [....................] ?/s, 0:00 elapsed, ? left")
        #expect(line(1, of: 3, after: 7_200).text(columns: 100)
                == "squares: 1/3 33% [######..............] 0.00/s, 2:00:00 elapsed, 4:00:00 left")
    }

    @Test func theLastLineSaysHowTheIterationEnded() {
        #expect(line(40, of: 40, after: 3.2, .finished).text(columns: 100)
                == "squares: 40/40 100% [####################] 12.5/s, finished in 0:03")
        #expect(line(10, of: 40, after: 2, .failed).text(columns: 100)
                == "squares: 10/40 25% [#####...............] 5.00/s, failed after 0:02")
        #expect(line(10, of: 40, after: 2, .cancelled).text(columns: 100).hasSuffix("5.00/s, cancelled after 0:02"))
        #expect(line(10, of: 40, after: 61, .timedOut).text(columns: 100).hasSuffix("0.16/s, timed out after 1:01"))
        #expect(line(10, of: 40, after: 2, .stopped).text(columns: 100).hasSuffix("5.00/s, stopped after 0:02"))
    }

    @Test func withoutAKnownTotalTheLineCountsWhatIsDone() {
        #expect(line(12, of: nil, after: 3).text(columns: 100) == "squares: 12 done, 4.00/s, 0:03 elapsed")
        #expect(line(30, of: nil, after: 2, .finished).text(columns: 100) == "squares: 30 done, 15.0/s, finished in 0:02")
        // A sequence that said it had fewer elements than it has: the total is no longer believed.
        #expect(line(45, of: 40, after: 3).text(columns: 100) == "squares: 45 done, 15.0/s, 0:03 elapsed")
    }

    @Test func theLineNeverReachesTheLastColumn() {
        for columns in 1...120 {
            for sample in [line(12, of: 40, after: 3), line(40, of: 40, after: 3, .finished),
                           line(12, of: nil, after: 3), line(123_456, of: 1_000_000, after: 4_000, label: "a long label")] {
                #expect(sample.text(columns: columns).count <= max(columns - 1, 1), "\(columns) columns")
            }
        }
    }

    @Test func onANarrowTerminalTheLineGivesUpTheBarThenThePercentageThenTheTimeElapsed() {
        let running = line(12, of: 40, after: 3)
        #expect(running.text(columns: 70) == "squares: 12/40 30% [####............] 4.00/s, 0:03 elapsed, 0:07 left")
        #expect(running.text(columns: 60) == "squares: 12/40 30% [#.....] 4.00/s, 0:03 elapsed, 0:07 left")
        #expect(running.text(columns: 55) == "squares: 12/40 30% 4.00/s, 0:03 elapsed, 0:07 left")
        #expect(running.text(columns: 40) == "squares: 12/40 4.00/s, 0:07 left")
        #expect(line(40, of: 40, after: 3.2, .finished).text(columns: 40) == "squares: 40/40 12.5/s, finished in 0:03")
        #expect(running.text(columns: 20) == "squares: 12/40 4.00")
    }

    @Test func timesAndRatesAreShortAndRounded() {
        #expect(ProgressLine.clock(0) == "0:00")
        #expect(ProgressLine.clock(59.99) == "0:59")
        #expect(ProgressLine.clock(600) == "10:00")
        #expect(ProgressLine.clock(3_725) == "1:02:05")
        #expect(ProgressLine.clock(.infinity) == "?")
        #expect(ProgressLine.clock(-1) == "?")
        #expect(ProgressLine.decimal(0.5) == "0.50")
        #expect(ProgressLine.decimal(0.004) == "0.00")
        #expect(ProgressLine.decimal(9.996) == "10.0")
        #expect(ProgressLine.decimal(12.34) == "12.3")
        #expect(ProgressLine.decimal(99.96) == "100")
        #expect(ProgressLine.decimal(123_456.7) == "123457")
        #expect(ProgressLine.decimal(.nan) == "?")
    }

    // MARK: When it is redrawn

    /// A meter on a manual clock, drawing into a recording 80 columns wide.
    private func meter(total: Int?, clock: ManualClock, label: String? = nil) -> (ProgressMeter, ProgressRecording) {
        let recording = ProgressRecording(columns: 80, now: { clock.now })
        return (recording.meter(label: label, total: total), recording)
    }

    @Test func eachDrawingIsACarriageReturnTheLineAndAnEraseAndTheLastEndsTheLine() {
        let clock = ManualClock()
        let (meter, recording) = meter(total: 3, clock: clock, label: "work")
        meter.advance()
        clock.advance(.milliseconds(500))
        meter.advance()
        clock.advance(.milliseconds(500))
        meter.advance()
        meter.finish(.finished)
        #expect(recording.written == [
            "\r" + "work: 1/3 33% [######..............] ?/s, 0:00 elapsed, ? left" + "\u{1B}[K",
            "\r" + "work: 2/3 66% [#############.......] 4.00/s, 0:00 elapsed, 0:00 left" + "\u{1B}[K",
            "\r" + "work: 3/3 100% [####################] 3.00/s, 0:01 elapsed, 0:00 left" + "\u{1B}[K",
            "\r" + "work: 3/3 100% [####################] 3.00/s, finished in 0:01" + "\u{1B}[K\n",
        ])
    }

    @Test func redrawsComeAtMostTenTimesASecond() {
        let clock = ManualClock()
        let (meter, recording) = meter(total: 10_000, clock: clock)
        // 10,000 elements, one a millisecond: 10 seconds.
        for _ in 0..<10_000 {
            meter.advance()
            clock.advance(.milliseconds(1))
        }
        #expect(recording.written.count == 100, "one drawing every 100 ms, from the first element")
        #expect(recording.written.last?.contains("9901/10000") == true, "the last drawing shows the count then")
    }

    @Test func aCountDrawnLateIsDrawnOnceItsIntervalHasPassed() {
        let clock = ManualClock()
        let (meter, recording) = meter(total: 10, clock: clock)
        meter.advance()
        meter.advance()
        meter.drawIfDue()
        #expect(recording.written.count == 1, "2/10 waits for the interval")
        clock.advance(.milliseconds(100))
        meter.drawIfDue()
        #expect(recording.written.count == 2)
        #expect(recording.written.last?.contains("2/10") == true)
    }

    @Test func whileNothingComesTheLineIsRedrawnEverySecond() {
        let clock = ManualClock()
        let (meter, recording) = meter(total: 10, clock: clock)
        meter.advance()
        clock.advance(.milliseconds(900))
        meter.drawIfDue()
        #expect(recording.written.count == 1, "the count has not changed, and a second has not passed")
        clock.advance(.milliseconds(100))
        meter.drawIfDue()
        #expect(recording.written.count == 2)
        #expect(recording.written.last?.contains("0:01 elapsed") == true)
    }

    @Test func waitsEndWhenTheLineIsDueForARedraw() {
        let clock = ManualClock()
        let (meter, _) = meter(total: 10, clock: clock)
        #expect(meter.wakeUp(before: .never).remaining == nil, "nothing drawn yet: nothing to redraw")
        meter.advance()
        let idle = meter.wakeUp(before: .never).remaining
        #expect(idle.map { $0 > .milliseconds(500) && $0 <= .seconds(1) } == true, "idle: a second after the drawing, \(String(describing: idle))")
        meter.advance()
        let pending = meter.wakeUp(before: .never).remaining
        #expect(pending.map { $0 <= .milliseconds(100) } == true, "a count not yet drawn: 100 ms after, \(String(describing: pending))")
        #expect(meter.wakeUp(before: Deadline(timeout: .zero)).remaining == .zero, "an earlier deadline stays")
        meter.finish(.finished)
        #expect(meter.wakeUp(before: .never).remaining == nil, "finished: nothing more to redraw")
    }

    @Test func afterTheLastLineNothingMoreIsDrawn() {
        let clock = ManualClock()
        let (meter, recording) = meter(total: 10, clock: clock)
        meter.advance()
        meter.finish(.failed)
        clock.advance(.seconds(5))
        meter.advance()
        meter.drawIfDue()
        meter.finish(.finished)
        #expect(recording.written.count == 2)
        #expect(recording.written.last?.hasSuffix("failed after 0:00\u{1B}[K\n") == true)
    }

    @Test func aMeterDroppedAfterDrawingEndsItsLineAndOneNeverDrawnWritesNothing() {
        let clock = ManualClock()
        let recording = ProgressRecording(columns: 80, now: { clock.now })
        do {
            let meter = recording.meter(label: nil, total: 10)
            meter.advance()
            withExtendedLifetime(meter) { clock.advance(.seconds(2)) }
        }
        #expect(recording.written.count == 2)
        #expect(recording.written.last == "\r1/10 10% [##..................] 0.50/s, stopped after 0:02\u{1B}[K\n")
        let quiet = ProgressRecording()
        _ = quiet.meter(label: nil, total: 10)
        #expect(quiet.written.isEmpty)
    }

    @Test func errorsSayHowTheIterationEnded() {
        #expect(ProgressMeter.ending(for: CancellationError()) == .cancelled)
        #expect(ProgressMeter.ending(for: ClusterFuturesError(.timedOut, "late")) == .timedOut)
        #expect(ProgressMeter.ending(for: ClusterFuturesError(.workerLost, "gone")) == .failed)
        #expect(ProgressMeter.ending(for: PlainError(reason: "input")) == .failed)
    }

    // MARK: When it is drawn at all

    @Test func automaticDrawsOnATerminalUnlessTheEnvironmentSaysOtherwise() {
        let automatic = ProgressDisplay.automatic
        #expect(automatic.draws(standardErrorIsTerminal: true, setting: nil))
        #expect(!automatic.draws(standardErrorIsTerminal: false, setting: nil))
        #expect(automatic.draws(standardErrorIsTerminal: false, setting: "1"), "under mpiexec, a pipe")
        #expect(automatic.draws(standardErrorIsTerminal: false, setting: "YES"))
        #expect(!automatic.draws(standardErrorIsTerminal: true, setting: "0"))
        #expect(!automatic.draws(standardErrorIsTerminal: true, setting: "off"))
        #expect(automatic.draws(standardErrorIsTerminal: true, setting: ""), "empty is unset")
        #expect(!automatic.draws(standardErrorIsTerminal: false, setting: "maybe"))
        for terminal in [false, true] {
            for setting in [nil, "0", "1"] {
                #expect(ProgressDisplay.always.draws(standardErrorIsTerminal: terminal, setting: setting))
                #expect(!ProgressDisplay.never.draws(standardErrorIsTerminal: terminal, setting: setting))
            }
        }
        #expect(ProgressDisplay.automatic(label: "runs").label == "runs")
        #expect(ProgressDisplay.always(label: "runs") != ProgressDisplay.always)
    }

    @Test func neverMakesNoMeterAndCountsNothing() {
        var counted = false
        let meter = ProgressDisplay.never.meter(total: { counted = true; return 10 }())
        #expect(meter == nil)
        #expect(!counted, "the total is not asked for")
    }

    // MARK: What iterations count

    /// A display drawing into `recording`, labelled "squares".
    private func recorded(_ recording: ProgressRecording) -> ProgressDisplay {
        ProgressDisplay(condition: .recorded(recording), label: "squares")
    }

    /// Checks that every write is one drawing, that only the last ends the line, and returns the
    /// last line's text.
    private func lastLine(_ recording: ProgressRecording, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let written = recording.written
        #expect(!written.isEmpty, sourceLocation: sourceLocation)
        for (index, text) in written.enumerated() {
            #expect(text.hasPrefix("\r"), sourceLocation: sourceLocation)
            #expect(text.hasSuffix(index == written.count - 1 ? "\u{1B}[K\n" : "\u{1B}[K"), sourceLocation: sourceLocation)
        }
        return String((written.last ?? "").dropFirst().prefix { $0 != "\u{1B}" })
    }

    @Test(arguments: [1, 7, 40], [false, true])
    func aMapCountsInputsNotChunks(chunkSize: Int, unordered: Bool) throws {
        let recording = ProgressRecording()
        let squares = try InlineDummyExecutor().map(Square(), 0..<40, chunkSize: chunkSize, unordered: unordered,
                                                    progress: recorded(recording)).collect()
        #expect(squares.count == 40)
        let last = lastLine(recording)
        #expect(last.hasPrefix("squares: 40/40 100% [####################] "), "\(last)")
        #expect(last.contains("/s, finished in 0:0"), "\(last)")
    }

    @Test func aMapOnAProcessPoolCountsEveryInputOfItsChunks() async throws {
        let recording = ProgressRecording()
        try await withExecutor(try LocalProcessPoolExecutor(workers: 2)) { pool in
            var count = 0
            for try await _ in try pool.map(SleepMicroseconds(), Array(repeating: 20_000, count: 40), chunkSize: 3,
                                            unordered: true, progress: recorded(recording)) {
                count += 1
            }
            #expect(count == 40)
        }
        let counts = recording.written.compactMap { text in
            Int(text.dropFirst("\rsquares: ".count).prefix { $0.isNumber })
        }
        #expect(counts == counts.sorted(), "counts only go up: \(counts)")
        #expect(lastLine(recording).hasPrefix("squares: 40/40 100%"))
    }

    @Test func mapResultsCountsFailedInputsAsDone() throws {
        let recording = ProgressRecording()
        let results = try InlineDummyExecutor().mapResults(FailOn([3, 17]), 0..<40, chunkSize: 4,
                                                           progress: recorded(recording)).collect()
        #expect(results.filter { (try? $0.result.get()) == nil }.count == 2)
        #expect(lastLine(recording).hasPrefix("squares: 40/40 100%"))
    }

    @Test func aMapThatFailsEndsItsLineWhereItFailed() throws {
        let recording = ProgressRecording()
        let results = try InlineDummyExecutor().map(FailOn([10]), 0..<40, progress: recorded(recording))
        #expect(throws: TaskFailure.self) { try results.collect() }
        let last = lastLine(recording)
        #expect(last.hasPrefix("squares: 10/40 25%") && last.contains("failed after"), "\(last)")
    }

    @Test func aMapCancelledOrDroppedEndsItsLine() throws {
        let cancelled = ProgressRecording()
        let results = try InlineDummyExecutor().map(Square(), 0..<40, progress: recorded(cancelled))
        _ = try results.next()
        results.cancel()
        #expect(try results.next() == nil)
        #expect(lastLine(cancelled).hasPrefix("squares: 1/40 2%"))
        #expect(lastLine(cancelled).contains("cancelled after"))

        let dropped = ProgressRecording()
        do {
            let results = try InlineDummyExecutor().map(Square(), 0..<40, progress: recorded(dropped))
            while let square = try results.next(), square < 25 {}
        }
        #expect(lastLine(dropped).hasPrefix("squares: 6/40 15%"))
        #expect(lastLine(dropped).contains("stopped after"))
    }

    @Test func aMapWithoutAKnownTotalCountsWhatIsDone() throws {
        let recording = ProgressRecording()
        let naturals = sequence(first: 0) { $0 + 1 }.prefix(30)
        #expect(try InlineDummyExecutor().map(Square(), naturals, progress: recorded(recording)).collect().count == 30)
        #expect(lastLine(recording).hasPrefix("squares: 30 done, "))
    }

    @Test func anIterationCancelledAsynchronouslyEndsItsLine() async throws {
        let recording = ProgressRecording()
        let display = recorded(recording)
        let pending = Future<Int>(label: "pending")
        _ = pending.markRunning()
        let iteration = Task {
            for try await _ in Futures.asCompleted([pending], progress: display) {}
        }
        // The line is drawn once the iteration waits.
        while recording.written.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        iteration.cancel()
        await #expect(throws: CancellationError.self) { try await iteration.value }
        #expect(lastLine(recording).hasPrefix("squares: 0/1 0%"))
        #expect(lastLine(recording).contains("cancelled after"))
    }

    @Test func asCompletedCountsEachFutureOnceAndRedrawsWhileItWaits() throws {
        let recording = ProgressRecording()
        let done = Future<Int>(label: "done")
        done.succeed(1, origin: nil)
        let late = Future<Int>(label: "late")
        _ = late.markRunning()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2_300)) { late.succeed(2, origin: nil) }
        let completed = Futures.asCompleted([done, late, done], timeout: .seconds(60), progress: recorded(recording))
        var yielded = 0
        while try completed.next() != nil { yielded += 1 }
        #expect(yielded == 2)
        let written = recording.written
        // 1/2 when `done` is yielded, then again about every second while `late` runs: the times move on.
        let waiting = written.filter { $0.contains("1/2 50%") }
        #expect(waiting.count >= 2, "\(written)")
        #expect(waiting.contains { $0.contains("0:01 elapsed") } || waiting.contains { $0.contains("0:02 elapsed") }, "\(written)")
        #expect(lastLine(recording).hasPrefix("squares: 2/2 100%"))
    }

    @Test func asCompletedEndsItsLineAtItsTimeout() throws {
        let recording = ProgressRecording()
        let running = Future<Int>(label: "running")
        _ = running.markRunning()
        let completed = Futures.asCompleted([running], timeout: .milliseconds(250), progress: recorded(recording))
        #expect(throws: ClusterFuturesError.self) { try completed.next() }
        #expect(lastLine(recording).hasPrefix("squares: 0/1 0%"))
        #expect(lastLine(recording).contains("timed out after 0:00"))
    }
}
