@_spi(ExecutorImplementation) @testable import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Log records made in process-pool workers (copies of this test runner that never run its `main`)
/// reach the pool's logger, at its level, tagged with their origin.
@Suite("Worker log records reach the pool's logger", .serialized)
struct WorkerLoggingTests {
    init() throws { try TestFunctions.register() }

    static let hang: Duration = .seconds(60)

    private func pool(_ workers: Int, logger: Logger, initializer: WorkerInitializer? = nil) throws -> LocalProcessPoolExecutor {
        var configuration = LocalProcessPoolExecutor.Configuration()
        configuration.workers = workers
        configuration.logger = logger
        configuration.initializer = initializer
        return try LocalProcessPoolExecutor(configuration)
    }

    private var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test("each record arrives with the worker's index, pid and host, and where it was logged")
    func recordsCarryTheirOrigin() throws {
        let capture = LogCapture()
        let pool = try pool(2, logger: capture.logger(level: .trace))
        defer { pool.shutdown() }
        let tags = (0..<6).map { "task\($0)" }
        let pids = try pool.map(LogAtEveryLevel(), tags).collect()
        let pidOf = Dictionary(uniqueKeysWithValues: zip(tags, pids))
        // Every record of a task comes before its result.
        let records = capture.records.filter { $0.message.hasPrefix("record at ") }
        #expect(records.count == tags.count * Logger.Level.allCases.count, "\(records)")
        for record in records {
            let tag = try #require(record.metadata["tag"])
            #expect(record.metadata["pid"] == pidOf[tag].map { "\($0)" }, "\(record)")
            #expect(record.metadata["host"] == hostName, "\(record)")
            #expect(record.metadata["worker"] == "0" || record.metadata["worker"] == "1", "\(record)")
            #expect(record.metadata["level"] == "\(record.level)", "the record's own metadata is kept: \(record)")
            #expect(record.metadata["label"] == "TestFunctions.LogAtEveryLevel", "\(record)")
            #expect(record.message == "record at \(record.level)")
            #expect(record.file.hasSuffix("LoggingTestFunctions.swift"), "\(record.file)")
            #expect(record.function.hasPrefix("callAsFunction"), "\(record.function)")
            #expect(record.line > 0)
            #expect(record.source == "ClusterFuturesTestSupport", "\(record.source)")
            #expect(record.label == "LogCapture", "logged into the pool's logger")
        }
        #expect(Set(pids).count <= 2 && !pids.contains(getpid()), "ran in the workers")
    }

    @Test("a worker logs at the level of the pool's logger: nothing below it arrives, everything at or above it does",
          arguments: [Logger.Level.trace, .info, .notice, .warning, .critical])
    func theLevelIsThePools(level: Logger.Level) throws {
        let capture = LogCapture()
        let pool = try pool(1, logger: capture.logger(level: level))
        defer { pool.shutdown() }
        _ = try pool.submit(LogAtEveryLevel(), "one").result(timeout: Self.hang)
        let levels = capture.records.filter { $0.message.hasPrefix("record at ") }.map(\.level)
        #expect(levels == Logger.Level.allCases.filter { $0 >= level })
    }

