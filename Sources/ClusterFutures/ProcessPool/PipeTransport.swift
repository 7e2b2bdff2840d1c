import CClusterFuturesSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process pool's real transport: each worker a fresh copy of the program, reached through a
/// pipe each way (payloads of 64 KiB and more through shared memory beside them), its standard
/// error through a third pipe, and its end seen through a pidfd.
final class PipeTransport: WorkerTransport {
    private let settings: ProcessPoolEngine.Settings
    private let wake: WakeSignal
    /// Standard errors of ended workers that a child of theirs still holds open: still read and
    /// passed on until their end of file.
    private var orphanedStderr: [WorkerStderr] = []

    /// The largest payload that travels through a worker's shared arena; larger ones use the pipe.
    static let arenaCapacity = 16 << 20
    /// UCX's setting for what it does on a crash signal; workers get `none` (see `startWorker`).
    static let ucxHandleErrors = "UCX_HANDLE_ERRORS"

    init(settings: ProcessPoolEngine.Settings, wake: WakeSignal) {
        self.settings = settings
        self.wake = wake
    }

    func startWorker(index: Int) throws(ClusterFuturesError) -> PipeLink {
        do {
            let tasks = try SystemCalls.pipe()
            let results = try SystemCalls.pipe()
            // The worker's standard error comes through the pool, which passes it on and keeps its
            // last lines for the error that reports a crash.
            let errors = try SystemCalls.pipe()
            SystemCalls.growPipe(tasks.write, to: 1 << 20)
            SystemCalls.growPipe(results.write, to: 1 << 20)
            defer {
                try? tasks.read.close()
                try? results.write.close()
                try? errors.write.close()
            }
            let stderr = WorkerStderr(descriptor: errors.read)
            var environment = ProcessEnvironment.current.filter { !$0.hasPrefix(CF_WORKER_ENVIRONMENT_NAME + "=") }
            environment.append("\(CF_WORKER_ENVIRONMENT_NAME)=\(WorkerLaunch(index: index, parent: getpid()).environmentValue)")
            // In a program that links MPICH over UCX, every process that loads UCX gets its handler
            // for crash signals: it prints a backtrace of bare addresses before the pool reports the
            // crash in one line, and it is not async-signal-safe (a crash inside malloc could hang
            // the worker). Workers go without it, unless the user set UCX_HANDLE_ERRORS.
            if !environment.contains(where: { $0.hasPrefix(Self.ucxHandleErrors + "=") }) {
                environment.append(Self.ucxHandleErrors + "=none")
            }
            // Shared memory for large payloads, one arena each way; without it, everything goes
            // through the pipes.
            let taskArena = SharedArena.create(name: "cf-tasks-\(index)", capacity: Self.arenaCapacity)
            let resultArena = SharedArena.create(name: "cf-results-\(index)", capacity: Self.arenaCapacity)
            let arenas = taskArena != nil && resultArena != nil
            defer {
                try? taskArena?.fd.close()
                try? resultArena?.fd.close()
            }
            let pid: pid_t
            do {
                pid = try SystemCalls.spawnWorker(
                    path: settings.executable, arguments: [settings.executable], environment: environment,
                    input: tasks.read, output: results.write,
                    taskArena: arenas ? taskArena?.fd : nil, resultArena: arenas ? resultArena?.fd : nil,
                    errorOutput: errors.write)
            } catch {
                stderr.close()
                throw error
            }
            try SystemCalls.setNonBlocking(tasks.write)
            try SystemCalls.setNonBlocking(results.read)
            try SystemCalls.setNonBlocking(errors.read)
            return PipeLink(pid: pid, toWorker: tasks.write, fromWorker: results.read,
                            processDescriptor: SystemCalls.processDescriptor(pid), stderr: stderr,
                            maxPayload: settings.maxMessageBytes,
                            taskArena: arenas ? taskArena?.arena : nil, resultArena: arenas ? resultArena?.arena : nil,
                            orphan: { [unowned self] in orphanedStderr.append($0) })
        } catch {
            throw ClusterFuturesError(.brokenExecutor, "could not start a worker from \(settings.executable): \(error)")
        }
    }

