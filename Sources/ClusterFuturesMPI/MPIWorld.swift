import CClusterFuturesSystem
@_spi(ExecutorImplementation) import ClusterFutures
import MPI
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The MPI job as the pool sees it, set up once per process: MPI initialized with
/// `MPI_THREAD_MULTIPLE`, a private duplicate of the world communicator, and this rank's part.
///
/// Ranks above 0 become workers as soon as the world is set up and never come back. Rank 0 keeps
/// the dispatcher that every ``MPIPoolExecutor`` shares, and stops the workers and finalizes MPI
/// when the program exits.
enum MPIWorld {
    /// Rank 0's view, once set up.
    struct Master: Sendable {
        /// The pool's communicator (a duplicate of the world).
        let communicator: Communicator
        /// The world's size: 1 means no workers.
        let size: Int
        /// Each rank's host (`MPI_Get_processor_name`), by rank: to name a rank that is lost before
        /// it says hello.
        let hosts: [String]
    }

    private struct State {
        var master: Master?
        var dispatcher: MPIDispatcher?
        var setUpError: ClusterFuturesError?
        var finished = false
    }

    /// The state behind a lock, in a class: a `Mutex` stored directly in a `static let` has been
    /// seen to read back wrong values in optimized builds (Swift 6.3), which a heap box avoids.
    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private static let box = Box()

    /// Sets up MPI for the pool if it is not yet, and returns rank 0's view. In any other rank it
    /// serves tasks and exits instead of returning.
    ///
    /// Every rank binds itself to a CPU here, or not, as ``WorkerBinding`` decides.
    ///
    /// - Throws: `ClusterFuturesError` with code `brokenExecutor` when MPI cannot start, or
    ///   was started by the program with less than `MPI_THREAD_MULTIPLE`, or has been finalized,
    ///   or `CLUSTERFUTURES_BIND_WORKERS` has a value other than `auto` or `none`.
    static func setUp() throws(ClusterFuturesError) -> Master {
        let (master, communicator): (Master?, Communicator?) = try box.state.withLock { (state) throws(ClusterFuturesError) in
            if let master = state.master { return (master, nil) }
            if let error = state.setUpError { throw error }
            do {
                // Read before any collective call, which every rank must make or none.
                let binding = try WorkerBinding.fromEnvironment()
                try MPI.initialize(threadLevel: .multiple)
                let communicator = try Communicator.world.duplicate()
                if communicator.size > 1 { binding.apply(on: communicator) }
                let hosts = try communicator.allGather(MPI.processorName)
                guard communicator.rank == 0 else { return (nil, communicator) }
                let master = Master(communicator: communicator, size: communicator.size, hosts: hosts)
                state.master = master
                // on_exit, not atexit: a stuck MPI_Finalize must end the process with the status
                // it was exiting with.
                on_exit({ status, _ in MPIWorld.finishAtExit(status: status) }, nil)
                // A program that finalizes MPI itself stops the pool first, or its workers would
                // wait forever and the dispatcher thread would call into a finalized MPI.
                MPI.beforeFinalize { MPIWorld.stopPool() }
                return (master, nil)
            } catch {
                let reason = (error as? ClusterFuturesError)?.message ?? "\(error)"
                let failure = ClusterFuturesError(.brokenExecutor, "MPI could not be set up for the pool: \(reason)")
                state.setUpError = failure
                throw failure
            }
        }
        if let master { return master }
        // A worker rank: the lock is released, and this never returns.
        WorkerRank.serveAndExit(on: communicator ?? .world)
    }

    /// The dispatcher every executor on rank 0 shares, started on first use.
    static func dispatcher(for master: Master) throws(ClusterFuturesError) -> MPIDispatcher {
        try box.state.withLock { (state) throws(ClusterFuturesError) in
            if state.finished {
                throw ClusterFuturesError(.executorShutDown, "the MPI pool has stopped: MPI was finalized, by the program or at exit")
            }
            if let dispatcher = state.dispatcher { return dispatcher }
            let dispatcher = try MPIDispatcher(ranks: MPIRanks(communicator: master.communicator), worldSize: master.size,
                                               hosts: master.hosts)
            state.dispatcher = dispatcher
            return dispatcher
        }
    }

    /// At exit on rank 0: stops the pool (unless the program finalized MPI itself, which stopped it
    /// already) and finalizes MPI, so the job ends with this process's exit status, `status`.
    private static func finishAtExit(status: Int32) {
        stopPool()
        do {
            try MPI.finalize(exitStatus: status)
        } catch {
            MPIPoolExecutor.logger.error("MPI_Finalize failed on rank 0: \(error)")
        }
    }

    /// Rank 0's side of ending the pool, once, while MPI still runs: the dispatcher runs every task
    /// submitted (those in flight and those still queued) to completion, every worker is told to
    /// stop, and all ranks leave the pool's communicator. Later submits and new pools are refused.
    private static func stopPool() {
        let (master, dispatcher) = box.state.withLock { state -> (Master?, MPIDispatcher?) in
            if state.finished { return (nil, nil) }
            state.finished = true
            return (state.master, state.dispatcher)
        }
        guard let master else { return }
        if let dispatcher {
            dispatcher.finish()
        } else {
            MPIDispatcher.stopWorkers(on: MPIRanks(communicator: master.communicator), size: master.size, owingHello: Set(1..<max(1, master.size)))
        }
        do {
            try disconnect(master.communicator)
        } catch {
            MPIPoolExecutor.logger.error("leaving the MPI pool failed on rank 0: \(error)")
        }
    }

    /// How a worker rank ends: ``disconnect(_:)``, then finalize MPI.
    static func leave(_ communicator: Communicator) throws {
        try disconnect(communicator)
        try MPI.finalize()
    }

    /// All ranks meet in a barrier on the pool's communicator, so no traffic is still in flight
    /// anywhere (over TCP, a rank that finalizes while a peer still flushes can leave that peer
    /// waiting), and free it.
    private static func disconnect(_ communicator: Communicator) throws {
        try communicator.barrier()
        try communicator.free()
    }
}

/// Called by `ClusterRuntime.bootstrap(functions:errors:logHandler:)` through the C hook: in a
/// process an MPI launcher started with more than one rank, sets up the pool, which turns ranks
/// above 0 into workers here. Elsewhere it does nothing, and MPI starts only when an ``MPIPoolExecutor`` is made.
@_cdecl("cf_mpi_bootstrap")
public func _clusterFuturesMPIBootstrap() {
    // Linking MPICH loads UCX, whose crash handler would follow Swift's report of a trap with its
    // own backtrace, in runs without MPI too (inline, or with the process pool).
    FatalSignals.takeBackFromUCX()
    guard let launch = MPILaunch.current, launch.mayHaveWorkers else { return }
    // A worker rank's process may stay here as its supervisor, never to return.
    WorkerSupervisor.superviseIfWorker(launch)
    do {
        _ = try MPIWorld.setUp()
    } catch {
        // A worker rank must never run the program's own code.
        if launch.rank != 0 {
            cf_write_stderr("ClusterFutures: rank \(launch.rank.map(String.init) ?? "?") cannot serve as a worker: \(error.message)\n")
            exit(70)
        }
        // Rank 0 carries on; making an executor reports the error again.
        MPIPoolExecutor.logger.error("\(error.message)")
    }
}
