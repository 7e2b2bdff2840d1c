@_spi(ExecutorImplementation) import ClusterFutures
import DequeModule
import CClusterFuturesSystem
import ClusterFuturesWire
import Dispatch
import Foundation
import Logging
import MPI
import Synchronization

// The dispatcher thread and the threads that help it: rounds of progress, waiting, and who polls
// when.
extension MPIDispatcher {
    // MARK: The loop (dispatcher thread)

    func run() {
        // How long to stand by while threads waiting for futures poll; see `standBy(for:)`.
        var standBy = Self.maxSleep
        // Ends once the workers were told to stop: here, or in a done-callback this loop ran that
        // finalized MPI (``finish()``), after which it must not call MPI again.
        while !stoppedWorkers {
            // Stand by while threads waiting for futures poll, unless the pool is finishing: a
            // waiting thread that finalizes MPI from a done-callback waits for this loop to end.
            if helpers.load(ordering: .relaxed) > 0 && !shared.withLock({ $0.finishing }) {
                standBy = self.standBy(for: standBy)
                continue
            }
            standBy = Self.maxSleep
            guard let active = makeProgress({ round(onDispatcherThread: true) }) else {
                sched_yield()
                continue
            }
            if stoppedWorkers { return }
            switch nextWait(afterActivity: active) {
            case .stop:
                stopWorkers()
                return
            case .poll:
                sched_yield()
            case .sleep(let timeout):
                sleepUntilWoken(timeout)
            }
        }
    }

    /// Leaves the cores to a thread waiting for a future, which polls for every result and sends
    /// queued jobs: sleeps until signalled or for `timeout`, and returns the next stand-by's timeout.
    ///
    /// The last helper to stop wakes this thread if tasks are out, and so does a submit that leaves
    /// a job queued; the timeout is a safety net for a task sent while nobody waited. It doubles
    /// while helpers keep polling, up to the back-off's ceiling: each wake-up puts one more thread
    /// on the CPUs that the waiting thread and the worker ranks spin on, and now and then costs a
    /// round trip hundreds of microseconds.
    func standBy(for timeout: Duration) -> Duration {
        shared.withLock { $0.sleeping = true }
        sleepUntilWoken(timeout)
        // Results were just being polled for: when this thread takes over, it polls from the start
        // of its back-off, not with the long sleeps of a quiet pool.
        backoff.reset()
        return min(timeout * 2, backoff.ceiling)
    }

    /// Sleeps, marked `sleeping` by the caller, until woken or for `timeout` (nil: until woken), then
    /// marks the dispatcher thread awake.
    func sleepUntilWoken(_ timeout: Duration?) {
        wake.wait(timeout: timeout)
        shared.withLock { state in
            state.sleeping = false
            state.parked = false
        }
    }

    /// Runs `body` inside `progress`'s lock if no other thread holds it, then, outside the lock,
    /// completes the futures whose results it received. Nil when the lock was taken.
    ///
    /// Completing outside the lock keeps decoding off the critical path and lets a done-callback
    /// wait for another future of the pool.
    func makeProgress<Result>(_ body: () -> Result) -> Result? {
        guard let (result, received) = progress.withLockIfAvailable({ _ -> (Result, [Received]) in
            let result = body()
            // Handed over, not copied: a round that received nothing (most polls) allocates nothing.
            if received.isEmpty { return (result, []) }
            defer { received = [] }
            return (result, received)
        }) else { return nil }
        if received.isEmpty { return result }
        completing.marking {
            for done in received {
                switch done.outcome {
                case .reply(let reply, let origin): done.job.complete(reply: reply, origin: origin)
                case .failure(let error, let origin): done.job.fail(error, origin: origin)
                case .failureInFlight(let error, let origin): done.job.fail(error, origin: origin)
                }
                if done.outcome.endsJob {
                    done.client.outstanding.leave()
                    tally.done.add(1, ordering: .relaxed)
                }
            }
        }
        return result
    }

    /// Updates the tally's tasks running and taken back, inside `progress`'s lock, after progress
    /// that changed them: a round with activity, or a send from a submitting thread.
    func countTasks() {
        tally.running.store(workers.reduce(0) { $0 + $1.tasks.count }, ordering: .relaxed)
        tally.takenBack.store(reclaimed.count, ordering: .relaxed)
    }

