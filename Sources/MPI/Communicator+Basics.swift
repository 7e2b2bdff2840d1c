#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// A group of processes that communicate, like mpi4py's `Comm` (`MPI_Comm`).
///
/// A small value: copies name the same MPI communicator. Every communicator this module creates
/// uses `MPI_ERRORS_RETURN`, so failures throw ``MPIError``. Ranks, tags and counts are `Int`.
///
/// `@unchecked Sendable` because under Open MPI the handle is a pointer (see `MPIHandle`): it is
/// never written through, only passed to MPI, whose thread level governs use from several threads.
public struct Communicator: @unchecked Sendable, Hashable {
    /// The MPI handle.
    internal let handle: MPIHandle<MPI_Comm>

    /// Wraps an MPI handle.
    internal init(handle: MPIHandle<MPI_Comm>) {
        self.handle = handle
    }

    /// Every process of the job (`MPI_COMM_WORLD`, mpi4py's `COMM_WORLD`).
    public static var world: Communicator { Communicator(handle: cmpich_comm_world()) }

    /// Only this process (`MPI_COMM_SELF`, mpi4py's `COMM_SELF`).
    public static var selfCommunicator: Communicator { Communicator(handle: cmpich_comm_self()) }

    /// This process's rank in the communicator, from 0 to `size - 1` (`MPI_Comm_rank`).
    ///
    /// Initializes MPI first if nothing has yet, as mpi4py does on import. Stops the program only
    /// when MPI was already finalized or the communicator was freed, where no rank exists.
    public var rank: Int {
        MPI.initializeIfNeeded()
        var rank: Int32 = 0
        do {
            try mpiCall("MPI_Comm_rank") { MPI_Comm_rank(handle, &rank) }
        } catch {
            preconditionFailure("Communicator.rank: \(error)")
        }
        return Int(rank)
    }

    /// The number of processes in the communicator (`MPI_Comm_size`).
    ///
    /// Initializes MPI first if nothing has yet, as mpi4py does on import. Stops the program only
    /// when MPI was already finalized or the communicator was freed.
    public var size: Int {
        MPI.initializeIfNeeded()
        var size: Int32 = 0
        do {
            try mpiCall("MPI_Comm_size") { MPI_Comm_size(handle, &size) }
        } catch {
            preconditionFailure("Communicator.size: \(error)")
        }
        return Int(size)
    }

    /// Splits the communicator into one new communicator per `color` (`MPI_Comm_split`).
    ///
    /// Collective: every process calls it. Processes with the same color end up together, ranked
    /// by `key` and then by their rank here. `color` must be zero or positive.
    public func split(color: Int, key: Int) throws -> Communicator {
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Comm_split") { MPI_Comm_split(handle, Int32(clamping: color), Int32(clamping: key), &new) }
        return try Communicator(created: new)
    }

    /// How ``split(type:key:)`` groups processes.
    public enum SplitType: Sendable, Hashable {
        /// The processes that can share memory with each other: in practice, one communicator per
        /// host (`MPI_COMM_TYPE_SHARED`).
        case sharedMemory
    }

    /// Splits the communicator into one new communicator per group of `type`, such as one per host
    /// (`MPI_Comm_split_type`, mpi4py's `Split_type`).
    ///
    /// Collective: every process calls it, with the same `type`. Within each group processes are
    /// ranked by `key`, then by their rank here.
    public func split(type: SplitType, key: Int) throws -> Communicator {
        let splitType: Int32
        switch type {
        case .sharedMemory: splitType = cmpich_comm_type_shared()
        }
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Comm_split_type") {
            MPI_Comm_split_type(handle, splitType, Int32(clamping: key), cmpich_info_null(), &new)
        }
        return try Communicator(created: new)
    }

    /// A new communicator with the same processes and a separate message space (`MPI_Comm_dup`).
    ///
    /// Collective. Messages on the copy never match receives on the original, which is how a
    /// library keeps its traffic apart from its caller's.
    public func duplicate() throws -> Communicator {
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Comm_dup") { MPI_Comm_dup(handle, &new) }
        return try Communicator(created: new)
    }

    /// Waits until every process of the communicator has called it (`MPI_Barrier`).
    public func barrier() throws {
        try mpiCall("MPI_Barrier") { MPI_Barrier(handle) }
    }

    /// Frees a communicator made by ``split(color:key:)``, ``split(type:key:)`` or ``duplicate()``
    /// (`MPI_Comm_free`).
    ///
    /// Collective. Copies of this value become invalid; never free ``world`` or
    /// ``selfCommunicator``.
    public func free() throws {
        var handle = self.handle
        try mpiCall("MPI_Comm_free") { MPI_Comm_free(&handle) }
    }

    /// Wraps a communicator MPI just created, giving it `MPI_ERRORS_RETURN`.
    private init(created handle: MPIHandle<MPI_Comm>) throws {
        try mpiCall("MPI_Comm_set_errhandler") { MPI_Comm_set_errhandler(handle, cmpich_errors_return()) }
        self.init(handle: handle)
    }
}
