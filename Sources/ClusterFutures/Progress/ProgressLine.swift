/// What a progress line says, and its text fitted to a terminal's width: pure, so that its tests
/// need no terminal and no clock.
///
/// ```
/// squares: 12/40 30% [######..............] 4.10/s, 0:03 elapsed, 0:07 left
/// squares: 40/40 100% [####################] 13.2/s, finished in 0:03
/// squares: 12 done, 4.10/s, 0:03 elapsed                  (total not known)
/// ```
struct ProgressLine: Equatable {
    /// How an iteration ended.
    enum Ending: Equatable {
        /// Every element was yielded.
        case finished
        /// It threw an error (for `map`, an input's).
        case failed
        /// It was cancelled: its Swift task, or `cancel()`.
        case cancelled
        /// Its timeout passed.
        case timedOut
        /// It was dropped before its end.
        case stopped
    }

    /// The widest bar, brackets left out.
    static let barWidth = 20
    /// The narrowest bar worth drawing; on a narrower terminal the line goes without.
    static let narrowestBar = 5

    var label: String?
    var done: Int
    /// The number of elements in all; nil when not known (and treated so once `done` passes it).
    var total: Int?
    var elapsed: Duration
    /// nil while the iteration runs.
    var ending: Ending?

    /// The line, at most `columns - 1` characters wide (a line that reached the last column would
    /// wrap on some terminals, and the next carriage return would then redraw only its second half).
    /// Where the whole line does not fit, it goes without, in turn, the bar (first made narrower),
    /// the percentage and the time elapsed while running; what still does not fit is cut.
    func text(columns: Int) -> String {
        let width = max(columns - 1, 1)
        let label = label.map { "\($0): " } ?? ""
        guard let total, total > 0, done <= total else {
            let line = "\(label)\(done) done, \(rateText), \(timeText(left: nil, elapsedShown: true))"
            return line.count > width ? String(line.prefix(width)) : line
        }
        let count = "\(label)\(done)/\(total)"
        let percent = "\(done * 100 / total)%"
        let remaining = Double(total - done)
        let tail = "\(rateText), \(timeText(left: remaining, elapsedShown: true))"
        // Two spaces and two brackets around the bar.
        let barWidth = min(Self.barWidth, width - count.count - percent.count - tail.count - 5)
        var candidates: [String] = []
        if barWidth >= Self.narrowestBar {
            let filled = done * barWidth / total
            let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
            candidates.append("\(count) \(percent) \(bar) \(tail)")
        }
        candidates += [
            "\(count) \(percent) \(tail)",
            "\(count) \(tail)",
            "\(count) \(rateText), \(timeText(left: remaining, elapsedShown: false))",
        ]
        let line = candidates.first { $0.count <= width } ?? candidates[candidates.count - 1]
        return line.count > width ? String(line.prefix(width)) : line
    }

    /// The mean rate since the iteration began: "4.10/s", "13.2/s", "250/s", or "?/s" before the
    /// first element.
    var rateText: String {
        guard let rate else { return "?/s" }
        return "\(Self.decimal(rate))/s"
    }

    /// Elements a second, or nil when none is done or no time has passed.
    var rate: Double? {
        let seconds = Self.seconds(elapsed)
        guard done > 0, seconds > 0 else { return nil }
        return Double(done) / seconds
    }

    /// While running, the time elapsed (unless `elapsedShown` is false) and the time left (when
    /// `remaining` elements and the rate are known); once ended, how it ended and when.
    private func timeText(left remaining: Double?, elapsedShown: Bool) -> String {
        let elapsedText = Self.clock(Self.seconds(elapsed))
        switch ending {
        case nil:
            guard let remaining else { return "\(elapsedText) elapsed" }
            let left = "\(rate.map { Self.clock(remaining / $0) } ?? "?") left"
            return elapsedShown ? "\(elapsedText) elapsed, \(left)" : left
        case .finished: return "finished in \(elapsedText)"
        case .failed: return "failed after \(elapsedText)"
        case .cancelled: return "cancelled after \(elapsedText)"
        case .timedOut: return "timed out after \(elapsedText)"
        case .stopped: return "stopped after \(elapsedText)"
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// `seconds` as "m:ss", or "h:mm:ss" from an hour; "?" for what is not a sensible time.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 360_000_000 else { return "?" }
        let whole = Int(seconds.rounded(.down))
        let (hours, minutes, rest) = (whole / 3600, whole % 3600 / 60, whole % 60)
        let secondsText = rest < 10 ? "0\(rest)" : "\(rest)"
        if hours == 0 { return "\(minutes):\(secondsText)" }
        return "\(hours):\(minutes < 10 ? "0" : "")\(minutes):\(secondsText)"
    }

    /// Three significant figures or so: two decimals below 10, one below 100, none from 100.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite, value >= 0, value < 1e15 else { return "?" }
        let decimals = value < 9.995 ? 2 : value < 99.95 ? 1 : 0
        let scale = decimals == 2 ? 100 : decimals == 1 ? 10 : 1
        let scaled = Int((value * Double(scale)).rounded())
        guard decimals > 0 else { return "\(scaled)" }
        let fraction = String(scaled % scale)
        let padded = String(repeating: "0", count: decimals - fraction.count) + fraction
        return "\(scaled / scale).\(padded)"
    }
}
