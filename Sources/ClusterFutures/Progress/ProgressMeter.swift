import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The progress line of one iteration (a map, or `asCompleted`), as ``ProgressDisplay`` asks:
/// counts what the iteration yields and draws the line, redrawn in place at most every
/// ``redrawInterval``, and a last line, with a newline, when the iteration ends or is dropped.
///
/// ``WaitingIterator`` drives it, so that every iteration over futures shows progress the same way:
/// it calls ``advance()`` for each element yielded, ``drawIfDue()`` before it waits (and wakes at
/// ``wakeUp(before:)`` to redraw), and ``finish(_:)`` when it ends. Owned by the iterator and used
/// by its one consumer at a time, as the iterator is, so it needs no lock.
final class ProgressMeter {
    /// The shortest time between two redraws.
    static let redrawInterval = Duration.milliseconds(100)
    /// How often the line is redrawn while nothing comes, so that its times move on.
    static let idleRedrawInterval = Duration.seconds(1)
    /// The longest the last line waits for the reader of a pipe to take it.
    static let lastLineDelivery = Duration.seconds(1)

    private var line: ProgressLine
    private let started: ContinuousClock.Instant
    private let now: () -> ContinuousClock.Instant
    private let columns: () -> Int
    private let write: (String) -> Void
    /// When the line was last drawn, and the count it showed; nil before the first draw.
    private var lastDraw: (at: ContinuousClock.Instant, done: Int)?

    /// A meter that starts its clock now, measures the terminal with `columns` and writes each
    /// drawing with `write` (a carriage return, the line and an erase to its end; the last one
    /// with a newline too).
    init(label: String?, total: Int?, now: @escaping () -> ContinuousClock.Instant,
         columns: @escaping () -> Int, write: @escaping (String) -> Void) {
        self.line = ProgressLine(label: label, done: 0, total: total, elapsed: .zero, ending: nil)
        self.now = now
        self.started = now()
        self.columns = columns
        self.write = write
    }

    /// A meter that draws on standard error: the one place progress is written.
    static func onStandardError(label: String?, total: Int?) -> ProgressMeter {
        // Where standard error is not a terminal (a pipe to mpiexec), the width the environment
        // gives, or 80.
        let fallback = getenv("COLUMNS").flatMap { Int(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil } ?? 80
        return ProgressMeter(
            label: label, total: total, now: { ContinuousClock.now },
            columns: { SystemCalls.terminalColumns(.standardError) ?? fallback },
            write: { text in
                var text = text
                text.withUTF8 { SystemCalls.writeAll(.standardError, UnsafeRawBufferPointer($0)) }
                // The last line, on a pipe (to mpiexec, say): let the reader take it before the
                // program prints on standard output, so that the two reach the terminal in order.
                if text.hasSuffix("\n") { SystemCalls.waitUntilRead(.standardError, atMost: Self.lastLineDelivery) }
            })
    }

    deinit {
        // Dropped part-way (the loop left with `break`, say): the line it drew is ended.
        if lastDraw != nil { finish(.stopped) }
    }

    /// How many elements the iteration has yielded.
    var done: Int { line.done }

    /// Whether the iteration has ended: nothing more is drawn.
    var isFinished: Bool { line.ending != nil }

    /// One more element yielded; redraws if due.
    func advance() {
        guard line.ending == nil else { return }
        line.done += 1
        drawIfDue()
    }

    /// Draws the line if it was never drawn, or if it shows an older count and ``redrawInterval``
    /// has passed, or if ``idleRedrawInterval`` has.
    func drawIfDue() {
        guard line.ending == nil else { return }
        let time = now()
        if let lastDraw, time < lastDraw.at + (lastDraw.done == line.done ? Self.idleRedrawInterval : Self.redrawInterval) {
            return
        }
        draw(at: time, end: "")
    }

    /// `deadline`, or earlier when the line is due for a redraw before it: what to wait until.
    func wakeUp(before deadline: Deadline) -> Deadline {
        guard line.ending == nil, let lastDraw else { return deadline }
        let due = lastDraw.at + (lastDraw.done == line.done ? Self.idleRedrawInterval : Self.redrawInterval)
        return deadline.capped(at: due)
    }

    /// Draws the last line, saying how the iteration ended, with a newline; nothing more after it.
    func finish(_ ending: ProgressLine.Ending) {
        guard line.ending == nil else { return }
        line.ending = ending
        draw(at: now(), end: "\n")
    }

    /// The ending that `error`, thrown by the iteration, means.
    static func ending(for error: any Error) -> ProgressLine.Ending {
        if error is CancellationError { return .cancelled }
        if let error = error as? ClusterFuturesError, error.code == .timedOut { return .timedOut }
        return .failed
    }

    private func draw(at time: ContinuousClock.Instant, end: String) {
        line.elapsed = started.duration(to: time)
        lastDraw = (time, line.done)
        write("\r" + line.text(columns: columns()) + "\u{1B}[K" + end)
    }
}