    /// One round of progress, inside `progress`'s lock: results in, sends completed, queued jobs
    /// out. Returns whether anything happened.
    func round(onDispatcherThread: Bool) -> Bool {
        // A thread still waiting for a result when a done-callback finalized MPI: nothing more comes.
        guard !stoppedWorkers else { return false }
        var active = false
        do {
            // A waiting thread takes one message a round, and looks at its future in between: one
            // more poll after its result would only delay it.
            active = try receiveResults(atMost: onDispatcherThread ? Int.max : 1) || active
            active = try completeSends() || active
            active = try dispatch(onDispatcherThread: onDispatcherThread) || active
            // After dispatching: a rank still idle has nothing queued for it.
            active = try reclaimSentAhead() || active
            // In rounds where nothing happened only: a lost rank sends nothing, and a round with a
            // result in it is one whose future waits to be completed.
            if onDispatcherThread && !active { endTheJobIfAWorkerIsLost() }
        } catch {
            breakPool(ClusterFuturesError(.brokenExecutor, "MPI failed on rank 0: \(error)"))
        }
        if active { countTasks() }
        return active
    }

    /// What a thread waiting for one of the pool's futures does before it sleeps: it helps
    /// (``startHelping()``), runs rounds of progress while it spins (``help()``), and stops
    /// (``stopHelping()``). While any thread helps, the dispatcher thread stays asleep.
    func startHelping() -> Bool {
        guard tasksAreQuick.load(ordering: .relaxed) else { return false }
        helpers.add(1, ordering: .relaxed)
        return true
    }


    /// A round of progress if no other thread is making one, else a yield.
    ///
    /// Between rounds it pauses for less than a worker does: a round here also takes the progress
    /// lock, and the waiter looks at its future after each, which spaces the polls already. With 2
    /// spin-loop hints instead of 8, a result was noticed about 0.25 µs sooner (median 1.17 against
    /// 1.42 µs from the worker's send, over four interleaved runs of 20,000 round trips).
    func help() {
        switch makeProgress({ round(onDispatcherThread: false) }) {
        case nil: sched_yield()
        case false?: IdleBackoff.relax(pauses: 2)
        case true?: break
        }
    }

    /// Ends a ``startHelping()``. The last helper to stop wakes the dispatcher thread if tasks are
    /// out or queued, since nobody else polls for their results now. Never blocks: when another
    /// thread holds the progress lock, it wakes the dispatcher thread without looking.
    func stopHelping() {
        guard helpers.subtract(1, ordering: .relaxed).newValue == 0 else { return }
        guard let inFlight = progress.withLockIfAvailable({ _ in !isQuiet }) else {
            wake.signal()
            return
        }
        if inFlight || queued.current > 0 { wake.signal() }
    }


    /// Nothing sent and unanswered (a reclaim request included), nothing still leaving, nothing
    /// taken back and not sent again.
    var isQuiet: Bool {
        pendingSends.isEmpty && reclaimed.isEmpty && workers.allSatisfy { $0.tasks.isEmpty && !$0.reclaimPending }
    }

    enum Wait {
        /// The program is exiting and nothing is out: stop the workers and end the loop.
        case stop
        /// Yield and run another round at once.
        case poll
        /// Sleep until woken, or for at most the duration.
        case sleep(Duration?)
    }

    /// What the dispatcher thread does after a round (`afterActivity`: one in which something
    /// happened). Decided under both locks, so that the dispatcher never sleeps without a timeout
    /// while a job is queued or out: a job queued after this finds `sleeping` set and wakes it.
    func nextWait(afterActivity: Bool) -> Wait {
        progress.withLock { _ in
            // Spin after activity only when an answer may come at once; while every worker runs a
            // long task, poll from sleeps sized to it.
            if afterActivity { backoff.reset(expectingAnswerIn: DispatchPolicy.expectedAnswer(among: workers)) }
            let expectingMessages = !isQuiet || workers.contains { !$0.saidHello }
            // Work that a worker could take now: a job queued while this round held the lock (its
            // submitter could not send it, and did not wake a dispatcher that was not asleep), or
            // one taken back. Another round goes at once. (A job queued while every worker's window
            // is full waits for a result, as below.)
            let canSend = workers.isEmpty || DispatchPolicy.target(among: workers, starting: awaitingHello, now: now) != nil
            return shared.withLock { state in
                if state.finishing && isQuiet && state.queue.isEmpty { return .stop }
                if canSend && state.phase.broken == nil && (!state.queue.isEmpty || !reclaimed.isEmpty) { return .poll }
                // Results can only be polled for: just after activity poll again at once (the next
                // result usually follows within microseconds), then sleep in growing steps.
                if expectingMessages || !state.queue.isEmpty {
                    guard let sleep = backoff.nextSleep() else { return .poll }
                    state.sleeping = true
                    return .sleep(sleep)
                }
                backoff.reset()
                state.sleeping = true
                state.parked = true
                return .sleep(nil)
            }
        }
    }
}
