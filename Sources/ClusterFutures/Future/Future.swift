import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The state and control every future has, whatever its value type: its ``state``, ``cancel()``, its
/// error, where it ran, and completion signalling.
///
/// Use ``Future`` for a typed result; `AnyFuture` is what `Futures.wait(_:timeout:until:)` and
/// ``Futures/asCompleted(_:timeout:progress:)`` accept, so they work over futures of different value types.
/// Futures are compared by identity.
// @unchecked Sendable: the class is not final (``Future`` refines it), which rules out checked
// Sendable; every mutable property lives in `storage`, a `Mutex`, and the rest are `let` (``Future``'s
// value is written under that mutex; see there).
public class AnyFuture: @unchecked Sendable, Hashable, CustomStringConvertible {
    struct Storage {
        var state: FutureState = .pending
        /// The task's error, once finished with one. A value is kept, typed, by ``Future``.
        var error: (any Error)?
        var origin: TaskOrigin?
        var callbacks: [@Sendable (AnyFuture) -> Void] = []
        /// The future itself while it has callbacks to run: whoever else holds a future may let go
        /// of it before it is done (a lazy inline executor's jobs hold theirs weakly, so that a
        /// future nobody keeps is freed), but one with a callback is still wanted.
        var keepAlive: AnyFuture?
        var waiters: [FutureWaiter] = []
        /// Runs the task in the caller the first time its result is needed (the lazy inline executor).
        var runOnDemand: (@Sendable () -> Void)?
        /// Helps the executor while a thread waits for the result, before it sleeps: an executor
        /// that must poll for results (MPI) lets the waiting thread poll instead of handing the
        /// result over from another thread.
        var waitHelper: (any FutureWaitHelper)?
    }

    let storage: Mutex<Storage>

    /// How long a blocking wait looks again before it sleeps.
    static let spin: Duration = .microseconds(20)
    /// As ``spin``, for a future whose executor installed a wait helper.
    static let helpedSpin: Duration = .milliseconds(1)
    /// How many rounds a helping waiter polls before it starts to yield the CPU between rounds:
    /// about 10 µs.
    static let roundsBeforeYielding = 32

    /// Lets threads that wait for this future help `helper` while they spin, before they sleep
    /// (see ``FutureWaitHelper``). `@_spi(ExecutorImplementation)`.
    @_spi(ExecutorImplementation)
    public func setWaitHelper(_ helper: any FutureWaitHelper) {
        storage.withLock { $0.waitHelper = helper }
    }

    /// A short name for messages, such as the function's name.
    let label: String

    init(label: String, runOnDemand: (@Sendable () -> Void)? = nil) {
        self.label = label
        self.storage = Mutex(Storage(runOnDemand: runOnDemand))
    }

    // MARK: Querying

    /// Where the future is in its life.
    public var state: FutureState { storage.withLock { $0.state } }

    /// True once the future finished or was cancelled.
    public var isDone: Bool {
        let state = self.state
        return state == .finished || state == .cancelled
    }

    /// True while a worker has the task.
    public var isRunning: Bool { state == .running }

    /// True if the future was cancelled.
    public var isCancelled: Bool { state == .cancelled }

    /// Where the task ran, once it finished; nil before, and for a cancelled future.
    public var origin: TaskOrigin? { storage.withLock { $0.origin } }

    /// `Future(LABEL, STATE)`, such as `Future(Demo.Square, running)`: the function's name and the
    /// ``state``.
    public var description: String { "Future(\(label), \(state))" }

    // MARK: Cancelling

    /// Cancels the future if it has not been handed to a worker yet.
    ///
    /// - Returns: true when the future is now cancelled (also when it already was); false when it
    ///   is running or finished, which cancelling does not change.
    @discardableResult
    public func cancel() -> Bool {
        let notifications: Notifications? = storage.withLock { storage in
            switch storage.state {
            case .cancelled: return Notifications()
            case .running, .finished: return nil
            case .pending:
                storage.state = .cancelled
                storage.runOnDemand = nil
                storage.waitHelper = nil
                return Notifications(taking: &storage)
            }
        }
        guard let notifications else { return false }
        notifications.deliver(self)
        return true
    }

    // MARK: Waiting

    /// Waits until the future is done and returns the task's error, or nil if it succeeded. Blocks
    /// the calling thread.
    ///
    /// Unavailable in asynchronous code, where it would hold a thread of the cooperative pool:
    /// there, `try await error(timeout:)` suspends instead.
    ///
    /// - Throws: `CancellationError` if the future was cancelled;
    ///   ``ClusterFuturesError/Code-swift.struct/timedOut`` if it was not done within `timeout`
    ///   (the future is unchanged).
    @available(*, noasync, message: "error(timeout:) blocks the thread; in async code use 'try await error(timeout:)'")
    public func error(timeout: Duration? = nil) throws -> (any Error)? {
        switch try ending(timeout: timeout) {
        case .succeeded: nil
        case .failed(let error): error
        }
    }

