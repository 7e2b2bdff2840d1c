import CClusterFuturesSystem
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Worker mode's entry point, called before `main` by the C constructor in CClusterFuturesSystem when
/// the process was started as a worker. Not API: it never returns.
@_cdecl("cf_worker_main")
public func _clusterFuturesWorkerMain() {
    WorkerLoop.runAndExit()
}

/// What a worker is told in its environment.
struct WorkerLaunch {
    /// The worker's index in its pool.
    var index: Int
    /// The pool's process.
    var parent: pid_t

    var environmentValue: String { "1:\(index):\(parent)" }

    init(index: Int, parent: pid_t) {
        self.index = index
        self.parent = parent
    }

    init?(environmentValue: String) {
        let parts = environmentValue.split(separator: ":")
        guard parts.count == 3, parts[0] == "1", let index = Int(parts[1]), let parent = pid_t(parts[2]) else { return nil }
        self.init(index: index, parent: parent)
    }
}

/// The identity of this build: the executable's GNU build id, which a worker must share with its pool.
@_spi(ExecutorImplementation)
public enum BuildIdentity {
    /// The build id in hex, or `"no-build-id"`.
    public static let current: String = {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = cf_build_id(&buffer, buffer.count)
        guard length > 0 else { return "no-build-id" }
        return buffer.prefix(length).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }()
}

/// The loop a worker process runs: handshake, initializer, tasks, exit.
enum WorkerLoop {
    /// The exit status of a worker whose pool went away.
    static let orphanedStatus: Int32 = 0

    static func runAndExit() -> Never {
        // The spawn put the pool's pipes and arenas at fixed numbers, which clears close-on-exec
        // there. Set it again first of all: whatever a task starts (`system("sleep 20 &")`) must hold
        // none of them, or the pool would see this worker's end only when that child's ends, and
        // the pool's pipes would be open to it. (Absent arenas fail with EBADF: nothing to mark.)
        for fd in [CF_WORKER_INPUT_FD, CF_WORKER_OUTPUT_FD, CF_WORKER_TASK_ARENA_FD, CF_WORKER_RESULT_ARENA_FD] {
            try? SystemCalls.setCloseOnExec(FileDescriptor(rawValue: fd))
        }
        guard let value = getenv(CF_WORKER_ENVIRONMENT_NAME).map({ String(cString: $0) }),
              let launch = WorkerLaunch(environmentValue: value) else {
            cf_write_stderr("ClusterFutures: malformed \(CF_WORKER_ENVIRONMENT_NAME) in the environment\n")
            _exit(64)
        }
        unsetenv(CF_WORKER_ENVIRONMENT_NAME)
        // This process is ours: keep freed memory instead of handing it back to the kernel and
        // faulting it in again for the next large message.
        cf_keep_freed_memory()
        // Ctrl-C goes to the whole process group; the pool decides what happens to its workers.
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let input = FileDescriptor(rawValue: CF_WORKER_INPUT_FD)
        let output = FileDescriptor(rawValue: CF_WORKER_OUTPUT_FD)
        // If the pool is already gone, or goes at any time later, so does the worker.
        if getppid() != launch.parent { _exit(orphanedStatus) }
        _ = cf_start_parent_watchdog(input.rawValue, orphanedStatus)
        do {
            try SystemCalls.setNonBlocking(input)
            try serve(input: input, output: output, launch: launch)
        } catch {
            cf_write_stderr("ClusterFutures worker \(launch.index) (pid \(getpid())): \(error)\n")
            fflush(nil)
            _exit(65)
        }
        fflush(nil)
        _exit(0)
    }

    /// Maps a shared arena the pool handed over at `fd`, if it did.
    private static func arena(at fd: Int32) -> SharedArena? {
        let size = cf_file_size(fd)
        return size > 0 ? SharedArena(mapping: FileDescriptor(rawValue: fd), size: size) : nil
    }

