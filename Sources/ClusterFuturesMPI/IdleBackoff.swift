import CClusterFuturesSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a process that polls MPI waits: MPI has no blocking wait that leaves the core free
/// (`MPI_Recv` spins), so the pool's rank 0 and its workers poll: for ``busySpin`` after activity
/// with a system call only every few dozen polls, then yielding the core between polls until
/// ``spin``, then sleeping for intervals that double up to a limit.
///
/// A quick reply is seen within microseconds. Past `maxSleep`, sleeps keep growing with the wait,
/// to a fiftieth of it and at most ``ceiling``: a result is noticed at most 2% later than it came,
/// and a long wait costs a few dozen polls a second.
struct IdleBackoff {
    /// How long to keep polling after activity.
    var spin: Duration
    /// How long, at the start of ``spin``, to yield the core only every few dozen polls rather than
    /// between all of them: a `sched_yield` costs a system call and a pass through the scheduler,
    /// about as long as a whole round trip.
    var busySpin: Duration = .microseconds(50)
    /// The longest sleep between polls early in a wait.
    var maxSleep: Duration
    /// The longest sleep between polls in a long wait.
    var ceiling: Duration = .milliseconds(20)
    /// The first sleep after the spin.
    var minSleep: Duration = .microseconds(20)
    /// The longest steady sleep while every worker runs a long task (``reset(expectingAnswerIn:)``):
    /// a result is noticed at most this late, and tasks of 20 ms and more cost 200 polls a second.
    var steadyCeiling: Duration = .milliseconds(5)

    private var activeAt = ContinuousClock.now
    private var sleep: Duration
    /// Set by ``reset(expectingAnswerIn:)`` for a long answer: the sleep between polls, which does
    /// not double.
    private var steadySleep: Duration?
    /// Polls left before the clock is read again during the busy spin: reading it costs more than
    /// a poll here (a virtual machine's clock), and the spin's end need not be exact.
    private var pollsBeforeClock = 0

    init(spin: Duration, maxSleep: Duration) {
        self.spin = spin
        self.maxSleep = maxSleep
        self.sleep = minSleep
    }

    /// Something happened: poll eagerly again.
    mutating func reset() {
        activeAt = .now
        sleep = minSleep
        steadySleep = nil
        pollsBeforeClock = Self.pollsPerClockRead
    }

    /// Something happened, and the next answer is expected in about `expected`
    /// (`DispatchPolicy.expectedAnswer(among:)`; nil: at once). When one may come at once, polls
    /// eagerly again, as ``reset()``. Otherwise it skips the spin and sleeps half the expected wait
    /// between polls (at least ``minSleep``, at most ``steadyCeiling``), without doubling, and
    /// longer only as a long wait goes on (a fiftieth of it, as always): an answer is noticed at
    /// least half a task before the task sent ahead behind it ends, so the worker never waits for
    /// its next one, and two polls per task leave the cores to the workers. (Sleeps that doubled
    /// from an eighth of 1.3 ms tasks reached a whole task, and the worker ranks waited 77 µs for
    /// each next task. Against a quarter, half a task raised the pi speed-up of
    /// `cf-bench scaling --mpi` on 2 worker ranks from 1.73 to 1.79, medians of 12 interleaved
    /// rounds.)
    mutating func reset(expectingAnswerIn expected: Duration?) {
        guard let expected else { return reset() }
        activeAt = .now
        steadySleep = min(steadyCeiling, max(minSleep, expected / 2))
        pollsBeforeClock = 0
    }

    private static let pollsPerClockRead = 32

    /// The pause between two polls of the busy spin, `pauses` spin-loop hints long (about 30 ns
    /// each here). A poll (`MPI_Improbe`) is heavy work for the core; when the other end runs on the
    /// sibling hardware thread of the same core (common with two virtual CPUs), polling back to
    /// back halves its speed, and with it the round trip.
    static func relax(pauses: Int = 8) {
        for _ in 0..<pauses { cf_cpu_relax() }
    }

    /// The next pause: nil while spinning (yield and poll again), else how long to sleep; each
    /// sleep doubles the next, up to ``maxSleep`` (after ``reset(expectingAnswerIn:)`` with a long
    /// answer: the steady sleep, from the start).
    mutating func nextSleep() -> Duration? {
        let waited = ContinuousClock.now - activeAt
        if let steadySleep { return max(steadySleep, min(ceiling, waited / 50)) }
        if waited < spin { return nil }
        let limit = min(ceiling, max(maxSleep, waited / 50))
        defer { sleep = min(sleep * 2, limit) }
        return min(sleep, limit)
    }

    /// Pauses once: spins briefly or yields while spinning, else sleeps.
    mutating func pause() {
        if pollsBeforeClock > 0 {
            pollsBeforeClock -= 1
            Self.relax()
            return
        }
        guard let sleep = nextSleep() else {
            // Early in the spin, poll a while again before the next look at the clock; later,
            // yield between all polls. Either way, let another thread on this CPU run now: when the
            // scheduler puts both ends of a round trip on one CPU, a spin that never yields holds
            // up the other end for the whole spin.
            if ContinuousClock.now - activeAt < busySpin {
                pollsBeforeClock = Self.pollsPerClockRead
            }
            sched_yield()
            return
        }
        usleep(UInt32(sleep / .microseconds(1)))
    }
}
