import CClusterFuturesSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a process that polls MPI waits: MPI has no blocking wait that leaves the core free
/// (`MPI_Recv` spins), so the pool's rank 0 and its workers poll: without a system call between
/// polls for ``busySpin`` after activity, then yielding the core between polls until ``spin``,
/// then sleeping for intervals that double up to a limit.
///
/// A quick reply is seen within microseconds. Past `maxSleep`, sleeps keep growing with the wait,
/// to a fiftieth of it and at most ``ceiling``: a result is noticed at most 2% later than it came,
/// and a long wait costs a few dozen polls a second.
struct IdleBackoff {
    /// How long to keep polling after activity.
    var spin: Duration
    /// How long, at the start of ``spin``, to poll without yielding the core: a `sched_yield` costs
    /// a system call and a pass through the scheduler, about as long as a whole round trip.
    var busySpin: Duration = .microseconds(50)
    /// The longest sleep between polls early in a wait.
    var maxSleep: Duration
    /// The longest sleep between polls in a long wait.
    var ceiling: Duration = .milliseconds(20)
    /// The first sleep after the spin.
    var minSleep: Duration = .microseconds(20)

    private var activeAt = ContinuousClock.now
    private var sleep: Duration

    init(spin: Duration, maxSleep: Duration) {
        self.spin = spin
        self.maxSleep = maxSleep
        self.sleep = minSleep
    }

    /// Something happened: poll eagerly again.
    mutating func reset() {
        activeAt = .now
        sleep = minSleep
    }

    /// Whether the spin after the last activity is over.
    var isSpinning: Bool { ContinuousClock.now - activeAt < spin }

    /// The next pause: nil while spinning (yield and poll again), else how long to sleep; each
    /// sleep doubles the next, up to ``maxSleep``.
    mutating func nextSleep() -> Duration? {
        let waited = ContinuousClock.now - activeAt
        if waited < spin { return nil }
        let limit = min(ceiling, max(maxSleep, waited / 50))
        defer { sleep = min(sleep * 2, limit) }
        return min(sleep, limit)
    }

    /// Pauses once: spins briefly or yields while spinning, else sleeps.
    mutating func pause() {
        guard let sleep = nextSleep() else {
            if ContinuousClock.now - activeAt < busySpin {
                for _ in 0..<16 { cf_cpu_relax() }
            } else {
                sched_yield()
            }
            return
        }
        usleep(UInt32(sleep / .microseconds(1)))
    }
}
