import Foundation

/// Something that runs ``RemoteFunction``s and hands back ``Future``s: inline in the caller, in worker
/// processes on this machine, or on the ranks of an MPI job. Code written against `Executor` runs
/// unchanged on each.
///
/// ```swift
/// try await withExecutor(InlineDummyExecutor()) { executor in
///     let nine = try await executor.submit(Square(), 3).result()
///     for try await square in try executor.map(Square(), 1...1000, chunkSize: 64) { print(nine + square) }
/// }
/// ```
///
/// ## The name `Executor`
///
/// Swift's concurrency library has a protocol of the same name, `_Concurrency.Executor`, which
/// runs jobs for actors and tasks. In a file that imports ClusterFutures, `Executor` means this
/// protocol: a module's own imports shadow the standard library's names. Where Swift's is meant,
/// write `_Concurrency.Executor` (or `SerialExecutor`/`TaskExecutor`, which are unambiguous), and
/// where both modules' types meet in one file and a reader could wonder, `ClusterFutures.Executor`.
public protocol Executor: AnyObject, Sendable {
    /// How many tasks can run at once.
    var workerCount: Int { get }

    /// True once ``shutdown(wait:cancelFutures:)`` was called; submitting then throws.
    var isShutDown: Bool { get }

    /// Schedules `function(input)` and returns its future at once, without waiting for a worker.
    ///
    /// An input that cannot be encoded fails only this future.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/executorShutDown`` after shutdown;
    ///   ``ClusterFuturesError/Code-swift.struct/unregisteredFunction`` if `F` was not registered;
    ///   ``ClusterFuturesError/Code-swift.struct/brokenExecutor`` if the executor can no longer run tasks.
    func submit<F: RemoteFunction>(_ function: F, _ input: F.Input) throws -> Future<F.Output>

    /// Schedules `function` on every input of `batch` as one message to one worker, and returns one
    /// future for the whole batch with a result for each input, in order (``BatchResults``).
    /// ``map(_:_:timeout:chunkSize:bufferSize:unordered:progress:)`` uses it for `chunkSize`.
    ///
    /// - Throws: as ``submit(_:_:)``.
    func submit<F: RemoteFunction>(_ function: F, batch: [F.Input]) throws -> Future<BatchResults<F.Output>>

    /// Stops accepting work and releases the workers. Idempotent; safe in any order with other calls.
    ///
    /// With `wait`, it blocks the calling thread; in asynchronous code, `await shutdown(cancelFutures:)`
    /// waits without holding a thread of the cooperative pool.
    ///
    /// For a pool, called from a done-callback on a thread that completes the pool's futures, `wait`
    /// cannot be honoured (that thread would wait for itself): the call returns at once, and the
    /// submitted work still finishes.
    ///
    /// - Parameters:
    ///   - wait: return only when every submitted future is done and every worker has stopped.
    ///   - cancelFutures: cancel every future not yet handed to a worker; they count as done.
    func shutdown(wait: Bool, cancelFutures: Bool)
}

extension Executor {
    /// Stops accepting work, lets submitted work finish, and returns when it has. Blocks the calling
    /// thread.
    ///
    /// Unavailable in asynchronous code, where it would hold a thread of the cooperative pool:
    /// there, `await shutdown()` suspends instead.
    @available(*, noasync, message: "shutdown() blocks the thread until the work is done; in async code use 'await shutdown()'")
    public func shutdown() {
        shutdown(wait: true, cancelFutures: false)
    }

    /// Stops accepting work at once and suspends, without blocking a thread, until every submitted
    /// future is done and every worker has stopped: `shutdown(wait: true, cancelFutures:)` for
    /// asynchronous code.
    ///
    /// When the awaiting Swift task is cancelled, before or while it waits, the wait ends at once and
    /// the shutdown goes on without it, as with `wait: false`: the executor takes no more work, and
    /// what was submitted still finishes (or, with `cancelFutures`, what had not started is
    /// cancelled). ``withExecutor(_:isolation:_:)`` waits regardless.
    ///
    /// The blocking `shutdown(wait: true)` waits on a thread of its own meanwhile; the lazy inline
    /// executor runs its tasks not yet run there.
    ///
    /// - Parameter cancelFutures: cancel every future not yet handed to a worker; they count as done.
    public func shutdown(cancelFutures: Bool = false) async {
        await shutdownWaiting(cancelFutures: cancelFutures, honouringCancellation: true)
    }

    /// Stops accepting work now, then waits for the shutdown on a thread of its own, so that no
    /// thread of the cooperative pool is held; with `honouringCancellation`, a cancelled task stops
    /// waiting at once.
    func shutdownWaiting(cancelFutures: Bool, honouringCancellation: Bool) async {
        // Not waiting, this returns at once: the executor takes no work from here on, whatever the task.
        shutdown(wait: false, cancelFutures: cancelFutures)
        await waitOnOwnThread(honouringCancellation: honouringCancellation) { [self] in
            shutdown(wait: true, cancelFutures: false)
        }
    }
}

/// Runs `blocking` on a new thread and suspends until it returns. With `honouringCancellation`,
/// returns at once when the task is cancelled, before or while it waits; `blocking` runs on.
func waitOnOwnThread(honouringCancellation: Bool, _ blocking: @escaping @Sendable () -> Void) async {
    let returned = Resumption()
    let wait = {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            returned.install(continuation)
            Thread.detachNewThread {
                blocking()
                returned.resume(with: .success(()))
            }
        }
    }
    if honouringCancellation {
        try? await withTaskCancellationHandler(operation: wait) {
            returned.resume(with: .failure(CancellationError()))
        }
    } else {
        try? await wait()
    }
}

/// Runs `body` with `executor` and shuts the executor down when `body` returns or throws: with
/// `wait: true`, and when `body` throws, cancelling the futures not yet started. Blocks the calling
/// thread while the executor shuts down.
///
/// Unavailable in asynchronous code: there, the asynchronous `withExecutor` waits for the shutdown
/// without blocking a thread. (A closure without `await` in it is synchronous and picks this one;
/// write it `{ executor async throws in ... }` for the other.)
@available(*, noasync, message: "this withExecutor blocks the thread while the executor shuts down; in async code give it an async closure: '{ executor async throws in ... }'")
public func withExecutor<E: Executor, Result>(
    _ executor: E,
    _ body: (E) throws -> Result
) rethrows -> Result {
    do {
        let result = try body(executor)
        executor.shutdown(wait: true, cancelFutures: false)
        return result
    } catch {
        executor.shutdown(wait: true, cancelFutures: true)
        throw error
    }
}

/// Runs `body` with `executor` and shuts the executor down when `body` returns or throws: with
/// `wait: true`, and when `body` throws, cancelling the futures not yet started.
///
/// The shutdown is awaited without blocking a thread, and to its end even in a cancelled task: as
/// a task group waits for its child tasks, this returns only once the executor's work is done and
/// its workers have stopped. (A cancelled task's `body` usually throws `CancellationError`, so only
/// the tasks that had started are waited for.)
public func withExecutor<E: Executor, Result>(
    _ executor: E,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (E) async throws -> Result
) async rethrows -> Result {
    do {
        let result = try await body(executor)
        await executor.shutdownWaiting(cancelFutures: false, honouringCancellation: false)
        return result
    } catch {
        await executor.shutdownWaiting(cancelFutures: true, honouringCancellation: false)
        throw error
    }
}
