import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether a `map`, a `mapResults` or an `asCompleted` iteration draws its progress: one line on
/// standard error, redrawn in place, with the count done out of the total, the rate, the time
/// elapsed and the time left.
///
/// ```swift
/// for try await result in try executor.map(Simulate(), runs, progress: .automatic(label: "runs")) {
///     results.append(result)
/// }
/// // runs: 12/40 30% [######..............] 4.10/s, 0:03 elapsed, 0:07 left
/// // and, once the map is over, on a line of its own:
/// // runs: 40/40 100% [####################] 4.12/s, finished in 0:10
/// ```
///
/// The line counts what the iteration has yielded (inputs, not chunks, for a map in chunks), and
/// is redrawn at most ten times a second, and once a second while nothing comes. Its last state
/// stays on the screen, ended with a newline, when the iteration finishes, fails, is cancelled or
/// is dropped part-way. Drawing nothing (``never``, the default) costs nothing.
///
/// ``automatic`` draws only when standard error is a terminal, so that logs and pipes stay clean.
/// Under `mpiexec`, rank 0's standard error is a pipe to the launcher even when the launcher
/// writes to a terminal: set `CLUSTERFUTURES_PROGRESS=1` to draw there anyway (``environmentVariable``;
/// `0` draws never), or use ``always``.
///
/// The line is drawn with a carriage return and ends without a newline, as tqdm's is: lines the
/// program prints while it is on the screen start after it. Print what each result says after
/// the iteration, or log it, or leave the progress off.
public struct ProgressDisplay: Sendable, Hashable {
    /// When the line is drawn.
    enum Condition: Sendable, Hashable {
        case never
        case automatic
        case always
        /// Drawn, into a test's recording rather than on standard error.
        case recorded(ProgressRecording)
    }

    let condition: Condition

    /// What the line starts with, naming the work (followed by a colon); nil for nothing.
    public let label: String?

    /// Draws nothing. The default of `map`, `mapResults` and `asCompleted`.
    public static let never = ProgressDisplay(condition: .never, label: nil)

    /// Draws when standard error is a terminal, or when ``environmentVariable`` says to.
    public static let automatic = ProgressDisplay(condition: .automatic, label: nil)

    /// Draws whatever standard error is: a terminal, a pipe or a file.
    public static let always = ProgressDisplay(condition: .always, label: nil)

    /// As ``automatic``, with a line that starts with `label`.
    public static func automatic(label: String) -> ProgressDisplay {
        ProgressDisplay(condition: .automatic, label: label)
    }

    /// As ``always``, with a line that starts with `label`.
    public static func always(label: String) -> ProgressDisplay {
        ProgressDisplay(condition: .always, label: label)
    }

    /// `CLUSTERFUTURES_PROGRESS`, the environment variable that decides for ``automatic``: `1`
    /// (or `yes`, `true`, `on`, `always`) draws even when standard error is not a terminal, as
    /// under `mpiexec`; `0` (or `no`, `false`, `off`, `never`) draws never; unset, or anything
    /// else, leaves it to whether standard error is a terminal. ``always`` and ``never`` do not
    /// read it.
    public static let environmentVariable = "CLUSTERFUTURES_PROGRESS"

    /// Whether the line is drawn, given whether standard error is a terminal and the value of
    /// ``environmentVariable`` (nil when unset).
    func draws(standardErrorIsTerminal: @autoclosure () -> Bool, setting: @autoclosure () -> String?) -> Bool {
        switch condition {
        case .never: false
        case .always, .recorded: true
        case .automatic: Self.parse(setting()) ?? standardErrorIsTerminal()
        }
    }

    /// What a value of ``environmentVariable`` says: draw, do not draw, or nil for no opinion.
    static func parse(_ setting: String?) -> Bool? {
        switch setting?.lowercased() {
        case "1", "yes", "true", "on", "always": true
        case "0", "no", "false", "off", "never": false
        default: nil
        }
    }

    /// A meter drawing on standard error for an iteration of `total` elements (nil: not known),
    /// or nil when nothing is to be drawn: the only place that decides.
    func meter(total: @autoclosure () -> Int?) -> ProgressMeter? {
        switch condition {
        case .never: return nil
        case .recorded(let recording): return recording.meter(label: label, total: total())
        case .automatic, .always: break
        }
        let draws = draws(standardErrorIsTerminal: SystemCalls.isTerminal(.standardError),
                          setting: getenv(Self.environmentVariable).map { String(cString: $0) })
        return draws ? ProgressMeter.onStandardError(label: label, total: total()) : nil
    }
}

/// Where a test's progress lines go instead of standard error, drawn for a terminal `columns`
/// wide, with the time `now` gives.
final class ProgressRecording: Sendable, Hashable {
    private let now: @Sendable () -> ContinuousClock.Instant
    private let columns: Int
    private let writes = Mutex<[String]>([])

    init(columns: Int = 80, now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.columns = columns
        self.now = now
    }

    /// Every write so far: each a carriage return, a line and an erase to its end, the last one of
    /// an iteration with a newline too.
    var written: [String] { writes.withLock { $0 } }

    func meter(label: String?, total: Int?) -> ProgressMeter {
        ProgressMeter(label: label, total: total, now: now, columns: { [columns] in columns },
                      write: { [self] text in self.writes.withLock { $0.append(text) } })
    }

    static func == (left: ProgressRecording, right: ProgressRecording) -> Bool { left === right }

    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
