/// Waiting on many futures at once: `wait(_:timeout:until:)`, blocking or awaited, and
/// ``asCompleted(_:timeout:progress:)``.
public enum Futures {
    /// When `Futures.wait(_:timeout:until:)` returns.
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
    /// and not done. Blocks the calling thread.
    ///
    /// Futures already done count at once. A duplicate appears once. A timeout is not an error: the
    /// futures still running are in `notDone`. Lazy tasks of the inline executor are run in the
    /// caller, one at a time, until the condition holds.
    ///
    /// Unavailable in asynchronous code, where it would hold a thread of the cooperative pool:
    /// there, `try await Futures.wait(...)` suspends instead.
    ///
    /// - Returns: `done` and `notDone`, each in the order of `futures`.
    @available(*, noasync, message: "Futures.wait blocks the thread; in async code use 'try await Futures.wait(...)'")
    public static func wait<F: AnyFuture>(
        _ futures: some Sequence<F>,
        timeout: Duration? = nil,
        until: WaitCondition = .allCompleted
    ) -> (done: [F], notDone: [F]) {
        let waiting = ConditionWait(deduplicated(futures), until: until, deadline: Deadline(timeout: timeout))
        // Its steps throw nothing and end only with the partition; the fallback is the same partition.
        return (try? waiting.nextBlocking()).flatMap { $0 } ?? waiting.partition()
    }

    /// Waits until `until` holds for `futures`, or `timeout` passes, and splits them into done
    /// and not done; suspends without blocking a thread.
    ///
    /// As the blocking `wait`, lazy tasks of the inline executor run in the caller, and a timeout is
    /// not an error.
    ///
    /// - Returns: `done` and `notDone`, each in the order of `futures`.
    /// - Throws: `CancellationError` when the awaiting Swift task is cancelled, before or while it
    ///   waits. The futures are left as they are: they are the caller's, to wait for again or to
    ///   cancel.
    public nonisolated(nonsending) static func wait<F: AnyFuture>(
        _ futures: some Sequence<F>,
        timeout: Duration? = nil,
        until: WaitCondition = .allCompleted
    ) async throws -> (done: [F], notDone: [F]) {
        let waiting = ConditionWait(deduplicated(futures), until: until, deadline: Deadline(timeout: timeout))
        return try await waiting.nextSuspending(isolation: #isolation) ?? waiting.partition()
    }

    /// Yields each of `futures` once as it completes: those already done first, then the others in
    /// the order they complete.
    ///
    /// ```swift
    /// let completed = Futures.asCompleted(futures, timeout: .seconds(30))
    /// for try await future in completed { print(try await future.result()) }
    /// // or, in synchronous code: while let future = try completed.next() { ... }
    /// ```
    ///
    /// The timeout is measured from this call. When it passes, `next()` throws
    /// ``ClusterFuturesError/Code-swift.struct/timedOut`` and the futures not yet yielded stay so.
    ///
    /// Cancelling the Swift task that iterates with `for try await` makes the iteration throw
    /// `CancellationError` at once, even while it waits, and leaves the futures alone: they belong
    /// to the caller, who may still wait for them or ``AnyFuture/cancel()`` them (Python's
    /// `as_completed` does not cancel futures either). `map`, by contrast, owns its futures and
    /// cancels those not started (``Executor/map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)``).
    ///
    /// With `progress` other than ``ProgressDisplay/never`` (the default), the iteration draws how
    /// many futures it has yielded out of all of them on standard error (``ProgressDisplay``):
    ///
    /// ```swift
    /// for try await future in Futures.asCompleted(futures, progress: .automatic(label: "downloads")) {
    ///     print(try await future.result())
    /// }
    /// ```
    public static func asCompleted<F: AnyFuture>(
        _ futures: some Sequence<F>,
        timeout: Duration? = nil,
        progress: ProgressDisplay = .never
    ) -> AsCompleted<F> {
        let futures = deduplicated(futures)
        return AsCompleted(futures, deadline: Deadline(timeout: timeout), progress: progress.meter(total: futures.count))
    }

    static func deduplicated<F: AnyFuture>(_ futures: some Sequence<F>) -> [F] {
        var seen = Set<ObjectIdentifier>()
        return futures.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }
}

/// The futures of ``Futures/asCompleted(_:timeout:progress:)``, each yielded once as it completes.
///
/// Iterate with `for try await` or `try await next()` from asynchronous code, and with the blocking
/// `next()` from synchronous code. When the Swift task that iterates asynchronously is cancelled,
/// the iteration throws `CancellationError` promptly, also while it waits, and cancels none of the
/// futures: they are the caller's.
public final class AsCompleted<F: AnyFuture>: AsyncSequence, AsyncIteratorProtocol, WaitingIterator {
    /// The futures, each yielded once, as it completes.
    public typealias Element = F
    /// `CancellationError` when the iterating task is cancelled, or a ``ClusterFuturesError`` with
    /// code ``ClusterFuturesError/Code-swift.struct/timedOut`` when the timeout passes.
    public typealias Failure = any Error