    private static func serve(input: FileDescriptor, output: FileDescriptor, launch: WorkerLaunch) throws {
        let writer = WorkerOutput(output: output, arena: arena(at: CF_WORKER_RESULT_ARENA_FD))
        let hello = try WorkerHello.current(version: Int(Frame.protocolVersion), host: ProcessIdentity.hostName).encoded()
        try writer.send(.hello, id: 0, payload: hello)

        let taskArena = arena(at: CF_WORKER_TASK_ARENA_FD)
        let reader = FrameReader(maxPayload: Int.max, arena: taskArena)
        // Through it the pool takes back tasks sent ahead while this worker runs a long one.
        let claim = taskArena?.taskClaim
        let registry = FunctionRegistry.shared
        // What the pool defined, by number: each task names its function by index.
        var functions = DefinedFunctions<Void>()
        var budget = UInt64.max
        // How long to keep looking for the next task before sleeping; set by the welcome.
        var spin = Duration.zero
        var frames: [Frame] = []
        while true {
            frames.removeAll(keepingCapacity: true)
            guard try readFrames(reader, from: input, into: &frames, spin: spin) else { return }
            for frame in frames {
                switch frame.kind {
                case .welcome:
                    var fields = ByteReader(frame.payload)
                    let taskBudget = try fields.readUInt64()
                    budget = taskBudget == 0 ? .max : taskBudget
                    spin = .nanoseconds(Int64(clamping: try fields.readUInt64()))
                    let level = try Logger.Level(wireCode: fields.readUInt64())
                    // This process never ran the program's `main`, nor its `LoggingSystem.bootstrap`:
                    // its loggers send their records to the pool, at the pool's level, from the
                    // initializer on.
                    forwardLogs(through: writer, level: level)
                    let initializer = Array(fields.readRemaining())
                    if let failure = runInitializer(initializer, registry: registry) {
                        try writer.send(.initializerFailed, id: 0, payload: Array(failure.utf8))
                        return
                    }
                    writer.enqueue(.ready, id: 0, payload: [])
                case .define:
                    try functions.define(NumberedTask.definition(in: frame.payload), registry: registry) { _ in () }
                case .task:
                    // Taken back by the pool (it runs elsewhere): skipped, unanswered.
                    if let claim, !claim.claim(frame.id) { continue }
                    let (number, request) = try NumberedTask.task(in: frame.payload)
                    writer.enqueue(.result, id: frame.id, payload: functions.serve(number, request: request, registry: registry))
                    budget -= 1
                    if budget == 0 {
                        try writer.send(.retiring, id: 0, payload: [])
                        return
                    }
                    // Each result leaves before the next task starts: if that task kills the
                    // worker, the pool knows exactly which one it was.
                    try writer.flush()
                case .stop:
                    try writer.flush()
                    return
                case .hello, .ready, .initializerFailed, .result, .retiring, .log:
                    throw FrameError(description: "unexpected \(frame.kind) frame from the pool")
                }
            }
            try writer.flush()
        }
    }

    /// Bootstraps `LoggingSystem` in this worker with handlers that send each record at or above
    /// `level` to the pool as a ``FrameKind/log`` frame, from whichever thread logs, at once. A
    /// record that cannot be sent (the pool is gone) is written to standard error instead.
    private static func forwardLogs(through writer: WorkerOutput, level: Logger.Level) {
        WorkerLogging.install(WorkerLogSink(level: level) { record in
            (try? writer.send(.log, id: 0, payload: record)) != nil
        })
    }

    /// Runs the initializer a welcome frame carries, if any. Returns why it failed, or nil.
    private static func runInitializer(_ message: [UInt8], registry: FunctionRegistry) -> String? {
        guard !message.isEmpty else { return nil }
        do {
            let task = try TaskMessage(decoding: message)
            let (name, mangled) = task.names
            return CallReply.firstFailure(in: registry.serve(functionName: name, mangledName: mangled, request: task.request))
        } catch {
            return "the initializer could not be read: \(error)"
        }
    }

    /// Reads at least one frame, spinning briefly before sleeping. Returns false at end of file.
    private static func readFrames(
        _ reader: FrameReader, from input: FileDescriptor, into frames: inout [Frame], spin: Duration
    ) throws -> Bool {
        let clock = ContinuousClock()
        var spinUntil = clock.now.advanced(by: spin)
        while true {
            guard try reader.readAvailable(from: input, into: &frames) else { return false }
            if !frames.isEmpty { return true }
            if clock.now < spinUntil {
                sched_yield()
                continue
            }
            try SystemCalls.waitReadable(input)
            spinUntil = clock.now.advanced(by: spin)
        }
    }
}
