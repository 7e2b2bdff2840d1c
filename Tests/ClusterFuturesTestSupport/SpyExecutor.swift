import ClusterFutures
import Synchronization

/// Forwards to another executor and records every batch it is asked to run, so tests can see how
/// `map` chunks and buffers its inputs.
public final class SpyExecutor: Executor {
    private let base: any Executor
    private let record = Mutex<[(size: Int, future: AnyFuture)]>([])
    private let weakRecord = Mutex<[WeakFutureReference]>([])
    private let keepsFutures: Bool

    /// - Parameter keepsFutures: hold every future (to inspect them later), or only weak references
    ///   (to see which the caller's side still keeps alive).
    public init(_ base: any Executor, keepsFutures: Bool = true) {
        self.base = base
        self.keepsFutures = keepsFutures
    }

    public var workerCount: Int { base.workerCount }
    public var isShutDown: Bool { base.isShutDown }

    public func submit<F: RemoteFunction>(_ function: F, _ input: F.Input) throws -> Future<F.Output> {
        let future = try base.submit(function, input)
        record.withLock { $0.append((1, future)) }
        return future
    }

    public func submit<F: RemoteFunction>(_ function: F, batch: [F.Input]) throws -> Future<BatchResults<F.Output>> {
        let future = try base.submit(function, batch: batch)
        if keepsFutures {
            record.withLock { $0.append((batch.count, future)) }
        } else {
            weakRecord.withLock { $0.append(WeakFutureReference(future)) }
        }
        return future
    }

    public func shutdown(wait: Bool, cancelFutures: Bool) { base.shutdown(wait: wait, cancelFutures: cancelFutures) }

    /// The sizes of the batches submitted so far, in order.
    public var batchSizes: [Int] { record.withLock { $0.map(\.size) } }

    /// The futures submitted so far, in order.
    public var futures: [AnyFuture] { record.withLock { $0.map(\.future) } }

    /// How many of the futures recorded weakly are still alive somewhere.
    public var liveFutures: Int { weakRecord.withLock { $0.count { $0.future != nil } } }

    /// How many submitted futures are not done.
    public var outstanding: Int { record.withLock { $0.count { !$0.future.isDone } } }
}

private struct WeakFutureReference: Sendable {
    weak let future: AnyFuture?
    init(_ future: AnyFuture) { self.future = future }
}
