#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif
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
    /// failing calls throw ``MPIError`` instead of aborting. Fatal signals stay with Swift: UCX's
    /// handler, which would print "Caught signal" and a raw backtrace after Swift's message, is
    /// removed unless `UCX_HANDLE_ERRORS` is set (see `FatalSignals` in the module's source). Calling it again while MPI is running
    /// only checks the level. A program started without `mpiexec` becomes a world of one process.
    ///
    /// Under Hydra, start-up is bounded: if it has not finished after `CLUSTERFUTURES_STARTUP_TIMEOUT`
    /// seconds (60 by default; 0 for no bound), usually because a host of the job never started its
    /// processes, the first rank on each host says why (on `mpiexec`'s host: which hosts of the
    /// machinefile do not resolve or do not answer) and ends the job, with status 1.
    ///
    /// - Throws: ``MPIError`` if MPI was already finalized, if initialization fails, or if the
    ///   granted level is below `threadLevel` (MPI then stays initialized; call ``finalize(exitStatus:)``).
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
            let hydra = HydraPMI.fromEnvironment()
            // A host that never starts its processes leaves everyone else waiting here forever.
            let startup = hydra == nil ? nil : StartupDiagnosis.timeout().map { timeout in
                ExitWatchdog(after: timeout, exitStatus: 1) { StartupDiagnosis.giveUp(after: timeout) }
            }
            defer { startup?.cancel() }
            try mpiCall("MPI_Init_thread", anyTime: true) { MPI_Init_thread(nil, nil, threadLevel.mpiValue, &provided) }
            FatalSignals.takeBackFromUCX()
            let strategy = FinalizeStrategy.choose(libraryVersion: libraryVersion, hydra: hydra,
                                                   setting: getenv("CLUSTERFUTURES_FINALIZE").map { String(cString: $0) })
            strategyStorage.withLock { $0 = strategy }
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
    ///
    /// It never hangs once every rank has called it. All ranks first meet in a barrier on the world
    /// communicator: from then on every rank's work is done, and what follows is bounded by
    /// ``finalizeTimeout``; past it, the process ends at once with `exitStatus`, as it would have
    /// after finalizing. With MPICH 4.0 over UCX started by Hydra, `MPI_Finalize` itself is not
    /// called: it closes every UCX connection and then waits in Hydra's barrier without serving
    /// UCX, so a peer still closing its connection to that rank waits forever (over TCP, often:
    /// openucx/ucx#8738; MPICH 4.1 moved that barrier before the closing). Instead the ranks meet in
    /// a second barrier and each tells Hydra it has finalized, which is all Hydra needs to end the
    /// job with the ranks' exit statuses. See ``finalizeStrategy``.
    ///
    /// - Parameter exitStatus: The status the process exits with if finalizing does not finish
    ///   within ``finalizeTimeout``: the status it would have exited with afterwards.
    /// - Throws: ``MPIError`` if MPI was never initialized, or if the barrier or finalization fails.
    public static func finalize(exitStatus: Int32 = 0) throws {
        if isFinalized { return }
        let hooks = finalizeHooks.withLock { hooks in
            defer { hooks = [] }
            return hooks
        }
        for stop in hooks { stop() }
        // Whether or not it succeeds, later calls ask MPI again.
        defer { isKnownRunning.store(false, ordering: .releasing) }
        try mpiCall("MPI_Barrier") { MPI_Barrier(cmpich_comm_world()) }
        let strategy = finalizeStrategy
        let watchdog = ExitWatchdog(after: finalizeTimeout, exitStatus: exitStatus) {
            if case .hydraFinalizeOnly(let connection) = strategy { _ = connection.finalize() }
        }
        defer { watchdog.cancel() }
        switch strategy {
        case .mpiFinalize:
            try mpiCall("MPI_Finalize") { MPI_Finalize() }
        case .hydraFinalizeOnly(let connection):
            // The first barrier's last messages may still wait in a rank's send queue: a second
            // one delivers them before anyone leaves.
            try mpiCall("MPI_Barrier") { MPI_Barrier(cmpich_comm_world()) }
            finishedWithoutMPIFinalize.store(true, ordering: .releasing)
            if !connection.finalize() {
                throw MPIError(errorClass: cmpich_err_other(), function: "MPI_Finalize",
                               message: "Hydra's process manager did not acknowledge finalize on PMI descriptor \(connection.descriptor)")
            }
        }
    }

    /// How ``finalize(exitStatus:)`` ends MPI in this process, decided when MPI is initialized.
    public enum FinalizeStrategy: Sendable, Equatable {
        /// `MPI_Finalize`, bounded by ``MPI/finalizeTimeout``.
        case mpiFinalize
        /// Two barriers, then the process tells Hydra's process manager it has finalized, without
        /// `MPI_Finalize`: for MPICH before 4.1 on UCX, whose finalize can hang over TCP.
        case hydraFinalizeOnly(HydraPMI)
    }

    /// How this process will finalize: ``FinalizeStrategy/hydraFinalizeOnly(_:)`` under Hydra with
    /// MPICH before 4.1 on UCX (unless `CLUSTERFUTURES_FINALIZE=mpi`), else
    /// ``FinalizeStrategy/mpiFinalize``.
    public static var finalizeStrategy: FinalizeStrategy {
        strategyStorage.withLock { $0 } ?? .mpiFinalize
    }

    /// Set by ``initialize(threadLevel:)``.
    private static let strategyStorage = Mutex<FinalizeStrategy?>(nil)

    /// Whether ``finalize(exitStatus:)`` finished without `MPI_Finalize`: MPI counts as finalized.
    static let finishedWithoutMPIFinalize = Atomic<Bool>(false)

    /// The MPI library's own description of itself (`MPI_Get_library_version`), such as
    /// `MPICH Version: 4.0.2` followed by its device and configuration, or an empty string if it
    /// cannot be read.
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpich_max_library_version_string()) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == cmpich_success() else { return "" }
        return String(decoding: buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// How long ``finalize(exitStatus:)`` may take once every rank has met in its first barrier,
    /// before it ends the process: 1 second, or `CLUSTERFUTURES_FINALIZE_TIMEOUT` (seconds, a
    /// number above 0) when set. Every rank has finished its work by then, so nothing is lost.
    public static var finalizeTimeout: Duration {
        get { .nanoseconds(finalizeTimeoutNanoseconds.load(ordering: .relaxed)) }
        set { finalizeTimeoutNanoseconds.store(max(1, newValue.inNanoseconds), ordering: .relaxed) }
    }

    /// Storage behind ``finalizeTimeout``, in nanoseconds.
    private static let finalizeTimeoutNanoseconds = Atomic<Int64>(
        DurationSetting.seconds("CLUSTERFUTURES_FINALIZE_TIMEOUT", in: Double.leastNonzeroMagnitude..<1e9)
            .map { Duration.seconds($0) }?.inNanoseconds ?? 1_000_000_000)

    /// Whether MPI was seen initialized and not finalized, and ``finalize()`` has not run since:
    /// spares `mpiCall` asking MPI on every call.
    static let isKnownRunning = Atomic<Bool>(false)

    /// Throws unless MPI is initialized and not finalized; remembers when it is.
    static func checkRunning(_ function: StaticString) throws(MPIError) {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        _ = MPI_Initialized(&initialized)
        _ = MPI_Finalized(&finalized)
        if finishedWithoutMPIFinalize.load(ordering: .acquiring) { finalized = 1 }
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
        if finishedWithoutMPIFinalize.load(ordering: .acquiring) { return true }
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
