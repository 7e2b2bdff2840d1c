/// One worker as the pool's I/O loop sees it: what it was sent, its window, where it is in its
/// life; its ``link`` moves the frames. Used only on the I/O thread.
final class PoolWorker<Link: WorkerLink>: TrackedWorker {
    enum Phase: Equatable {
        /// Spawned; its hello has not arrived.
        case starting
        /// Welcomed; running its initializer.
        case initializing
        /// Taking tasks.
        case ready
        /// Announced that its task budget is spent; it exits after its last result.
        case retiring
        /// Told to exit (shutdown or idle).
        case stopping
    }

    let index: Int
    let link: Link
    let origin: TaskOrigin

    var phase: Phase = .starting
    /// Tasks sent and not yet answered, under their frame ids, and the window.
    let tasks: TasksInFlight<Job>

    /// Tasks sent to this worker in its life.
    var tasksSent = 0
    /// The functions whose definition it was sent.
    var defined = FunctionsDefined()
    /// When it last finished a task or started, for the idle timeout.
    var idleSince: ContinuousClock.Instant
    /// Why the pool retired it, when the pool did: overrides the exit status in the error.
    var retireReason: ClusterFuturesError?
    /// The id of the last task it answered.
    var lastAnsweredID: UInt64?
    /// Set when it was retired while still on a task it had already answered (it answered twice):
    /// none of the tasks in flight had started, so none of them fails with it.
    var retiredBetweenTasks = false
    /// The most tasks it may be sent in its life (`maxTasksPerWorker`), if limited.
    let taskBudget: Int?

    var acceptsTasks: Bool { phase == .ready && taskBudget.map { tasksSent < $0 } ?? true }

    init(index: Int, link: Link, windowLimit: Int, taskBudget: Int?, startedAt: ContinuousClock.Instant) {
        self.index = index
        self.idleSince = startedAt
        self.link = link
        self.origin = TaskOrigin(executor: "process", host: ProcessIdentity.hostName, pid: link.pid, worker: index)
        self.tasks = TasksInFlight(windowLimit: windowLimit, reclaimable: link.claim != nil,
                                   reclaimAfter: Self.reclaimAfter)
        self.taskBudget = taskBudget
    }

    var name: String { "worker \(index) (pid \(link.pid))" }

    /// How long a worker's running task must have run, while another worker is idle and nothing is
    /// queued for it, before the tasks sent ahead of it are taken back: the pool's I/O thread
    /// takes them back itself, with one compare-and-swap on the claim word in shared memory, so a
    /// task that has outlasted a quick one is reason enough. (After 2 ms, as the MPI pool, whose
    /// worker must answer a request, a worker that finished its last pi slice of 1.3 ms waited
    /// for the other's slice sent ahead, at the end of every map.)
    static var reclaimAfter: Duration { PipelineWindow.quickTask }
}
