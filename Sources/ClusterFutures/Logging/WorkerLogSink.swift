import Logging
import Synchronization

/// Where a worker's log records go: the level they must reach, how they leave for the pool's
/// process, and what writes them when they cannot.
///
/// A process-pool worker sends each record as a ``FrameKind/log`` frame through the pipe its
/// results take; an MPI worker rank sends it to rank 0. Either way `send` may be called from any
/// thread, at any time (a task may log from threads of its own), and returns false when the record
/// could not leave (the pool is gone, or no longer listens): then it is written by `fallback`.
package final class WorkerLogSink: Sendable {
    private let levelCode: Atomic<UInt8>
    private let send: @Sendable ([UInt8]) -> Bool
    private let fallback: @Sendable (String) -> any LogHandler

    /// A sink that forwards records of `level` and above (unless a logger sets its own) through
    /// `send`, and writes those `send` refuses with a handler from `fallback`.
    package init(level: Logger.Level, fallback: @escaping @Sendable (String) -> any LogHandler = StreamLogHandler.standardError,
                 send: @escaping @Sendable ([UInt8]) -> Bool) {
        self.levelCode = Atomic(level.wireCode)
        self.send = send
        self.fallback = fallback
    }

    /// The pool's level: records below it are not forwarded, unless a logger in the worker set a
    /// level of its own. Changing it applies to every logger that did not.
    package var level: Logger.Level {
        get { (try? Logger.Level(wireCode: UInt64(levelCode.load(ordering: .relaxed)))) ?? .info }
        set { levelCode.store(newValue.wireCode, ordering: .relaxed) }
    }

    /// Sends `record` to the pool, or, when it cannot leave, writes it here with the fallback.
    func forward(_ record: ForwardedLogRecord, event: LogEvent) {
        if send(record.encoded()) { return }
        var handler = fallback(record.label)
        handler.logLevel = .trace
        handler.metadata = record.metadata.mapValues(\.metadataValue)
        handler.log(event: event)
    }
}