    private var remaining: [F]
    let deadline: Deadline
    let waiter = FutureWaiter()
    private var ready: [F] = []
    let progress: ProgressMeter?

    init(_ futures: [F], deadline: Deadline, progress: ProgressMeter?) {
        self.deadline = deadline
        self.progress = progress
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
    /// Unavailable in asynchronous code, where it would hold a thread of the cooperative pool:
    /// there, `try await next()` suspends instead.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/timedOut`` when the deadline passes first.
    @available(*, noasync, message: "next() blocks the thread; in async code use 'try await next()' or 'for try await'")
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
    public nonisolated(nonsending) func next() async throws -> F? {
        try await nextSuspending(isolation: #isolation)
    }

    /// The next future to complete, as the asynchronous `next()`: what `for try await` calls, in the
    /// caller's isolation.
    public func next(isolation actor: isolated (any Actor)?) async throws -> F? {
        try await nextSuspending(isolation: actor)
    }

    /// The futures themselves: they are their own iterator, iterated once.
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

/// `Futures.wait(_:timeout:until:)` as a ``WaitingIterator`` of one element, so that the blocking
/// and the suspending wait are one loop: its step yields the partition once the condition holds or
/// the deadline has passed, running lazy inline tasks until then.
private final class ConditionWait<F: AnyFuture>: WaitingIterator {
    private let futures: [F]
    private let until: Futures.WaitCondition
    let deadline: Deadline
    let waiter = FutureWaiter()

    init(_ futures: [F], until: Futures.WaitCondition, deadline: Deadline) {
        self.futures = futures
        self.until = until
        self.deadline = deadline
        for future in futures { _ = future.register(waiter) }
    }

    deinit {
        for future in futures { future.unregister(waiter) }
    }

    func step() -> WaitStep<(done: [F], notDone: [F])> {
        // The waiter only wakes this wait; the futures' states are read directly.
        _ = waiter.takeCompleted()
        while !conditionHolds() && !deadline.hasPassed {
            guard let lazy = futures.first(where: { !$0.isDone && $0.runsOnDemand }) else { return .mustWait }
            lazy.runIfOnDemand()
        }
        return .yield(partition())
    }

    /// The futures split into done and not done, each in the order given.
    func partition() -> (done: [F], notDone: [F]) {
        var done: [F] = []
        var notDone: [F] = []
        for future in futures {
            if future.isDone { done.append(future) } else { notDone.append(future) }
        }
        return (done, notDone)
    }

    private func conditionHolds() -> Bool {
        switch until {
        case .firstCompleted: futures.contains { $0.isDone }
        case .firstError: futures.contains { $0.hasFailed } || futures.allSatisfy { $0.isDone }
        case .allCompleted: futures.allSatisfy { $0.isDone }
        }
    }

    /// A timeout is not an error: the next step yields the partition as it stands.
    func expire() {}

    /// The futures are the caller's: a cancelled wait leaves them as they are.
    func taskWasCancelled() {}

    /// A wait draws no progress.
    var progress: ProgressMeter? { nil }
}
