internal import CMPICH
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The MPI environment: starting and stopping MPI, time, the processor name, aborting the job.
///
/// ```swift
/// try MPI.initialize()
/// let world = Communicator.world
/// print("rank \(world.rank) of \(world.size) on \(MPI.processorName)")
/// try MPI.finalize()
/// ```
public enum MPI {
    /// Initializes MPI (`MPI_Init_thread`) and returns the thread level it granted.
    ///
    /// Sets `MPI_ERRORS_RETURN` on ``Communicator/world`` and ``Communicator/selfCommunicator``, so
    /// failing calls throw ``MPIError`` instead of aborting. Calling it again while MPI is running
    /// only checks the level. A program started without `mpiexec` becomes a world of one process.
    ///
    /// - Throws: ``MPIError`` if MPI was already finalized, if initialization fails, or if the
    ///   granted level is below `threadLevel` (MPI then stays initialized; call ``finalize()``).
    @discardableResult
    public static func initialize(threadLevel: ThreadLevel = .multiple) throws -> ThreadLevel {
        if isFinalized {
            throw MPIError(errorClass: cmpich_err_other(), function: "MPI_Init_thread",
                           message: "MPI has already been finalized and cannot be initialized again")
        }
        var provided: Int32 = 0
        if isInitialized {
            try mpiCall("MPI_Query_thread") { MPI_Query_thread(&provided) }
        } else {
            try mpiCall("MPI_Init_thread", anyTime: true) { MPI_Init_thread(nil, nil, threadLevel.mpiValue, &provided) }
            try mpiCall("MPI_Comm_set_errhandler") { MPI_Comm_set_errhandler(cmpich_comm_world(), cmpich_errors_return()) }
            try mpiCall("MPI_Comm_set_errhandler") { MPI_Comm_set_errhandler(cmpich_comm_self(), cmpich_errors_return()) }
        }
        let granted = ThreadLevel(mpiValue: provided)
        if granted < threadLevel {
            throw MPIError(errorClass: cmpich_err_other(), function: "MPI_Init_thread",
                           message: "requested thread level \(threadLevel) but MPI granted only \(granted)")
        }
        return granted
    }

    /// Initializes MPI with the default thread level unless it was initialized (or finalized) already.
    static func initializeIfNeeded() {
        if !isInitialized && !isFinalized { _ = try? initialize() }
    }

    /// Finalizes MPI (`MPI_Finalize`). Does nothing if MPI is already finalized.
    ///
    /// Every process must call it before exiting, after all its communication has completed. On
    /// rank 0 of an `MPIPoolExecutor` job, the pool stops first: its worker ranks finish the tasks
    /// they were sent and finalize too; tasks not yet sent are cancelled, and later submits are
    /// refused.
    /// - Throws: ``MPIError`` if MPI was never initialized, or if finalization fails.
    public static func finalize() throws {
        if isFinalized { return }
        let hooks = finalizeHooks.withLock { hooks in
            defer { hooks = [] }
            return hooks
        }
        for stop in hooks { stop() }
        // Whether or not it succeeds, later calls ask MPI again.
        defer { isKnownRunning.store(false, ordering: .releasing) }
        try mpiCall("MPI_Finalize") { MPI_Finalize() }
    }

    /// Whether MPI was seen initialized and not finalized, and ``finalize()`` has not run since:
    /// spares `mpiCall` asking MPI on every call.
    static let isKnownRunning = Atomic<Bool>(false)

    /// Throws unless MPI is initialized and not finalized; remembers when it is.
    static func checkRunning(_ function: StaticString) throws(MPIError) {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        _ = MPI_Initialized(&initialized)
        _ = MPI_Finalized(&finalized)
        if initialized == 0 || finalized != 0 {
            throw MPIError(
                errorClass: cmpich_err_other(), function: "\(function)",
                message: finalized != 0 ? "MPI has already been finalized" : "MPI is not initialized; call MPI.initialize() first")
        }
        isKnownRunning.store(true, ordering: .releasing)
    }

    /// Runs `stop` at the start of the next ``finalize()``, once, while MPI still runs: for what this
    /// package builds on MPI and must wind down with it (the pool's dispatcher and worker ranks).
    package static func beforeFinalize(_ stop: @escaping @Sendable () -> Void) {
        finalizeHooks.withLock { $0.append(stop) }
    }

    /// What ``beforeFinalize(_:)`` registered, in order.
    private static let finalizeHooks = Mutex<[@Sendable () -> Void]>([])

    /// Whether MPI has been initialized (`MPI_Initialized`); stays true after finalization.
    public static var isInitialized: Bool {
        var flag: Int32 = 0
        _ = MPI_Initialized(&flag)
        return flag != 0
    }

    /// Whether MPI has been finalized (`MPI_Finalized`).
    public static var isFinalized: Bool {
        var flag: Int32 = 0
        _ = MPI_Finalized(&flag)
        return flag != 0
    }

    /// Wall-clock time in seconds since an arbitrary moment in the past (`MPI_Wtime`).
    public static func wtime() -> Double {
        MPI_Wtime()
    }

    /// The name of the machine this process runs on (`MPI_Get_processor_name`), or an empty string
    /// if MPI is not running.
    public static var processorName: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpich_max_processor_name()) + 1)
        var length: Int32 = 0
        do {
            try mpiCall("MPI_Get_processor_name") { MPI_Get_processor_name(&buffer, &length) }
        } catch {
            return ""
        }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Ends every process of `communicator`'s job with exit code `code` (`MPI_Abort`).
    ///
    /// If MPI is not running, exits this process with `code`.
    public static func abort(_ code: Int32 = 1, communicator: Communicator = .world) -> Never {
        if isInitialized && !isFinalized {
            _ = MPI_Abort(communicator.handle, code)
        }
        exit(code)
    }

    /// The largest count this module passes to a single MPI call (MPI counts are `Int32`).
    ///
    /// Point-to-point messages of bytes or typed buffers with more elements than this are sent as
    /// one message of a derived datatype built from blocks of this size; typed-buffer collectives
    /// are split into calls of at most this many elements; Codable collectives larger than this
    /// throw ``MPIError`` (class ``MPIError/Class/count``). The default is `Int32.max`. Tests lower
    /// it to exercise those paths with small messages; every process of a job must use the same value.
    public static var countLimit: Int {
        get { countLimitStorage.load(ordering: .relaxed) }
        set { countLimitStorage.store(max(1, min(newValue, Int(Int32.max))), ordering: .relaxed) }
    }

    /// Storage behind ``countLimit``.
    private static let countLimitStorage = Atomic<Int>(Int(Int32.max))
}
