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
        do {
            while true {
                switch try step() {
                case .yield(let element):
                    progress?.advance()
                    return element
                case .finished:
                    progress?.finish(.finished)
                    return nil
                case .mustWait:
                    progress?.drawIfDue()
                    // A wait that ends for a redraw of the progress line, not at the deadline, is
                    // no timeout: the next round redraws it and waits again.
                    if !waiter.wait(until: progress?.wakeUp(before: deadline) ?? deadline),
                       progress == nil || deadline.hasPassed {
                        try expire()
                    }
                }
            }
        } catch {
            progress?.finish(ProgressMeter.ending(for: error))
            throw error
        }
    }

    /// The next element, suspending the task while nothing is ready.
    ///
    /// Throws `CancellationError`, after ``taskWasCancelled()``, when the task is cancelled: before a
    /// step, and while suspended, at once rather than when the next future completes. The blocking
    /// ``nextBlocking()`` knows nothing of tasks.
    func nextSuspending(isolation actor: isolated (any Actor)?) async throws -> Element? {
        do {
            while true {
                if Task.isCancelled {
                    taskWasCancelled()
                    throw CancellationError()
                }
                switch try step() {
                case .yield(let element):
                    progress?.advance()
                    return element
                case .finished:
                    progress?.finish(.finished)
                    return nil
                case .mustWait:
                    progress?.drawIfDue()
                    switch await waiter.waitAsync(until: progress?.wakeUp(before: deadline) ?? deadline) {
                    case .signalled, .cancelled: continue  // the next round throws for a cancelled task
                    case .timedOut: if progress == nil || deadline.hasPassed { try expire() }
                    }
                }
            }
        } catch {
            progress?.finish(ProgressMeter.ending(for: error))
            throw error
        }
    }
}