    /// Awaits the future, without blocking a thread, and returns the task's error, or nil if it
    /// succeeded.
    ///
    /// If the awaiting Swift task is cancelled, the future is cancelled too when it is still pending,
    /// and the await throws `CancellationError` at once, as for ``Future/value``.
    ///
    /// - Throws: `CancellationError` if the future was cancelled, or the awaiting task was;
    ///   ``ClusterFuturesError/Code-swift.struct/timedOut`` if it was not done within `timeout`
    ///   (the future is unchanged).
    public func error(timeout: Duration? = nil) async throws -> (any Error)? {
        switch try await awaitEnding(timeout: timeout) {
        case .succeeded: nil
        case .failed(let error): error
        }
    }

    /// How a finished future ended. The value of a success is kept by ``Future``, typed.
    enum Ending {
        case succeeded
        case failed(any Error)
    }

    /// Waits until done, then returns how it ended. Runs a lazy task in the caller first.
    func ending(timeout: Duration?) throws -> Ending {
        runIfOnDemand()
        if let finished = try finishedEnding() { return finished }
        let deadline = Deadline(timeout: timeout)
        // Results from a busy pool arrive microseconds apart; waking from a sleep takes tens.
        let clock = ContinuousClock()
        // A helper that expects no quick result (its tasks have been long) is not helped: the
        // thread spins as briefly as for any future, then sleeps.
        let helper = storage.withLock { $0.waitHelper }.flatMap { $0.startHelping() ? $0 : nil }
        let spun: Ending? = try {
            defer { helper?.stopHelping() }
            let spinUntil = clock.now.advanced(by: helper == nil ? Self.spin : Self.helpedSpin)
            // The clock is read every few rounds (in a virtual machine it costs more than a round).
            // After the first few dozen rounds of helping, the CPU is then offered to any other
            // thread that waits for it: the worker that runs the task may share this CPU. Not
            // before: a yield costs a system call and a pass through the scheduler, as long as a few
            // rounds, and a quick result comes within them.
            var rounds = 0
            while rounds & 7 != 0 || (clock.now < spinUntil && !deadline.hasPassed) {
                rounds &+= 1
                if let helper {
                    helper.help()
                    if rounds & 7 == 0 && rounds >= Self.roundsBeforeYielding { sched_yield() }
                } else {
                    sched_yield()
                }
                if let finished = try finishedEnding() { return finished }
            }
            return nil
        }()
        if let spun { return spun }
        let waiter = FutureWaiter()
        guard register(waiter) else { return try finishedEnding() ?? .failed(CancellationError()) }
        defer { unregister(waiter) }
        while true {
            if let finished = try finishedEnding() { return finished }
            guard waiter.wait(until: deadline) else {
                if let finished = try finishedEnding() { return finished }
                throw timedOut(timeout)
            }
        }
    }

    /// How the future ended if it finished; throws `CancellationError` if cancelled; nil if not done.
    private func finishedEnding() throws -> Ending? {
        let (state, error) = storage.withLock { ($0.state, $0.error) }
        switch state {
        case .cancelled: throw CancellationError()
        case .finished: return error.map(Ending.failed) ?? .succeeded
        case .pending, .running: return nil
        }
    }

    /// True when the future finished with an error (not when cancelled).
    var hasFailed: Bool { storage.withLock { $0.state == .finished && $0.error != nil } }

    /// Awaits completion without blocking a thread, at most `timeout`. When the awaiting task is
    /// cancelled, the future is cancelled if still pending, at once, and the wait ends with
    /// `CancellationError` either way; a task cancelled already does not run a lazy task in the
    /// caller, it cancels it. A timeout leaves the future as it is.
    func awaitEnding(timeout: Duration?) async throws -> Ending {
        if let finished = try finishedEnding() { return finished }
        if Task.isCancelled {
            cancel()
            throw CancellationError()
        }
        runIfOnDemand()
        if let finished = try finishedEnding() { return finished }
        let deadline = Deadline(timeout: timeout)
        let waiter = FutureWaiter()
        guard register(waiter) else { return try finishedEnding() ?? .failed(CancellationError()) }
        defer { unregister(waiter) }
        while true {
            // Cancelling the future from the handler, not once the task resumes: a pool that has not
            // started it must not start it in between.
            let outcome = await withTaskCancellationHandler {
                await waiter.waitAsync(until: deadline)
            } onCancel: {
                self.cancel()
            }
            if let finished = try finishedEnding() { return finished }
            switch outcome {
            case .signalled: continue
            case .cancelled: throw CancellationError()
            case .timedOut: throw timedOut(timeout)
            }
        }
    }

