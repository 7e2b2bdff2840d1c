/// What one step of a ``WaitingIterator`` found.
enum WaitStep<Element> {
    /// The next element.
    case yield(Element)
    /// Nothing more will come.
    case finished
    /// Nothing is ready: wait for the waiter to be signalled, then step again.
    case mustWait
}

/// An iterator over futures' completions that does all its work in ``step()`` and waits on a
/// ``FutureWaiter`` in between, by blocking a thread or by suspending a task.
protocol WaitingIterator<Element>: AnyObject {
    associatedtype Element

    /// Signalled by the futures the iterator watches.
    var waiter: FutureWaiter { get }
    /// When waiting gives up.
    var deadline: Deadline { get }

    /// Everything `next` does short of waiting.
    func step() throws -> WaitStep<Element>

    /// Called when a wait ran into the deadline: throws the timeout, unless something completed at
    /// the last moment and another step will find it.
    func expire() throws

    /// Called when the Swift task awaiting the next element was cancelled, just before the
    /// iteration throws `CancellationError`: does whatever the iterator owes its futures then (a
    /// `map` cancels the chunks that have not started; `asCompleted` leaves the caller's futures be).
    func taskWasCancelled()

    /// The progress line the iteration draws (``ProgressDisplay``), or nil for none: the loops
    /// below count each element yielded on it, redraw it while they wait, and end it with the
    /// iteration.
    var progress: ProgressMeter? { get }
}

extension WaitingIterator {
    /// The next element, blocking the calling thread while nothing is ready.
    func nextBlocking() throws -> Element? {
        if let progress { return try nextBlocking(showing: progress) }
        while true {
            switch try step() {
            case .yield(let element): return element
            case .finished: return nil
            case .mustWait: if !waiter.wait(until: deadline) { try expire() }
            }
        }
    }

    /// The next element, suspending the task while nothing is ready.
    ///
    /// Throws `CancellationError`, after ``taskWasCancelled()``, when the task is cancelled: before a
    /// step, and while suspended, at once rather than when the next future completes. The blocking
    /// ``nextBlocking()`` knows nothing of tasks.
    func nextSuspending(isolation actor: isolated (any Actor)?) async throws -> Element? {
        if let progress { return try await nextSuspending(isolation: actor, showing: progress) }
        while true {
            if Task.isCancelled {
                taskWasCancelled()
                throw CancellationError()
            }
            switch try step() {
            case .yield(let element): return element
            case .finished: return nil
            case .mustWait:
                switch await waiter.waitAsync(until: deadline) {
                case .signalled, .cancelled: continue  // the next round throws for a cancelled task
                case .timedOut: try expire()
                }
            }
        }
    }

    // The two loops again, with a progress line: counting each element, redrawing before and
    // while waiting, ending the line with the iteration. Apart from the loops above, which a map
    // runs for every element without specialization: with the line's calls in them, they took
    // twice the instructions they take alone (callgrind, an inline map of 1,000 in chunks of 100).

    private func nextBlocking(showing progress: ProgressMeter) throws -> Element? {
        do {
            while true {
                switch try step() {
                case .yield(let element):
                    progress.advance()
                    return element
                case .finished:
                    progress.finish(.finished)
                    return nil
                case .mustWait:
                    progress.drawIfDue()
                    // A wait that ends for a redraw, before the deadline, is no timeout: the next
                    // round redraws the line and waits again.
                    if !waiter.wait(until: progress.wakeUp(before: deadline)), deadline.hasPassed { try expire() }
                }
            }
        } catch {
            progress.finish(ProgressMeter.ending(for: error))
            throw error
        }
    }

    private func nextSuspending(isolation actor: isolated (any Actor)?, showing progress: ProgressMeter) async throws -> Element? {
        do {
            while true {
                if Task.isCancelled {
                    taskWasCancelled()
                    throw CancellationError()
                }
                switch try step() {
                case .yield(let element):
                    progress.advance()
                    return element
                case .finished:
                    progress.finish(.finished)
                    return nil
                case .mustWait:
                    progress.drawIfDue()
                    switch await waiter.waitAsync(until: progress.wakeUp(before: deadline)) {
                    case .signalled, .cancelled: continue
                    case .timedOut: if deadline.hasPassed { try expire() }
                    }
                }
            }
        } catch {
            progress.finish(ProgressMeter.ending(for: error))
            throw error
        }
    }
}