    @Test("a record logged during a long task arrives while the task still runs")
    func recordsArriveWhileATaskRuns() throws {
        let capture = LogCapture()
        let pool = try pool(1, logger: capture.logger(level: .info))
        defer { pool.shutdown() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cf-log-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        defer { unlink(path) }
        let future = try pool.submit(LogThenWaitForFile(), path)
        let waiting = capture.records(atLeast: 1, seconds: 30) { $0.message == "waiting for \(path)" }
        #expect(waiting.count == 1, "the record came before the task ended")
        #expect(!future.isDone)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let pid = try future.result(timeout: Self.hang)
        #expect(waiting.first?.metadata["pid"] == "\(pid)")
    }

    @Test("records logged from many threads of a task at once all arrive, and the worker's results stay intact")
    func recordsFromManyThreads() throws {
        let capture = LogCapture()
        let pool = try pool(2, logger: capture.logger(level: .warning))
        defer { pool.shutdown() }
        let pids = try pool.map(LogFromThreads(), [200, 200, 200]).collect()
        let records = capture.records.filter { $0.message.contains(" record ") }
        #expect(records.count == 3 * 5 * 200)
        for pid in Set(pids) {
            let messages = Set(records.filter { $0.metadata["pid"] == "\(pid)" }.map(\.message))
            #expect(messages.count == 5 * 200, "every record of worker \(pid), once each")
        }
        #expect(try pool.submit(Square(), 9).result(timeout: Self.hang) == 81)
    }

    @Test("the initializer is the worker-setup hook: it runs before the first task, and its records are forwarded")
    func theInitializerLogsToo() throws {
        let capture = LogCapture()
        let pool = try pool(2, logger: capture.logger(level: .notice),
                            initializer: WorkerInitializer(LogAtEveryLevel(), "setup"))
        defer { pool.shutdown() }
        let pid = try pool.submit(LogAtEveryLevel(), "task").result(timeout: Self.hang)
        let setup = capture.records.filter { $0.metadata["tag"] == "setup" && $0.metadata["pid"] == "\(pid)" }
        #expect(setup.map(\.level) == Logger.Level.allCases.filter { $0 >= .notice }, "\(setup)")
        let firstTask = try #require(capture.records.firstIndex { $0.metadata["tag"] == "task" })
        let lastSetup = try #require(capture.records.lastIndex { $0.metadata["tag"] == "setup" && $0.metadata["pid"] == "\(pid)" })
        #expect(lastSetup < firstTask, "the set-up logged before the task")
    }

    // MARK: On the in-memory transport

    @Test("a forwarded record is logged with the worker's origin; a malformed one retires the worker with a clear error")
    func recordsOnTheInMemoryTransport() throws {
        let capture = LogCapture()
        let transport = InMemoryTransport(reclaimable: true)
        let settings = ProcessPoolEngine.Settings(
            workers: 1, executable: "in-memory", maxTasksPerWorker: nil, idleTimeout: nil, initializer: nil,
            tasksInFlightPerWorker: 32, maxMessageBytes: 1 << 20, spin: .zero, logger: capture.logger(level: .info))
        let engine = try ProcessPoolEngine(settings: settings, transport: { _ in transport })
        func step() { for _ in 0..<2 { _ = engine.step() } }
        let worker = transport.workers[0]
        worker.sayHello()
        step()
        worker.sayReady()
        step()
        let record = ForwardedLogRecord(level: .error, message: "from the worker", metadata: ["key": .array([.string("a")])],
                                        label: "worker-label", source: "Worker", file: "Worker/File.swift",
                                        function: "work()", line: 42)
        worker.sayLog(record.encoded())
        // Below the pool's level: not logged.
        worker.sayLog(ForwardedLogRecord(level: .debug, message: "too low", label: "w", source: "s", file: "f",
                                         function: "g", line: 1).encoded())
        step()
        let logged = capture.records
        #expect(logged.count == 1, "\(logged)")
        let first = try #require(logged.first)
        #expect(first.level == .error && first.message == "from the worker")
        #expect(first.metadata["worker"] == "0" && first.metadata["pid"] == "\(worker.pid)"
                && first.metadata["host"] == ProcessIdentity.hostName && first.metadata["label"] == "worker-label"
                && first.metadata["key"] == #"["a"]"#, "\(first)")
        #expect(first.source == "Worker" && first.file == "Worker/File.swift" && first.function == "work()" && first.line == 42)

        let made = try Job.single(Square(), 3, registry: .shared)
        let future = made.future
        if let job = made.job { try engine.enqueue(job) }
        step()
        #expect(worker.taskIDs.count == 1)
        worker.sayLog([0xff, 0x01, 0x02])
        step()
        step()
        #expect(future.isDone, "the worker was retired, and its task failed")
        let error = #expect(throws: ClusterFuturesError.self) { _ = try future.result(timeout: .seconds(5)) }
        #expect(error?.code == .protocolViolation, "\(String(describing: error))")
        #expect(error?.message.contains("worker 0 (pid \(worker.pid)) sent a malformed log record") == true,
                "\(error?.message ?? "")")
        engine.shutdown(wait: false, cancelFutures: true)
        var running = true
        for _ in 0..<20 where running { running = engine.step() }
        #expect(!running, "the pool finished")
    }
}
