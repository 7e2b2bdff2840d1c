/// Waiting on many futures at once: ``wait(_:timeout:until:)`` and ``asCompleted(_:timeout:)``.
public enum Futures {
    /// When ``Futures/wait(_:timeout:until:)`` returns.
    public enum WaitCondition: Sendable, Hashable {
        /// As soon as any future is done (finished or cancelled).
        case firstCompleted
        /// As soon as any future finishes with an error; like ``allCompleted`` if none does.
        /// A cancelled future is not an error.
        case firstError
        /// When every future is done.
        case allCompleted
    }

    /// Waits until `until` holds for `futures`, or `timeout` passes, and splits them into done
    /// and not done.
    ///
    /// Futures already done count at once. A duplicate appears once. A timeout is not an error: the
    /// futures still running are in `notDone`. Lazy tasks of the inline executor are run in the
    /// caller, one at a time, until the condition holds.
    ///
    /// - Returns: `done` and `notDone`, each in the order of `futures`.
    public static func wait<F: AnyFuture>(
        _ futures: some Sequence<F>,
        timeout: Duration? = nil,
        until: WaitCondition = .allCompleted
    ) -> (done: [F], notDone: [F]) {
        let unique = deduplicated(futures)
        let deadline = Deadline(timeout: timeout)
        let waiter = FutureWaiter()
        for future in unique { _ = future.register(waiter) }
        defer { for future in unique { future.unregister(waiter) } }

        func conditionHolds() -> Bool {
            switch until {
            case .firstCompleted: unique.contains { $0.isDone }
            case .firstError: unique.contains { $0.hasFailed } || unique.allSatisfy { $0.isDone }
            case .allCompleted: unique.allSatisfy { $0.isDone }
            }
        }

        while !conditionHolds() {
            if deadline.hasPassed { break }
            if let lazy = unique.first(where: { !$0.isDone && $0.runsOnDemand }) {
                lazy.runIfOnDemand()
                continue
            }
            if !waiter.wait(until: deadline) { break }
        }
        var done: [F] = []
        var notDone: [F] = []
        for future in unique {
            if future.isDone { done.append(future) } else { notDone.append(future) }
        }
        return (done, notDone)
    }

    /// Yields each of `futures` once as it completes: those already done first, then the others in
    /// the order they complete.
    ///
    /// ```swift
    /// let completed = Futures.asCompleted(futures, timeout: .seconds(30))
    /// while let future = try completed.next() { print(try future.result()) }
    /// // or: for try await future in completed { ... }
    /// ```
    ///
    /// The timeout is measured from this call. When it passes, `next()` throws
    /// ``ClusterFuturesError/Code-swift.struct/timedOut`` and the futures not yet yielded stay so.
    ///
    /// Cancelling the Swift task that iterates with `for try await` makes the iteration throw
    /// `CancellationError` at once, even while it waits, and leaves the futures alone: they belong
    /// to the caller, who may still wait for them or ``AnyFuture/cancel()`` them (Python's
    /// `as_completed` does not cancel futures either). `map`, by contrast, owns its futures and
    /// cancels those not started (``Executor/map(_:_:timeout:chunkSize:bufferSize:unordered:)``).
    public static func asCompleted<F: AnyFuture>(
        _ futures: some Sequence<F>,
        timeout: Duration? = nil
    ) -> AsCompleted<F> {
        AsCompleted(deduplicated(futures), deadline: Deadline(timeout: timeout))
    }

    static func deduplicated<F: AnyFuture>(_ futures: some Sequence<F>) -> [F] {
        var seen = Set<ObjectIdentifier>()
        return futures.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }
}

/// The futures of ``Futures/asCompleted(_:timeout:)``, each yielded once as it completes.
///
/// Iterate with ``next()`` from synchronous code or `for try await` from asynchronous code. When the
/// Swift task that iterates asynchronously is cancelled, the iteration throws `CancellationError`
/// promptly, also while it waits, and cancels none of the futures: they are the caller's.
public final class AsCompleted<F: AnyFuture>: AsyncSequence, AsyncIteratorProtocol, WaitingIterator {
    public typealias Element = F
    public typealias Failure = any Error

    private var remaining: [F]
    let deadline: Deadline
    let waiter = FutureWaiter()
    private var ready: [F] = []

    init(_ futures: [F], deadline: Deadline) {
        self.deadline = deadline
        self.remaining = []
        for future in futures {
            if future.register(waiter) { remaining.append(future) } else { ready.append(future) }
        }
    }

    deinit {
        for future in remaining { future.unregister(waiter) }
    }

    /// The next future to complete, or nil when all have been yielded. Blocks the calling thread.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/timedOut`` when the deadline passes first.
    public func next() throws -> F? {
        try nextBlocking()
    }

    /// The next future to complete, or nil when all have been yielded. Suspends without blocking a
    /// thread (a lazy inline task still runs in the caller).
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/timedOut`` when the deadline passes first;
    ///   `CancellationError` when the awaiting Swift task is cancelled, before or while it waits. No
    ///   future is cancelled; a later call from a task that is not cancelled goes on yielding those
    ///   not yet yielded.
    public func next(isolation actor: isolated (any Actor)?) async throws -> F? {
        try await nextSuspending(isolation: actor)
    }

    public func makeAsyncIterator() -> AsCompleted<F> { self }

    func step() throws -> WaitStep<F> {
        while true {
            collectCompleted()
            if !ready.isEmpty { return .yield(ready.removeFirst()) }
            if remaining.isEmpty { return .finished }
            if deadline.hasPassed { throw timedOut() }
            guard let lazy = remaining.first(where: { $0.runsOnDemand }) else { return .mustWait }
            lazy.runIfOnDemand()
        }
    }

    /// The futures are the caller's: a cancelled iteration leaves them, and its own place, as they are.
    func taskWasCancelled() {}

    func expire() throws {
        collectCompleted()
        if ready.isEmpty { throw timedOut() }
    }

    /// Moves futures that completed, in completion order, from `remaining` to `ready`.
    private func collectCompleted() {
        for future in waiter.takeCompleted() {
            if let index = remaining.firstIndex(where: { $0 === future }) {
                ready.append(remaining.remove(at: index))
            }
        }
    }

    private func timedOut() -> ClusterFuturesError {
        ClusterFuturesError(.timedOut, "\(remaining.count) futures were not done before the deadline")
    }
}
