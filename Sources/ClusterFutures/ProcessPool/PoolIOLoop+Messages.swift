import CClusterFuturesSystem
import DequeModule
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Frames in: the hello and welcome, results, log records, and the workers the pool can no longer
// trust.
extension PoolIOLoop {
    /// Handles the frames `activity` brought from `worker`; returns the worker and why it ended
    /// when it has: at the end of its messages, or when its process has ended, though a child of it
    /// may still hold its pipes open.
    func readResults(from worker: Worker, _ activity: LinkActivity) -> (Worker, ClusterFuturesError?)? {
        // Frames that arrived whole before a bad one are answers like any other.
        for frame in activity.frames {
            if let violation = handle(frame, from: worker) { return (worker, retire(worker, violation)) }
        }
        if let badMessage = activity.badMessage {
            return (worker, retire(worker, ClusterFuturesError(.protocolViolation, "\(worker.name) sent a bad message: \(badMessage)")))
        }
        guard activity.ended else { return nil }
        if worker.retireReason == nil && activity.endedMidFrame {
            worker.retireReason = ClusterFuturesError(.protocolViolation,
                "\(worker.name) ended in the middle of a message (a truncated frame)")
        }
        return (worker, worker.retireReason)
    }

    /// Kills a worker the pool can no longer trust.
    func retire(_ worker: Worker, _ reason: ClusterFuturesError) -> ClusterFuturesError {
        logger.warning("retiring \(worker.name): \(reason.message)")
        worker.retireReason = reason
        worker.link.signal(SIGKILL)
        return reason
    }

    /// Handles one frame; returns a protocol violation, if it is one.
    func handle(_ frame: Frame, from worker: Worker) -> ClusterFuturesError? {
        switch (frame.kind, worker.phase) {
        case (.hello, .starting):
            guard let hello = WorkerHello(decoding: frame.payload) else {
                return ClusterFuturesError(.protocolViolation,
                    "\(worker.name) sent a malformed hello (\(settings.executable) may be an older build of another protocol)")
            }
            if let refusal = hello.refusal(by: Int(Frame.protocolVersion), worker: "\(worker.name) from \(settings.executable)") {
                breakPool(ClusterFuturesError(.brokenExecutor, refusal))
                return nil
            }
            var welcome = ByteWriter()
            welcome.append(UInt64(settings.maxTasksPerWorker ?? 0))
            welcome.append(UInt64(settings.spin.clampedNanoseconds))
            // The worker never ran the program's `main`: it logs at the level of the pool's logger.
            welcome.append(UInt64(logger.logLevel.wireCode))
            var segments = [welcome.bytes]
            if let initializer = settings.initializer { segments += initializer.message.encodedSegments() }
            worker.link.enqueue(.welcome, id: 0, segments: segments)
            worker.phase = .initializing
        case (.ready, .initializing):
            worker.phase = .ready
            worker.idleSince = now()
        case (.initializerFailed, .initializing):
            let reason = String(decoding: frame.payload, as: UTF8.self)
            breakPool(ClusterFuturesError(.brokenExecutor,
                "the initializer \(settings.initializer?.name ?? "?") failed in \(worker.name): \(reason)"))
        case (.result, .ready), (.result, .stopping):
            let time = now()
            guard worker.tasks.running?.id == frame.id, let (answered, _) = worker.tasks.answered(at: time) else {
                // A second answer to the task it answered last: it was still on that one.
                if frame.id == worker.lastAnsweredID { worker.retiredBetweenTasks = true }
                return ClusterFuturesError(.protocolViolation, "\(worker.name) answered task \(frame.id), which it was not running")
            }
            worker.lastAnsweredID = answered.id
            worker.idleSince = time
            answered.task.complete(reply: frame.payload, origin: worker.origin)
            engine.tally.done.add(1, ordering: .relaxed)
        case (.retiring, .ready):
            worker.phase = .retiring
        case (.log, .initializing), (.log, .ready), (.log, .retiring), (.log, .stopping):
            // A record a worker logged: into the pool's logger, with where it came from. One the
            // pool cannot read is a message it cannot trust, as any other.
            do {
                try ForwardedLogRecord(decoding: frame.payload).log(into: logger, from: worker.origin)
            } catch {
                return ClusterFuturesError(.protocolViolation, "\(worker.name) sent \(error.message)")
            }
        case (.hello, .stopping), (.ready, .stopping), (.initializerFailed, .stopping):
            // Still starting when the pool began to stop: it exits on its own at end of file.
            break
        default:
            return ClusterFuturesError(.protocolViolation, "\(worker.name) sent an unexpected \(frame.kind) frame while \(worker.phase)")
        }
        return nil
    }
}
