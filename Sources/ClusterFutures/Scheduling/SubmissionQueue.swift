import DequeModule
import Synchronization

/// One executor's jobs in a ``SubmissionQueue``, in the order submitted.
///
/// A lane belongs to the queue that holds it and is touched only under that queue's owner's lock.
// @unchecked Sendable: its state is changed only through the SubmissionQueue that holds it, which
// its owner keeps under a lock (the pools' `Mutex`es); a lane is shared between threads only as a
// reference to compare or to pass back to that queue.
@_spi(ExecutorImplementation)
public final class SubmissionLane: @unchecked Sendable {
    // @exclusivity(unchecked): the owner's lock already rules out overlapping accesses.
    @usableFromInline @exclusivity(unchecked)
    var jobs = Deque<Job>()
    @usableFromInline @exclusivity(unchecked)
    var draining = false

    /// An empty lane, for one executor.
    public init() {}
}

/// What a ``SubmissionQueue`` takes turns between: an executor, with its lane.
@_spi(ExecutorImplementation)
public protocol SubmissionClient: AnyObject {
    /// Its jobs.
    var lane: SubmissionLane { get }
}

@_spi(ExecutorImplementation)
extension SubmissionLane: SubmissionClient {
    /// A lane is its own client, for a pool with one executor.
    @inlinable
    public var lane: SubmissionLane { self }
}

/// The number of jobs in a ``SubmissionQueue``, readable without its owner's lock: a look that
/// finds none skips the lock, and one that misses a job just queued finds it on the next look.
@_spi(ExecutorImplementation)
public final class SubmissionCount: Sendable {
    @usableFromInline
    let value = Atomic<Int>(0)

    /// The number, as last stored under the owner's lock.
    @inlinable
    public var current: Int { value.load(ordering: .acquiring) }
}

/// The jobs submitted to a pool and not yet handed to a worker, for every pool: one lane per
/// executor, taken in turns, first in, first out within each. The process pool has one executor;
/// every `MPIPoolExecutor` of a program shares the one MPI pool, and none starves another.
///
/// Kept under its owner's lock; ``counted`` mirrors ``count`` for looks without it.
@_spi(ExecutorImplementation)
public struct SubmissionQueue<Client: SubmissionClient> {
    @usableFromInline
    var clients: [Client] = []
    @usableFromInline
    var nextTurn = 0
    @usableFromInline
    var drainingClients = 0
    @usableFromInline
    var queued = 0 {
        didSet { counted.value.store(queued, ordering: .releasing) }
    }
    /// ``count``, readable without the lock.
    public let counted = SubmissionCount()

    /// An empty queue with no client.
    public init() {}

    /// An empty queue with one client.
    public init(_ client: Client) {
        clients = [client]
    }

    /// How many jobs are queued, over every client.
    @inlinable
    public var count: Int { queued }
    /// Whether no job is queued.
    @inlinable
    public var isEmpty: Bool { queued == 0 }

    /// Adds a client, last in the turns.
    public mutating func add(_ client: Client) {
        clients.append(client)
    }

    /// Queues `job` for `client`.
    @inlinable
    public mutating func append(_ job: Job, for client: Client) {
        client.lane.jobs.append(job)
        queued += 1
    }

    /// Puts `jobs`, taken from `client`'s lane and not sent, back at its front, in their order.
    public mutating func putBack(_ jobs: some Collection<Job>, for client: Client) {
        client.lane.jobs.insert(contentsOf: jobs, at: 0)
        queued += jobs.count
    }

    /// The next job, taking turns between clients (and the client it came from); nil when none is
    /// queued, and then the clients that were shut down are forgotten.
    @inlinable
    public mutating func popNext() -> (job: Job, client: Client)? {
        guard queued > 0 else {
            forgetShutDownClients()
            return nil
        }
        guard let next = takeInTurn() else { return nil }
        queued -= 1
        return next
    }

    /// Up to `limit` jobs, by turns as ``popNext()`` takes them, appended to `batch`: one update of
    /// the count for the lot, so that a loop taking a batch under its owner's lock holds it briefly.
    @inlinable
    public mutating func popBatch(upTo limit: Int, into batch: inout [Job]) {
        guard queued > 0 else {
            forgetShutDownClients()
            return
        }
        var taken = 0
        while taken < limit, let (job, _) = takeInTurn() {
            batch.append(job)
            taken += 1
        }
        queued -= taken
    }

    /// The first job of the first client, from the one whose turn it is, that has one; the turn
    /// passes to the client after it. Leaves ``queued`` to the caller.
    ///
    /// Inlinable, as are the pops that call it: the MPI pool uses the queue from another module,
    /// where an unspecialized call looks up generic metadata and destroys its result tuple through
    /// the runtime's generic witnesses on every job (both showed in a profile of rank 0; removing
    /// them made no difference beyond the spread of a submit-only loop).
    @inlinable
    mutating func takeInTurn() -> (job: Job, client: Client)? {
        let count = clients.count
        for step in 0..<count {
            let index = (nextTurn + step) % count
            let client = clients[index]
            if let job = client.lane.jobs.popFirst() {
                nextTurn = (index + 1) % count
                return (job, client)
            }
        }
        return nil
    }

    /// Empties `client`'s lane and returns what it held.
    public mutating func removeAll(of client: Client) -> [Job] {
        let jobs = Array(client.lane.jobs)
        client.lane.jobs.removeAll()
        queued -= jobs.count
        return jobs
    }

    /// Empties every lane and returns what they held, with each job's client.
    public mutating func removeAll() -> [(job: Job, client: Client)] {
        var taken: [(job: Job, client: Client)] = []
        for client in clients {
            taken += client.lane.jobs.map { ($0, client) }
            client.lane.jobs.removeAll()
        }
        queued = 0
        return taken
    }

    /// `client` was shut down: it is forgotten once nothing is queued.
    public mutating func shutDown(_ client: Client) {
        guard !client.lane.draining else { return }
        client.lane.draining = true
        drainingClients += 1
    }

    /// Whether `client` was shut down.
    public func isShutDown(_ client: Client) -> Bool { client.lane.draining }

    @inlinable
    mutating func forgetShutDownClients() {
        guard drainingClients > 0 else { return }
        clients.removeAll { $0.lane.draining }
        drainingClients = 0
        nextTurn = 0
    }
}