    /// The error of a wait for this future that gave up after `timeout`.
    private func timedOut(_ timeout: Duration?) -> ClusterFuturesError {
        ClusterFuturesError(.timedOut, "\(label) was not done within \(timeout.map { "\($0)" } ?? "")")
    }

    // MARK: For executors and waiters

    /// Moves a pending future to running. Returns false if it was cancelled, in which case the task
    /// must not run.
    func markRunning() -> Bool {
        storage.withLock { storage in
            guard storage.state == .pending else { return false }
            storage.state = .running
            storage.runOnDemand = nil
            return true
        }
    }

    /// Finishes the future with `error`, or with success when it is nil, after `storeValue` ran under
    /// the future's lock. Returns false, changing nothing and not calling `storeValue`, if it was
    /// already done.
    @discardableResult
    func finish(error: (any Error)?, origin: TaskOrigin?, storeValue: () -> Void = {}) -> Bool {
        let notifications: Notifications? = storage.withLock { storage in
            guard storage.state == .pending || storage.state == .running else { return nil }
            storeValue()
            storage.state = .finished
            storage.error = error
            storage.origin = origin
            storage.runOnDemand = nil
            storage.waitHelper = nil
            return Notifications(taking: &storage)
        }
        guard let notifications else { return false }
        notifications.deliver(self)
        return true
    }

    /// Adds a callback run once when the future is done; at once, in the caller, if it already is.
    func addCallback(_ callback: @escaping @Sendable (AnyFuture) -> Void) {
        let runNow = storage.withLock { storage in
            switch storage.state {
            case .finished, .cancelled: return true
            case .pending, .running:
                storage.callbacks.append(callback)
                storage.keepAlive = self
                return false
            }
        }
        if runNow { callback(self) }
    }

    /// Registers a waiter to be signalled on completion. Returns false if already done.
    func register(_ waiter: FutureWaiter) -> Bool {
        storage.withLock { storage in
            switch storage.state {
            case .finished, .cancelled: return false
            case .pending, .running:
                storage.waiters.append(waiter)
                return true
            }
        }
    }

    func unregister(_ waiter: FutureWaiter) {
        storage.withLock { storage in storage.waiters.removeAll { $0 === waiter } }
    }

    /// Makes the task run in the caller the first time its result is needed.
    func installOnDemand(_ runner: @escaping @Sendable () -> Void) {
        storage.withLock { storage in
            if storage.state == .pending { storage.runOnDemand = runner }
        }
    }

    /// Whether the task would run in the caller when its result is asked for.
    var runsOnDemand: Bool { storage.withLock { $0.runOnDemand != nil } }

    /// Runs a lazy task now, in the caller, if it has not started. At most once, whoever calls.
    func runIfOnDemand() {
        let runner = storage.withLock { storage -> (@Sendable () -> Void)? in
            guard storage.state == .pending else { return nil }
            defer { storage.runOnDemand = nil }
            return storage.runOnDemand
        }
        runner?()
    }

    // MARK: Hashable

    /// Whether the two are the same future: futures compare by identity, not by value.
    public static func == (lhs: AnyFuture, rhs: AnyFuture) -> Bool { lhs === rhs }

    /// Hashes the future's identity, so that a set holds each future once.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// What a thread that waits for a future does for the future's executor while it spins, before it
/// sleeps: an executor that must poll for results (MPI's) lets the waiting thread poll, so that a
/// quick result needs no hand-off between threads. `@_spi(ExecutorImplementation)`.
@_spi(ExecutorImplementation)
public protocol FutureWaitHelper: AnyObject, Sendable {
    /// A thread starts spinning for a result. Returns false, and the thread does not help, when a
    /// quick result is not expected (the executor's tasks have been taking long): spinning would
    /// only cost CPU. After false, ``stopHelping()`` is not called.
    func startHelping() -> Bool
    /// One step of progress; called over and over while the thread spins. Must not block.
    func help()
    /// The thread stops spinning: its result came, or it is about to sleep until it does.
    func stopHelping()
}

/// The waiters and callbacks taken from a future as it completes, delivered outside its lock so
/// that a callback may use the future, or submit more work, freely.
private struct Notifications {
    var waiters: [FutureWaiter] = []
    var callbacks: [@Sendable (AnyFuture) -> Void] = []
    /// Released after delivery, outside the future's lock.
    var keepAlive: AnyFuture?

    init() {}