    func wait(on links: [PipeLink], timeout: Int32) -> TransportActivity {
        var descriptors = [pollfd(fd: wake.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
        for link in links { link.appendPollDescriptors(to: &descriptors) }
        let orphansStart = descriptors.count
        for stderr in orphanedStderr { descriptors.append(pollfd(fd: stderr.descriptor?.rawValue ?? -1, events: Int16(POLLIN), revents: 0)) }
        do {
            try SystemCalls.poll(&descriptors, timeout: timeout)
        } catch {
            settings.logger.error("poll failed: \(error)")
        }
        var activity = TransportActivity()
        if descriptors[0].revents != 0 {
            wake.drain()
            activity.woken = true
        }
        for (index, link) in links.enumerated() {
            let base = 1 + PipeLink.pollDescriptorCount * index
            if descriptors[base + 3].revents != 0 { link.stderr?.drain() }
            let exited = descriptors[base + 2].revents != 0
            if descriptors[base].revents != 0 || exited {
                activity.links.append(link.read(index: index, exited: exited))
            }
        }
        for (offset, stderr) in orphanedStderr.enumerated() where descriptors[orphansStart + offset].revents != 0 {
            stderr.drain()
        }
        orphanedStderr.removeAll { $0.descriptor == nil }
        return activity
    }

    func finish() {
        for stderr in orphanedStderr {
            stderr.drain()
            stderr.close()
        }
        orphanedStderr.removeAll()
    }
}

/// One worker process as ``PipeTransport`` reaches it. Used only on the pool's I/O thread.
final class PipeLink: WorkerLink {
    let pid: pid_t
    /// The pool writes tasks here.
    private var toWorker: FileDescriptor?
    /// The pool reads results here.
    private let fromWorker: FileDescriptor
    /// Readable once the process has ended, whatever holds its pipes (a pidfd); nil where the system
    /// has none, and then the result pipe's end of file is the sign.
    private var processDescriptor: FileDescriptor?
    /// The worker's standard error; nil when it shares the pool's.
    let stderr: WorkerStderr?
    private let reader: FrameReader
    private let writer: FrameWriter
    let claim: TaskClaim?
    /// Takes a standard error still held open by a child of the ended worker.
    private let orphan: (WorkerStderr) -> Void

    init(pid: pid_t, toWorker: FileDescriptor, fromWorker: FileDescriptor, processDescriptor: FileDescriptor?,
         stderr: WorkerStderr?, maxPayload: Int, taskArena: SharedArena?, resultArena: SharedArena?,
         orphan: @escaping (WorkerStderr) -> Void) {
        self.pid = pid
        self.toWorker = toWorker
        self.fromWorker = fromWorker
        self.processDescriptor = processDescriptor
        self.stderr = stderr
        self.reader = FrameReader(maxPayload: maxPayload, arena: resultArena)
        self.writer = FrameWriter(arena: taskArena)
        self.claim = taskArena?.taskClaim
        self.orphan = orphan
    }

    var hasPendingWrites: Bool { !writer.isEmpty && toWorker != nil }

    func enqueue(_ kind: FrameKind, id: UInt64, segments: [[UInt8]]) {
        writer.enqueue(kind, id: id, segments: segments)
    }

    func flush() {
        guard let fd = toWorker, !writer.isEmpty else { return }
        do {
            _ = try writer.flush(to: fd)
        } catch {
            // The worker is gone or going; its end of file on the result pipe tells how.
            closeInput()
        }
    }

    func closeInput() {
        try? toWorker?.close()
        toWorker = nil
    }

    func signal(_ signal: Int32) { SystemCalls.signal(pid, signal) }

    /// Reads every frame available; `exited` when the pidfd said the process ended.
    fileprivate func read(index: Int, exited: Bool) -> LinkActivity {
        var activity = LinkActivity(index: index)
        var open = true
        do {
            open = try reader.readAvailable(from: fromWorker, into: &activity.frames)
        } catch let error as FrameError {
            activity.badMessage = error
        } catch {
            open = false
        }
        activity.ended = !open || exited
        activity.endedMidFrame = activity.ended && reader.isMidFrame
        return activity
    }

    func reap() -> ExitStatus {
        closeInput()
        try? fromWorker.close()
        try? processDescriptor?.close()
        processDescriptor = nil
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(1))
        while clock.now < deadline {
            do {
                if let status = try SystemCalls.reap(pid, block: false) { return ExitStatus(raw: status) }
            } catch {
                // ECHILD: the program ignores SIGCHLD (or reaps children itself): no status is kept.
                return ExitStatus(raw: nil)
            }
            usleep(500)
        }
        SystemCalls.signal(pid, SIGKILL)
        return ExitStatus(raw: try? SystemCalls.reap(pid, block: true))
    }

    func lastWords() -> String {
        guard let stderr else { return "" }
        // A pipe a child of the worker still holds stays in the poll set, so what the child writes
        // is still passed on.
        if stderr.drain() { orphan(stderr) }
        return stderr.lastLines.map { "; its last words on stderr: \($0)" } ?? ""
    }

    /// How many entries ``appendPollDescriptors(to:)`` appends.
    static let pollDescriptorCount = 4

    /// Appends what the I/O thread polls for this worker: results, room for tasks (when some
    /// wait), the process's end, standard error. An absent descriptor is -1, which `poll` skips.
    fileprivate func appendPollDescriptors(to descriptors: inout [pollfd]) {
        descriptors.append(pollfd(fd: fromWorker.rawValue, events: Int16(POLLIN), revents: 0))
        descriptors.append(pollfd(fd: toWorker?.rawValue ?? -1, events: hasPendingWrites ? Int16(POLLOUT) : 0, revents: 0))
        descriptors.append(pollfd(fd: processDescriptor?.rawValue ?? -1, events: Int16(POLLIN), revents: 0))
        descriptors.append(pollfd(fd: stderr?.descriptor?.rawValue ?? -1, events: Int16(POLLIN), revents: 0))
    }
}
