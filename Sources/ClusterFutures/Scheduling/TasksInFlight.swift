import DequeModule

/// What one worker was sent and has not answered, oldest first, with its ``PipelineWindow``: the
/// ledger both pools keep for each worker, and the one place that says what becomes of its tasks
/// when it answers, when tasks sent ahead are taken back, and when it is lost.
///
/// Owned by one worker's record and used under its pool's lock (or on its I/O thread): not
/// `Sendable`.
///
/// The first task is the one the worker runs; the others were sent ahead and have not started.
/// `Task` is the pool's record of a task (its job, and whatever else the pool needs to complete
/// it). Each task carries the number the pool sent it under, by which a ``TaskClaim`` names it.
@_spi(ExecutorImplementation)
public final class TasksInFlight<Task> {
    /// One task sent.
    @frozen
    public struct Entry {
        /// The pool's record of it.
        public let task: Task
        /// The number it was sent under (see ``TaskClaim``).
        public let id: UInt64
        /// When it was sent.
        public let sentAt: ContinuousClock.Instant

        @inlinable
        init(task: Task, id: UInt64, sentAt: ContinuousClock.Instant) {
            self.task = task
            self.id = id
            self.sentAt = sentAt
        }
    }

    // A class, inlinable throughout, with its storage visible to inlined code: the MPI pool uses it
    // from another module, where a struct's reads copied the whole ledger through generic value
    // witnesses, and unspecialized calls added 0.3-0.4 µs to a 2.6 µs round trip.
    // @exclusivity(unchecked): the owner's lock or thread already rules out overlapping accesses,
    // and the dynamic checks of a class's stored properties cost a share of a round trip.
    @usableFromInline @exclusivity(unchecked)
    var storage = Deque<Entry>()
    @usableFromInline @exclusivity(unchecked)
    var pipelineWindow: PipelineWindow

    /// The tasks, oldest first.
    @inlinable
    public var entries: Deque<Entry> { storage }
    /// How many tasks may be in flight.
    @inlinable
    public var window: PipelineWindow { pipelineWindow }
    /// Not before then is another attempt made to take back what was sent ahead: the last one
    /// found the worker between tasks (``takeBackFailed(at:)``).
    @exclusivity(unchecked)
    public private(set) var nextReclaimAttempt: ContinuousClock.Instant?
    /// How long the running task must have run before, with another worker idle, what was sent
    /// ahead of it is taken back: a capability of the pool's transport (see
    /// ``DispatchCandidate/reclaimAfter``).
    public let reclaimAfter: Duration

    /// An empty ledger whose window is at most `windowLimit`, starting at two tasks when what is
    /// sent ahead can be taken back (`reclaimable`), else at one; what was sent ahead is taken back
    /// once the running task has run `reclaimAfter`.
    @inlinable
    public init(windowLimit: Int, reclaimable: Bool, reclaimAfter: Duration = DispatchPolicy.reclaimAfter) {
        pipelineWindow = PipelineWindow(limit: windowLimit, reclaimable: reclaimable)
        self.reclaimAfter = reclaimAfter
    }

    /// How many tasks are in flight.
    @inlinable
    public var count: Int { storage.count }
    /// Whether none is.
    @inlinable
    public var isEmpty: Bool { storage.isEmpty }
    /// The task the worker runs, if any.
    @inlinable
    public var running: Entry? { storage.first }
    /// When the oldest task in flight was sent.
    @inlinable
    public var oldestSentAt: ContinuousClock.Instant? { storage.first?.sentAt }

    /// Records `task`, sent now under `id`.
    @inlinable
    public func sent(_ task: Task, id: UInt64, at time: ContinuousClock.Instant) {
        storage.append(Entry(task: task, id: id, sentAt: time))
    }

    /// The worker answered its oldest task: removes it, adjusts the window, and returns it with
    /// how long it took. Nil when nothing was in flight (a protocol violation the pool reports).
    @inlinable
    public func answered(at time: ContinuousClock.Instant) -> (entry: Entry, took: Duration)? {
        guard let entry = storage.popFirst() else { return nil }
        return (entry, pipelineWindow.recordResult(sentAt: entry.sentAt, now: time))
    }

    /// The numbers to name in a request to take back what was sent ahead: the task it runs and the
    /// last one sent. Nil unless a task was sent ahead.
    @inlinable
    public var reclaimRange: (running: UInt64, through: UInt64)? {
        guard storage.count >= 2, let first = storage.first, let last = storage.last else { return nil }
        return (first.id, last.id)
    }

    /// An attempt to take back what was sent ahead found the worker between tasks (it had not yet
    /// claimed the task it was sent, or had just moved on): the next attempt waits
    /// ``reclaimAfter`` from `time`.
    public func takeBackFailed(at time: ContinuousClock.Instant) {
        nextReclaimAttempt = time + reclaimAfter
    }

    /// The worker gave back the tasks after `running`, up to `through`: removes and returns them,
    /// oldest first, and brings the window back to its initial size. They never started.
    @inlinable
    public func takeBack(after running: UInt64, through: UInt64) -> [Entry] {
        let taken = Array(storage.lazy.filter { $0.id > running && $0.id <= through })
        guard !taken.isEmpty else { return [] }
        storage.removeAll { $0.id > running && $0.id <= through }
        pipelineWindow.fallBack()
        return taken
    }

    /// The worker is gone. Only the task it ran fails (nil when `wasRunning` is false: it had
    /// answered it, and was between tasks); the tasks sent ahead had not started, and go to
    /// another worker. Empties the ledger.
    @inlinable
    public func lost(wasRunning: Bool = true) -> (running: Entry?, unstarted: [Entry]) {
        let running = wasRunning ? storage.popFirst() : nil
        defer { storage.removeAll() }
        return (running, Array(storage))
    }

    /// Empties the ledger and returns what was in it (the pool broke: all of it fails).
    @inlinable
    public func removeAll() -> [Entry] {
        defer { storage.removeAll() }
        return Array(storage)
    }
}

/// A worker that keeps what it was sent in a ``TasksInFlight``: what ``DispatchPolicy`` reads of it
/// comes from there, the same way in every pool.
@_spi(ExecutorImplementation)
public protocol TrackedWorker: DispatchCandidate {
    /// The pool's record of a task.
    associatedtype Task
    /// What it was sent and has not answered.
    var tasks: TasksInFlight<Task> { get }
}

@_spi(ExecutorImplementation)
extension TrackedWorker {
    /// ``TasksInFlight/count``.
    @inlinable
    public var tasksInFlight: Int { tasks.count }
    /// ``TasksInFlight/window``.
    @inlinable
    public var window: PipelineWindow { tasks.window }
    /// ``TasksInFlight/oldestSentAt``.
    @inlinable
    public var oldestSentAt: ContinuousClock.Instant? { tasks.oldestSentAt }
    /// ``TasksInFlight/nextReclaimAttempt``.
    @inlinable
    public var nextReclaimAttempt: ContinuousClock.Instant? { tasks.nextReclaimAttempt }
    /// ``TasksInFlight/reclaimAfter``.
    @inlinable
    public var reclaimAfter: Duration { tasks.reclaimAfter }
}