    init(taking storage: inout AnyFuture.Storage) {
        swap(&waiters, &storage.waiters)
        swap(&callbacks, &storage.callbacks)
        swap(&keepAlive, &storage.keepAlive)
    }

    func deliver(_ future: AnyFuture) {
        for waiter in waiters { waiter.notify(future) }
        for callback in callbacks { callback(future) }
    }
}

/// The eventual result of a task: a value of type `Value`, or the error the task threw.
///
/// ```swift
/// let future = try executor.submit(Square(), 12)
/// print(try await future.result(timeout: .seconds(5)))   // 144
/// ```
///
/// In synchronous code, the same call blocks the thread instead:
///
/// ```swift
/// print(try future.result(timeout: .seconds(5)))
/// ```
///
/// The task runs at most once, however many times its result is asked for.
public final class Future<Value: Sendable>: AnyFuture, @unchecked Sendable {
    // @unchecked Sendable: restated from AnyFuture. The one stored property this subclass adds,
    // `valueSlot`, is set once, under `storage`'s lock, before the state becomes finished, and read
    // only by a thread that saw the state finished under that lock: never while it is written.

    /// The task's value, once it finished with one.
    ///
    /// Kept typed, not in `storage` as `any Sendable` (reading it back would be a dynamic cast), and
    /// behind a pointer rather than as a `Value?`: this class's methods run unspecialized, and there
    /// every use of `Value?` looks up its type at run time, which costs more than the allocation.
    private var valueSlot: UnsafeMutablePointer<Value>?

    deinit {
        if let valueSlot {
            valueSlot.deinitialize(count: 1)
            valueSlot.deallocate()
        }
    }

    /// Waits until the task is done and returns its value. Blocks the calling thread.
    ///
    /// Unavailable in asynchronous code, where it would hold a thread of the cooperative pool:
    /// there, `try await result(timeout:)` suspends instead.
    ///
    /// - Parameter timeout: how long to wait; nil waits as long as it takes.
    /// - Throws: the task's error; `CancellationError` if the future was cancelled;
    ///   ``ClusterFuturesError/Code-swift.struct/timedOut`` if it was not done in time (the future is
    ///   unchanged and can be asked again).
    @available(*, noasync, message: "result(timeout:) blocks the thread; in async code use 'try await result(timeout:)'")
    public func result(timeout: Duration? = nil) throws -> Value {
        try unwrap(ending(timeout: timeout))
    }

    /// Awaits the task, without blocking a thread, and returns its value.
    ///
    /// If the awaiting Swift task is cancelled, the future is cancelled too when it is still pending,
    /// and the await throws `CancellationError` at once; a task already running goes on, and its
    /// result stays available through this future. A lazy inline task runs in the caller, but not in
    /// a task that is already cancelled; a future already finished gives its result even then.
    ///
    /// - Parameter timeout: how long to wait; nil waits as long as it takes.
    /// - Throws: the task's error; `CancellationError` if the future was cancelled, or the awaiting
    ///   task was; ``ClusterFuturesError/Code-swift.struct/timedOut`` if it was not done in time (the
    ///   future is unchanged and can be awaited again).
    public func result(timeout: Duration? = nil) async throws -> Value {
        try unwrap(await awaitEnding(timeout: timeout))
    }

    /// The task's value, awaited without blocking a thread: `try await result()`.
    public var value: Value {
        get async throws { try unwrap(await awaitEnding(timeout: nil)) }
    }

    /// Adds a callback run once when the future is done (finished or cancelled), in the order callbacks
    /// were added, on the thread that completed it. Added to a done future, it runs at once, in the
    /// caller. A callback may submit more work.
    public func addDoneCallback(_ callback: @escaping @Sendable (Future<Value>) -> Void) {
        addCallback { [unowned self] _ in callback(self) }
    }

    /// The value of a future that ended as `ending` says.
    private func unwrap(_ ending: Ending) throws -> Value {
        switch ending {
        case .failed(let error):
            throw error
        case .succeeded:
            guard let valueSlot else {
                throw ClusterFuturesError(.brokenExecutor, "the executor finished \(label) without a value")
            }
            return valueSlot.pointee
        }
    }

    /// Finishes with a value. Returns false, changing nothing, if the future was already done.
    @discardableResult
    func succeed(_ value: Value, origin: TaskOrigin?) -> Bool {
        finish(error: nil, origin: origin) {
            let slot = UnsafeMutablePointer<Value>.allocate(capacity: 1)
            slot.initialize(to: value)
            valueSlot = slot
        }
    }

    /// Finishes with an error. Returns false, changing nothing, if the future was already done.
    @discardableResult
    func fail(_ error: any Error, origin: TaskOrigin?) -> Bool { finish(error: error, origin: origin) }
}
