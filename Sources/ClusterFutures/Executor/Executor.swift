/// Something that runs ``RemoteFunction``s and hands back ``Future``s: inline in the caller, in worker
/// processes on this machine, or on the ranks of an MPI job. Code written against `Executor` runs
/// unchanged on each.
///
/// ```swift
/// try withExecutor(InlineDummyExecutor()) { executor in
///     let future = try executor.submit(Square(), 9)
///     for try await square in try executor.map(Square(), 1...1000, chunkSize: 64) { ... }
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
    /// future for the whole batch with a result for each input, in order (``BatchResults``). ``map(_:_:timeout:chunkSize:bufferSize:unordered:)``
    /// uses it for `chunkSize`.
    ///
    /// - Throws: as ``submit(_:_:)``.
    func submit<F: RemoteFunction>(_ function: F, batch: [F.Input]) throws -> Future<BatchResults<F.Output>>

    /// Stops accepting work and releases the workers. Idempotent; safe in any order with other calls.
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
    /// Stops accepting work, lets submitted work finish, and returns when it has.
    public func shutdown() {
        shutdown(wait: true, cancelFutures: false)
    }
}

/// Runs `body` with `executor` and shuts the executor down when `body` returns or throws: with
/// `wait: true`, and when `body` throws, cancelling the futures not yet started.
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
public func withExecutor<E: Executor, Result>(
    _ executor: E,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (E) async throws -> Result
) async rethrows -> Result {
    do {
        let result = try await body(executor)
        executor.shutdown(wait: true, cancelFutures: false)
        return result
    } catch {
        executor.shutdown(wait: true, cancelFutures: true)
        throw error
    }
}
