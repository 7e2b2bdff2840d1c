@_spi(ExecutorImplementation) import ClusterFutures

#if canImport(Glibc)
import Glibc
#endif

/// A process-pool transport whose workers are objects in memory, in the spirit of swift-nio's
/// `EmbeddedChannel`: the pool's scheduler runs unchanged, one step at a time on the test's thread
/// (`ProcessPoolEngine.step()`), every frame it sends is recorded, and the test decides what each
/// worker says and when: its hello, its answers, its crash. No process, no thread, no timing.
package final class InMemoryTransport: WorkerTransport {
    /// One worker in memory.
    package final class Worker: WorkerLink {
        package let index: Int
        package let pid: pid_t
        package let claim: TaskClaim?
        /// Frames the pool flushed to this worker, in order.
        package private(set) var received: [Frame] = []
        private var queued: [Frame] = []
        /// Frames this worker delivers at the pool's next wait.
        private var outbox: [Frame] = []
        /// The wait status it ends with at the pool's next wait, if it ends.
        private var ending: Int32?
        package private(set) var inputClosed = false
        package private(set) var signals: [Int32] = []
        package private(set) var reaped = false
        /// What it "wrote to standard error" before it ended.
        package var stderr = ""
        /// How many of the tasks received it has started or skipped.
        private var next = 0

        package init(index: Int, pid: pid_t, reclaimable: Bool) {
            self.index = index
            self.pid = pid
            self.claim = reclaimable ? TaskClaim.allocate() : nil
        }

        package var hasPendingWrites: Bool { !queued.isEmpty && !inputClosed }

        package func enqueue(_ kind: FrameKind, id: UInt64, segments: [[UInt8]]) {
            queued.append(Frame(kind: kind, id: id, payload: Array(segments.joined())))
        }

        package func flush() {
            received += queued
            queued.removeAll()
        }

        package func closeInput() {
            inputClosed = true
            // A worker told to stop exits 0 at end of file, unless it is already ending otherwise.
            if ending == nil { ending = 0 }
        }

        package func signal(_ signal: Int32) {
            signals.append(signal)
            if signal == SIGKILL || signal == SIGTERM { ending = signal }
        }

        package func reap() -> ExitStatus {
            reaped = true
            return ExitStatus(raw: ending ?? 0)
        }

        package func lastWords() -> String { stderr.isEmpty ? "" : "; its last words on stderr: \(stderr)" }

        // MARK: What the test makes it do

        /// Says hello as a copy of this build would (or as `build`).
        package func sayHello(build: String = BuildIdentity.current) {
            let hello = WorkerHello(version: Int(Frame.protocolVersion), build: build, host: "memory", pid: pid)
            outbox.append(Frame(kind: .hello, id: 0, payload: (try? hello.encoded()) ?? []))
        }

        /// Sends the pool a log record (``ForwardedLogRecord``, encoded), or any bytes as one.
        package func sayLog(_ payload: [UInt8]) { outbox.append(Frame(kind: .log, id: 0, payload: payload)) }

        /// Answers the welcome: ready, or the initializer failed.
        package func sayReady() { outbox.append(Frame(kind: .ready, id: 0, payload: [])) }
        package func sayInitializerFailed(_ reason: String) { outbox.append(Frame(kind: .initializerFailed, id: 0, payload: Array(reason.utf8))) }

        /// The ids of the tasks it was sent, in order.
        package var taskIDs: [UInt64] { received.filter { $0.kind == .task }.map(\.id) }

        /// A task it claimed and has not finished: see ``startNextTaskWithoutFinishing()``.
        private var started: Frame?

        /// Runs a task: the task it started, if any, else its next one, claimed first as the worker
        /// loop does (the shared registry answers). Returns the task's id, and whether it ran (false:
        /// the pool took it back, and it is skipped unanswered); nil when it has none.
        @discardableResult
        package func runNextTask() throws -> (id: UInt64, ran: Bool)? {
            let frame: Frame
            if let started {
                frame = started
                self.started = nil
            } else {
                guard let next = takeNextTask() else { return nil }
                if let claim, !claim.claim(next.id) { return (next.id, false) }
                frame = next
            }
            // The functions the pool defined so far, as the worker loop keeps them.
            var functions = DefinedFunctions<Void>()
            for definition in received where definition.kind == .define {
                try functions.define(NumberedTask.definition(in: definition.payload), registry: .shared) { _ in () }
            }
            let (number, request) = try NumberedTask.task(in: frame.payload)
            outbox.append(Frame(kind: .result, id: frame.id, payload: functions.serve(number, request: request, registry: .shared)))
            return (frame.id, true)
        }

        /// Claims its next task and stays in it, as a worker does that starts a long task; the next
        /// ``runNextTask()`` finishes it. Nil when it has none, or the pool took it back.
        @discardableResult
        package func startNextTaskWithoutFinishing() -> UInt64? {
            guard started == nil, let next = takeNextTask() else { return nil }
            if let claim, !claim.claim(next.id) { return nil }
            started = next
            return next.id
        }

        private func takeNextTask() -> Frame? {
            let tasks = received.filter { $0.kind == .task }
            guard next < tasks.count else { return nil }
            defer { next += 1 }
            return tasks[next]
        }

        /// Answers task `id` with bytes that are not what the pool sent it (a corrupt answer).
        package func answer(_ id: UInt64, with payload: [UInt8]) {
            outbox.append(Frame(kind: .result, id: id, payload: payload))
        }

        /// Dies, as by `signal`, at the pool's next wait.
        package func die(by signal: Int32) { ending = signal }

        fileprivate func deliver(index: Int) -> LinkActivity? {
            guard !outbox.isEmpty || ending != nil else { return nil }
            defer { outbox.removeAll() }
            return LinkActivity(index: index, frames: outbox, ended: ending != nil)
        }
    }

    /// Every worker it started, in order, also those that ended.
    package private(set) var workers: [Worker] = []
    /// Whether the pool and its workers share a claim word (the pipe transport's shared memory).
    package let reclaimable: Bool
    /// How many times the pool waited.
    package private(set) var waits = 0
    /// The timeout of the last wait, in milliseconds (0: only looked; -1: no limit).
    package private(set) var lastTimeout: Int32?

    package init(reclaimable: Bool = true) {
        self.reclaimable = reclaimable
    }

    package func startWorker(index: Int) throws(ClusterFuturesError) -> Worker {
        let worker = Worker(index: index, pid: pid_t(10_000 + index), reclaimable: reclaimable)
        workers.append(worker)
        return worker
    }

    package func wait(on links: [Worker], timeout: Int32) -> TransportActivity {
        waits += 1
        lastTimeout = timeout
        var activity = TransportActivity()
        for (index, link) in links.enumerated() {
            if let delivered = link.deliver(index: index) { activity.links.append(delivered) }
        }
        return activity
    }

    package func finish() {}
}
