/// A worker as ``DispatchPolicy`` sees it: whether it takes tasks, how many it has in flight, its
/// window, and when its oldest task in flight was sent.
@_spi(ExecutorImplementation)
public protocol DispatchCandidate: AnyObject {
    /// Whether the worker takes tasks now (started, welcomed, not stopping or retiring).
    var acceptsTasks: Bool { get }
    /// Tasks sent to it and not answered.
    var tasksInFlight: Int { get }
    /// How many tasks it may have in flight.
    var window: PipelineWindow { get }
    /// When the oldest task in flight was sent; nil when none is.
    var oldestSentAt: ContinuousClock.Instant? { get }
    /// Not before then is another attempt made to take back what was sent ahead to it: the last one
    /// found it between tasks. Nil when no attempt failed.
    var nextReclaimAttempt: ContinuousClock.Instant? { get }
    /// How long its running task must have run, while another worker is idle, before what was sent
    /// ahead of it is taken back. A capability of the transport: where taking back is one
    /// compare-and-swap in shared memory (the process pool), soon after a quick task's time; where
    /// it is a request the worker answers from a second thread (MPI), ``DispatchPolicy/reclaimAfter``.
    var reclaimAfter: Duration { get }
}

/// Which worker gets the next task, for every pool: the one place that decides it.
///
/// - A worker with nothing in flight comes first: a task never waits behind another while a
///   worker is idle.
/// - While a worker is still starting, nothing is sent ahead to a busy one: the starting worker
///   takes the task as soon as it is ready.
/// - Otherwise a task is sent ahead, to the least loaded worker, only when its window has room
///   (one task ahead, more while its tasks finish quickly) and, while its window is at its initial
///   size, the task it runs now started less than ``PipelineWindow/quickTask`` ago: a worker busy
///   with a long task is sent nothing more.
/// - Tasks already sent ahead of a task that runs past the worker's
///   ``DispatchCandidate/reclaimAfter`` are taken back as soon as another worker is idle, and go
///   to it.
///
/// "Running" keeps meaning handed to a worker: a task sent ahead is running.
@_spi(ExecutorImplementation)
public enum DispatchPolicy {
    /// The usual ``DispatchCandidate/reclaimAfter``: a worker whose current task has run this long,
    /// while another worker is idle, has the tasks sent ahead to it taken back (``TaskClaim``), for
    /// the idle one. A pool whose take-back costs nothing gives its workers less.
    public static let reclaimAfter: Duration = .milliseconds(2)

    /// Whether any of `workers` takes tasks and has none: then tasks sent ahead to a busy worker
    /// are better taken back (``shouldReclaim(from:now:)``).
    @inlinable
    public static func someoneIsIdle<Workers: Collection>(among workers: Workers) -> Bool
    where Workers.Element: DispatchCandidate {
        workers.contains { $0.acceptsTasks && $0.tasksInFlight == 0 }
    }

    /// Whether the tasks sent ahead to `worker` should be taken back now, given that another worker
    /// is idle: it has some, the task it runs started at least its ``DispatchCandidate/reclaimAfter``
    /// ago, and no failed attempt asks to wait (``DispatchCandidate/nextReclaimAttempt``).
    @inlinable
    public static func shouldReclaim(from worker: some DispatchCandidate, now: ContinuousClock.Instant) -> Bool {
        reclaimDeadline(for: worker).map { now >= $0 } ?? false
    }

    /// When ``shouldReclaim(from:now:)`` will first hold for `worker`, if it has tasks sent ahead.
    @inlinable
    public static func reclaimDeadline(for worker: some DispatchCandidate) -> ContinuousClock.Instant? {
        guard worker.tasksInFlight >= 2, let sentAt = worker.oldestSentAt else { return nil }
        let due = worker.window.startOfOldest(sentAt: sentAt) + worker.reclaimAfter
        return worker.nextReclaimAttempt.map { max(due, $0) } ?? due
    }

    /// How soon the next answer is expected: nil when it may come at once (a busy worker's last
    /// task was quick, or it has answered none yet, or no worker is busy), else the shortest of the
    /// busy workers' last task durations.
    ///
    /// A pool spins for a while after activity only when an answer may come at once: the spin
    /// makes a quick task's round trip fast, but while every worker runs a long task with the next
    /// one already sent to it, it only takes a core from them (a pool waiting for 1.3 ms tasks on two
    /// workers spent a fifth of a core spinning). An MPI pool, which can only poll, sleeps from the
    /// start instead, in steps sized to the expected answer (``IdleBackoff``).
    @inlinable
    public static func expectedAnswer<Workers: Collection>(among workers: Workers) -> Duration?
    where Workers.Element: DispatchCandidate {
        var shortest: Duration?
        for worker in workers where worker.tasksInFlight > 0 {
            guard let took = worker.window.lastDuration, took >= PipelineWindow.quickTask else { return nil }
            shortest = min(shortest ?? took, took)
        }
        return shortest
    }

    /// The worker that should get the next task, or nil when the task should stay queued.
    ///
    /// - Parameters:
    ///   - workers: the pool's workers.
    ///   - starting: how many workers are starting and will take tasks soon.
    ///   - now: the time, read only when no worker is idle.
    @inlinable
    public static func target<Workers: Collection>(
        among workers: Workers, starting: Int, now: () -> ContinuousClock.Instant = { .now }
    ) -> Workers.Element? where Workers.Element: DispatchCandidate {
        for worker in workers where worker.acceptsTasks && worker.tasksInFlight == 0 { return worker }
        guard starting == 0 else { return nil }
        var best: Workers.Element?
        var instant: ContinuousClock.Instant?
        for worker in workers where worker.acceptsTasks && worker.tasksInFlight < worker.window.size {
            if let best, best.tasksInFlight <= worker.tasksInFlight { continue }
            // A window past its initial size says the worker's tasks have been quick: no need to
            // read the clock (which costs more than the rest of a dispatch here) for every task of
            // a burst. If one turns out long, what was sent ahead of it is taken back.
            if worker.window.size <= worker.window.initialSize {
                guard let sentAt = worker.oldestSentAt else { continue }
                let time = instant ?? now()
                instant = time
                guard time - worker.window.startOfOldest(sentAt: sentAt) < PipelineWindow.quickTask else { continue }
            }
            best = worker
        }
        return best
    }
}
