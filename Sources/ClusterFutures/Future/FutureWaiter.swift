import Dispatch
import Synchronization

/// How an async wait on a ``FutureWaiter`` ended.
enum AsyncWaitOutcome: Sendable, Hashable {
    /// A future signalled the waiter.
    case signalled
    /// The deadline passed first.
    case timedOut
    /// The waiting Swift task was cancelled first.
    case cancelled
}

/// Blocks a thread, or suspends a task, until one of the futures it is registered with completes, and
/// remembers them in the order they completed. The futures signal it; signals are counted, so none
/// is lost between a check and a wait. A waiter is used either blocking or async, not both, and by
/// one waiting thread or task at a time.
final class FutureWaiter: Sendable {
    private struct AsyncState {
        var signals = 0
        var continuation: CheckedContinuation<AsyncWaitOutcome, Never>?
        /// Numbers the async waits; a wait ended early (deadline, cancellation) moves it on, so that
        /// whatever else would end the same wait finds it already over.
        var generation = 0
        /// Why the current wait ended early, for a continuation installed only after it did.
        var endedEarly: AsyncWaitOutcome?
    }

    private let semaphore = DispatchSemaphore(value: 0)
    private let completed = Mutex<[AnyFuture]>([])
    private let asyncState = Mutex(AsyncState())

    /// Called by a future when it becomes done.
    func notify(_ future: AnyFuture) {
        completed.withLock { $0.append(future) }
        semaphore.signal()
        let continuation = asyncState.withLock { state -> CheckedContinuation<AsyncWaitOutcome, Never>? in
            guard let continuation = state.continuation else {
                state.signals += 1
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(returning: .signalled)
    }

    /// The futures that completed since the last call, in order.
    func takeCompleted() -> [AnyFuture] {
        completed.withLock { completed in
            defer { completed.removeAll() }
            return completed
        }
    }

    /// Blocks until a signal. Returns false when `deadline` passed first.
    func wait(until deadline: Deadline) -> Bool {
        guard let remaining = deadline.remaining else {
            semaphore.wait()
            return true
        }
        return semaphore.wait(timeout: .now() + .nanoseconds(remaining.clampedNanoseconds)) == .success
    }

    /// Suspends until a signal, until `deadline` passes, or until the waiting Swift task is
    /// cancelled, whichever comes first; at once if the task already is cancelled and no signal is
    /// waiting. Never blocks a thread.
    func waitAsync(until deadline: Deadline) async -> AsyncWaitOutcome {
        let generation: Int? = asyncState.withLock { state in
            if state.signals > 0 {
                state.signals -= 1
                return nil
            }
            state.generation += 1
            state.endedEarly = nil
            return state.generation
        }
        guard let generation else { return .signalled }
        let timer: Task<Void, Never>? = deadline.remaining.map { remaining in
            Task { [self] in
                try? await Task.sleep(for: remaining)
                self.endEarly(generation: generation, as: .timedOut)
            }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow: AsyncWaitOutcome? = asyncState.withLock { state in
                    if state.signals > 0 {
                        state.signals -= 1
                        return .signalled
                    }
                    if state.generation != generation { return state.endedEarly ?? .timedOut }
                    state.continuation = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            // Runs at once, before the operation, when the task is already cancelled: the wait then
            // finds its generation over when it installs its continuation.
            self.endEarly(generation: generation, as: .cancelled)
        }
    }

    /// Ends the async wait of `generation` with `outcome`, unless a signal, or another early end,
    /// ended it first.
    private func endEarly(generation: Int, as outcome: AsyncWaitOutcome) {
        let continuation = asyncState.withLock { state -> CheckedContinuation<AsyncWaitOutcome, Never>? in
            guard state.generation == generation else { return nil }
            state.generation += 1
            state.endedEarly = outcome
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: outcome)
    }
}

/// A point in time after which blocking calls give up, or none.
struct Deadline: Sendable {
    private let instant: ContinuousClock.Instant?

    /// No deadline: wait forever.
    static let never = Deadline(instant: nil)

    private init(instant: ContinuousClock.Instant?) { self.instant = instant }

    /// The deadline `timeout` from now; nil means never.
    init(timeout: Duration?) {
        instant = timeout.map { ContinuousClock.now.advanced(by: $0) }
    }

    /// The time left (zero once passed), or nil for no deadline.
    var remaining: Duration? {
        guard let instant else { return nil }
        let left = ContinuousClock.now.duration(to: instant)
        return left < .zero ? .zero : left
    }

    /// This deadline, or `instant` if that comes first.
    func capped(at instant: ContinuousClock.Instant) -> Deadline {
        Deadline(instant: self.instant.map { min($0, instant) } ?? instant)
    }

    var hasPassed: Bool {
        guard let instant else { return false }
        return ContinuousClock.now >= instant
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to what `Int` holds.
    var clampedNanoseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds < Int64(Int.max / 1_000_000_000) else { return Int.max }
        guard seconds >= 0 else { return 0 }
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }
}
