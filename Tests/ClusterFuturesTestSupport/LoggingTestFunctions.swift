import ClusterFutures
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Functions that log in a worker, and a handler that keeps what a pool's logger receives, for the
/// tests of log forwarding in both pools.

/// Logs one record at each level, `trace` to `critical`, saying `record at LEVEL`, with metadata
/// `tag` (its input), on a logger labelled `TestFunctions.LogAtEveryLevel`. Returns the pid.
public struct LogAtEveryLevel: RemoteFunction {
    public init() {}
    public func callAsFunction(_ tag: String) -> Int32 {
        var logger = Logger(label: "TestFunctions.LogAtEveryLevel")
        logger[metadataKey: "tag"] = "\(tag)"
        for level in Logger.Level.allCases {
            logger.log(level: level, "record at \(level)", metadata: ["level": "\(level)"])
        }
        return getpid()
    }
}

/// Logs `count` warnings from each of 4 threads of its own and from the task's thread, all at
/// once, each saying `thread T record N`. Returns the pid.
public struct LogFromThreads: RemoteFunction {
    public init() {}
    public func callAsFunction(_ count: Int) -> Int32 {
        let logger = Logger(label: "TestFunctions.LogFromThreads")
        let done = DispatchSemaphore(value: 0)
        for thread in 1...4 {
            Thread.detachNewThread {
                for record in 0..<count { logger.warning("thread \(thread) record \(record)") }
                done.signal()
            }
        }
        for record in 0..<count { logger.warning("thread 0 record \(record)") }
        for _ in 1...4 { done.wait() }
        return getpid()
    }
}

/// Logs a warning `waiting for PATH`, then waits (up to 60 s) until the file at its input exists.
/// Returns the pid.
public struct LogThenWaitForFile: RemoteFunction {
    public init() {}
    public func callAsFunction(_ path: String) -> Int32 {
        Logger(label: "TestFunctions.LogThenWaitForFile").warning("waiting for \(path)")
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while access(path, F_OK) != 0 && ContinuousClock.now < deadline { usleep(5_000) }
        return getpid()
    }
}

/// What a ``LogCapture``'s handlers received.
public struct CapturedRecord: Sendable, CustomStringConvertible {
    public var label: String
    public var level: Logger.Level
    public var message: String
    public var metadata: [String: String]
    public var source: String
    public var file: String
    public var function: String
    public var line: UInt

    public var description: String {
        "\(level) \(message) \(metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
    }
}

/// Keeps every record its loggers' handlers receive, from any thread.
public final class LogCapture: Sendable {
    private let kept = Mutex<[CapturedRecord]>([])

    public init() {}

    /// A logger labelled `label` at `level` whose records this capture keeps.
    public func logger(label: String = "LogCapture", level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { label in Handler(label: label, capture: self) }
        logger.logLevel = level
        return logger
    }

    /// The records so far.
    public var records: [CapturedRecord] { kept.withLock { $0 } }

    /// The records so far that satisfy `filter`, once there are at least `count` of them, or
    /// whatever there is after `seconds`.
    public func records(atLeast count: Int, seconds: Double = 30,
                        where filter: (CapturedRecord) -> Bool = { _ in true }) -> [CapturedRecord] {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while true {
            let found = records.filter(filter)
            if found.count >= count || ContinuousClock.now >= deadline { return found }
            usleep(2_000)
        }
    }

    fileprivate func keep(_ record: CapturedRecord) { kept.withLock { $0.append(record) } }

    private struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let own = event.metadata { all.merge(own) { $1 } }
            capture.keep(CapturedRecord(label: label, level: event.level, message: event.message.description,
                                        metadata: all.mapValues { "\($0)" }, source: event.source, file: event.file,
                                        function: event.function, line: event.line))
        }
    }
}

extension TestFunctions {
    /// The test programs' log handler: standard error, at the level `LOG_LEVEL` names (`info` when
    /// it is unset or names no level).
    public static let environmentLogHandler: @Sendable (String) -> any LogHandler = { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        return handler
    }
}
