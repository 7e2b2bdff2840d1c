import Dispatch
import Synchronization

/// A ``RemoteFunction`` whose body is `async`: I/O-bound work, such as fetching pages or querying
/// a service, that waits far more than it computes.
///
/// ```swift
/// struct FetchTitle: AsyncRemoteFunction {
///     static var concurrentCallsPerWorker: Int { 32 }
///     func callAsFunction(_ url: String) async throws -> String { try await title(of: url) }
/// }
///
/// for try await title in try executor.map(FetchTitle(), urls) { print(title) }
/// ```
///
/// It is submitted, mapped and registered like any other function, on every executor. A worker
/// runs the calls of one batch concurrently, up to ``concurrentCallsPerWorker`` at a time, so a
/// `map` over an I/O-bound function keeps many calls in flight on each worker: `map` sends batches
/// of that size unless given a `chunkSize`. Separate `submit`s run one after another on a worker,
/// as for any function.
///
/// The body runs on a thread of ClusterFutures' own, never on one the caller blocks. Called from
/// synchronous code (as the inline executor calls it), `callAsFunction` waits for the body to
/// finish.
public protocol AsyncRemoteFunction: RemoteFunction {
    // The associated types are stated again so that the compiler infers them from the `async`
    // `callAsFunction` below; `@_nonoverride` keeps them one with ``RemoteFunction``'s for every
    // conforming type instead of warning that they repeat them.

    /// The value a call takes.
    @_nonoverride associatedtype Input: Codable & Sendable
    /// The value a call returns.
    @_nonoverride associatedtype Output: Codable & Sendable
    /// The error a call throws; a `Codable` one comes back to the caller as itself.
    @_nonoverride associatedtype Failure: Error = any Error

    /// How many calls of this function one worker runs at the same time, when a batch of them comes
    /// (as `map` sends them); 1 by default. Raise it for I/O-bound work.
    static var concurrentCallsPerWorker: Int { get }

    /// Runs the function on one input, in whichever process the executor chooses.
    func callAsFunction(_ input: Input) async throws(Failure) -> Output
}

extension AsyncRemoteFunction {
    /// One call at a time.
    public static var concurrentCallsPerWorker: Int { 1 }

    /// Runs the `async` body from synchronous code and waits for it: how workers and the inline
    /// executor call the function.
    public func callAsFunction(_ input: Input) throws(Failure) -> Output {
        try AsyncBodies.waitFor { () async -> Result<Output, Failure> in
            do throws(Failure) {
                return .success(try await self.callAsFunction(input))
            } catch {
                return .failure(error)
            }
        }.get()
    }

    /// Runs the calls of a batch concurrently, at most ``concurrentCallsPerWorker`` at a time, and
    /// returns their results in input order; nil (one after another) when that is 1.
    public func _callConcurrently(_ inputs: [Input]) -> [Result<Output, Failure>]? {
        let limit = Self.concurrentCallsPerWorker
        guard limit > 1, inputs.count > 1 else { return nil }
        return AsyncBodies.waitFor { () async -> [Result<Output, Failure>] in
            await withTaskGroup(of: (Int, Result<Output, Failure>).self) { group in
                var results = [Result<Output, Failure>?](repeating: nil, count: inputs.count)
                var next = 0
                func startNext() {
                    let index = next
                    next += 1
                    group.addTask {
                        do throws(Failure) {
                            return (index, .success(try await self.callAsFunction(inputs[index])))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                while next < min(limit, inputs.count) { startNext() }
                for await (index, result) in group {
                    results[index] = result
                    if next < inputs.count { startNext() }
                }
                return results.compactMap { $0 }
            }
        }
    }
}

/// Where `async` function bodies run when synchronous code calls them (a worker's loop, the inline
/// executor): a serial queue of ClusterFutures' own, which task groups and sleeps inside the body
/// keep using. The caller blocks while it waits, so the body must not need the caller's thread: a
/// cooperative thread blocked here would be one fewer for a body run on Swift's cooperative pool,
/// and with few cores none would be left.
enum AsyncBodies {
    private static let executor = QueueTaskExecutor()

    /// Runs `body` on the queue and blocks until it has returned. Called on the queue itself (a
    /// body that calls a function inline), it runs `body` on Swift's cooperative pool instead, as
    /// the queue is busy with the caller.
    static func waitFor<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
        let result = Mutex<Value?>(nil)
        let done = DispatchSemaphore(value: 0)
        let work: @Sendable () async -> Void = {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        if executor.isCurrent {
            Task(operation: work)
        } else {
            Task(executorPreference: executor, operation: work)
        }
        done.wait()
        guard let value = result.withLock({ $0.take() }) else {
            preconditionFailure("an async function body finished without a value")
        }
        return value
    }
}

/// A task executor that runs its jobs one at a time on a serial dispatch queue.
final class QueueTaskExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "ClusterFutures.async-function-bodies")
    private let key = DispatchSpecificKey<Bool>()

    init() {
        queue.setSpecific(key: key, value: true)
    }

    /// Whether the calling thread is running one of this executor's jobs.
    var isCurrent: Bool { DispatchQueue.getSpecific(key: key) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
