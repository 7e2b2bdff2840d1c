#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// An ordered set of processes (`MPI_Group`, mpi4py's `Group`), for making communicators of some
/// of a communicator's processes with ``Communicator/create(group:)``.
///
/// A small value: copies name the same MPI group. Call ``free()`` once done with a group you made
/// (``Communicator/group``, ``including(_:)``…); MPI keeps groups alive as long as a communicator
/// uses them.
///
/// `@unchecked Sendable` because under Open MPI the handle is a pointer (see `MPIHandle`): it is
/// never written through, only passed to MPI, whose thread level governs use from several threads.
public struct Group: @unchecked Sendable, Hashable {
    /// The MPI handle.
    internal let handle: MPIHandle<MPI_Group>

    /// Wraps an MPI handle.
    internal init(handle: MPIHandle<MPI_Group>) {
        self.handle = handle
    }

    /// The group with no processes (`MPI_GROUP_EMPTY`, mpi4py's `GROUP_EMPTY`).
    public static var empty: Group { Group(handle: cmpich_group_empty()) }

    /// The number of processes (`MPI_Group_size`, mpi4py's `Group.Get_size`).
    public func size() throws -> Int {
        var size: Int32 = 0
        try mpiCall("MPI_Group_size") { MPI_Group_size(handle, &size) }
        return Int(size)
    }

    /// This process's rank in the group, or nil if it is not a member (`MPI_Group_rank`, mpi4py's
    /// `Group.Get_rank`, where non-members get `MPI.UNDEFINED`).
    public func rank() throws -> Int? {
        var rank: Int32 = 0
        try mpiCall("MPI_Group_rank") { MPI_Group_rank(handle, &rank) }
        return rank == cmpich_undefined() ? nil : Int(rank)
    }

    /// The processes at `ranks` of this group, in that order (`MPI_Group_incl`, mpi4py's `Incl`).
    public func including(_ ranks: [Int]) throws -> Group {
        var mpiRanks = ranks.map { Int32(clamping: $0) }
        var new: MPIHandle<MPI_Group> = cmpich_group_null()
        try mpiCall("MPI_Group_incl") { MPI_Group_incl(handle, Int32(mpiRanks.count), &mpiRanks, &new) }
        return Group(handle: new)
    }

    /// This group without the processes at `ranks` (`MPI_Group_excl`, mpi4py's `Excl`).
    public func excluding(_ ranks: [Int]) throws -> Group {
        var mpiRanks = ranks.map { Int32(clamping: $0) }
        var new: MPIHandle<MPI_Group> = cmpich_group_null()
        try mpiCall("MPI_Group_excl") { MPI_Group_excl(handle, Int32(mpiRanks.count), &mpiRanks, &new) }
        return Group(handle: new)
    }

    /// The processes of this group, then those of `other` not in it (`MPI_Group_union`, mpi4py's
    /// `Group.Union`).
    public func union(_ other: Group) throws -> Group {
        try combined(other, "MPI_Group_union") { MPI_Group_union($0, $1, $2) }
    }

    /// The processes of this group that are also in `other`, in this group's order
    /// (`MPI_Group_intersection`, mpi4py's `Group.Intersection`).
    public func intersection(_ other: Group) throws -> Group {
        try combined(other, "MPI_Group_intersection") { MPI_Group_intersection($0, $1, $2) }
    }

    /// The processes of this group that are not in `other` (`MPI_Group_difference`, mpi4py's
    /// `Group.Difference`).
    public func subtracting(_ other: Group) throws -> Group {
        try combined(other, "MPI_Group_difference") { MPI_Group_difference($0, $1, $2) }
    }

    /// The ranks in `other` of the processes at `ranks` in this group, nil for those not in `other`
    /// (`MPI_Group_translate_ranks`, mpi4py's `Group.Translate_ranks`).
    public func translate(_ ranks: [Int], to other: Group) throws -> [Int?] {
        var mpiRanks = ranks.map { Int32(clamping: $0) }
        var translated = [Int32](repeating: 0, count: ranks.count)
        try mpiCall("MPI_Group_translate_ranks") {
            MPI_Group_translate_ranks(handle, Int32(mpiRanks.count), &mpiRanks, other.handle, &translated)
        }
        let undefined = cmpich_undefined()
        return translated.map { $0 == undefined ? nil : Int($0) }
    }

    /// Frees the group (`MPI_Group_free`, mpi4py's `Group.Free`); copies become invalid. Never free
    /// ``empty``.
    public func free() throws {
        var handle = self.handle
        try mpiCall("MPI_Group_free") { MPI_Group_free(&handle) }
    }

    /// A group made from this one and `other` by `call`.
    private func combined(_ other: Group, _ function: StaticString,
                          _ call: (MPIHandle<MPI_Group>, MPIHandle<MPI_Group>, UnsafeMutablePointer<MPIHandle<MPI_Group>>) -> Int32) throws -> Group {
        var new: MPIHandle<MPI_Group> = cmpich_group_null()
        try mpiCall(function) { call(handle, other.handle, &new) }
        return Group(handle: new)
    }
}

extension Communicator {
    /// Splits the communicator by `color`, as ``split(color:key:)``, but a process may pass nil
    /// (`MPI_UNDEFINED`, mpi4py's `Split(MPI.UNDEFINED)`) to stay out: it gets nil
    /// (`MPI_COMM_NULL`). Collective.
    public func split(optionalColor color: Int?, key: Int) throws -> Communicator? {
        let mpiColor = color.map { Int32(clamping: $0) } ?? cmpich_undefined()
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Comm_split") { MPI_Comm_split(handle, mpiColor, Int32(clamping: key), &new) }
        return try Communicator(createdOrNull: new)
    }

    /// The processes of this communicator, as a group (`MPI_Comm_group`, mpi4py's `Get_group`).
    /// Free it with ``Group/free()``.
    public var group: Group {
        get throws {
            var group: MPIHandle<MPI_Group> = cmpich_group_null()
            try mpiCall("MPI_Comm_group") { MPI_Comm_group(handle, &group) }
            return Group(handle: group)
        }
    }

    /// A new communicator of the processes in `group`, a subset of this communicator's, ranked as in
    /// the group (`MPI_Comm_create`, mpi4py's `Create`). Collective over this communicator: every
    /// process passes the same group; those not in it get nil.
    public func create(group: Group) throws -> Communicator? {
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Comm_create") { MPI_Comm_create(handle, group.handle, &new) }
        return try Communicator(createdOrNull: new)
    }

    /// Whether this is an intercommunicator (`MPI_Comm_test_inter`, mpi4py's `Is_inter`).
    public func isIntercommunicator() throws -> Bool {
        var flag: Int32 = 0
        try mpiCall("MPI_Comm_test_inter") { MPI_Comm_test_inter(handle, &flag) }
        return flag != 0
    }

    /// The number of processes in the other group of an intercommunicator (`MPI_Comm_remote_size`,
    /// mpi4py's `Get_remote_size`).
    public func remoteSize() throws -> Int {
        var size: Int32 = 0
        try mpiCall("MPI_Comm_remote_size") { MPI_Comm_remote_size(handle, &size) }
        return Int(size)
    }

    /// Joins this intracommunicator's processes with another group's into an intercommunicator
    /// (`MPI_Intercomm_create`, mpi4py's `Create_intercomm`).
    ///
    /// Collective over this communicator and the remote one. `localLeader` is a rank here;
    /// `peer` is a communicator holding both leaders (usually ``world``, used by the leaders only),
    /// where the remote group's leader has rank `remoteLeader`; both sides use the same `tag`.
    /// In the result, ``rank`` and ``size`` are within the local group, and point-to-point ranks name
    /// processes of the remote group.
    public func intercommunicator(localLeader: Int, peer: Communicator, remoteLeader: Int, tag: Int = 0) throws -> Communicator {
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Intercomm_create") {
            MPI_Intercomm_create(handle, Int32(clamping: localLeader), peer.handle, Int32(clamping: remoteLeader),
                                 Int32(clamping: tag), &new)
        }
        return try Communicator(createdOrNull: new) ?? Communicator(handle: new)
    }

    /// Merges an intercommunicator's two groups into one intracommunicator
    /// (`MPI_Intercomm_merge`, mpi4py's `Merge`): the group whose processes pass `high: false` comes
    /// first (if both pass the same, the order is MPI's choice).
    public func merge(high: Bool) throws -> Communicator {
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Intercomm_merge") { MPI_Intercomm_merge(handle, high ? 1 : 0, &new) }
        return try Communicator(createdOrNull: new) ?? Communicator(handle: new)
    }

    /// Wraps a communicator MPI just created, giving it `MPI_ERRORS_RETURN`; nil for
    /// `MPI_COMM_NULL`.
    internal init?(createdOrNull handle: MPIHandle<MPI_Comm>) throws {
        if handle == cmpich_comm_null() { return nil }
        try mpiCall("MPI_Comm_set_errhandler") { MPI_Comm_set_errhandler(handle, cmpich_errors_return()) }
        self.init(handle: handle)
    }
}

// MARK: - Cartesian topologies

extension MPI {
    /// A balanced grid of `nodes` processes in `dimensions.count` dimensions (`MPI_Dims_create`,
    /// mpi4py's `MPI.Compute_dims`): zeros in `dimensions` are filled in, other entries are kept.
    public static func dimensions(for nodes: Int, _ dimensions: [Int]) throws -> [Int] {
        var dims = dimensions.map { Int32(clamping: $0) }
        try mpiCall("MPI_Dims_create") { MPI_Dims_create(Int32(clamping: nodes), Int32(dims.count), &dims) }
        return dims.map(Int.init)
    }

    /// The resolution of ``wtime()`` in seconds (`MPI_Wtick`, mpi4py's `MPI.Wtick`).
    public static func wtick() -> Double {
        MPI_Wtick()
    }

    /// The version of the MPI standard the library implements (`MPI_Get_version`, mpi4py's
    /// `MPI.Get_version`), such as `(4, 0)`. Callable before initialization.
    public static var version: (major: Int, minor: Int) {
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = MPI_Get_version(&major, &minor)
        return (Int(major), Int(minor))
    }
}

extension Communicator {
    /// A new communicator whose processes form a grid of `dimensions` (`MPI_Cart_create`, mpi4py's
    /// `Create_cart`), periodic (wrapping around) along the dimensions where `periodic` is true
    /// (default: none). Collective. Processes beyond the grid's size get nil. `reorder` lets MPI
    /// renumber processes to fit the machine.
    public func cartesian(dimensions: [Int], periodic: [Bool]? = nil, reorder: Bool = false) throws -> Communicator? {
        var dims = dimensions.map { Int32(clamping: $0) }
        var periods = (periodic ?? Array(repeating: false, count: dimensions.count)).map { Int32($0 ? 1 : 0) }
        guard periods.count == dims.count else {
            throw Self.argumentError("MPI_Cart_create", "\(periods.count) periodic flags for \(dims.count) dimensions")
        }
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Cart_create") {
            MPI_Cart_create(handle, Int32(dims.count), &dims, &periods, reorder ? 1 : 0, &new)
        }
        return try Communicator(createdOrNull: new)
    }

    /// A Cartesian communicator's grid: its dimensions, which wrap around, and this process's
    /// coordinates (`MPI_Cartdim_get` and `MPI_Cart_get`, mpi4py's `Get_topo`).
    public func cartesianTopology() throws -> (dimensions: [Int], periodic: [Bool], coordinates: [Int]) {
        var count: Int32 = 0
        try mpiCall("MPI_Cartdim_get") { MPI_Cartdim_get(handle, &count) }
        var dims = [Int32](repeating: 0, count: Int(count))
        var periods = [Int32](repeating: 0, count: Int(count))
        var coords = [Int32](repeating: 0, count: Int(count))
        try mpiCall("MPI_Cart_get") { MPI_Cart_get(handle, count, &dims, &periods, &coords) }
        return (dims.map(Int.init), periods.map { $0 != 0 }, coords.map(Int.init))
    }

    /// The grid coordinates of `rank` in a Cartesian communicator (`MPI_Cart_coords`, mpi4py's
    /// `Get_coords`).
    public func cartesianCoordinates(of rank: Int) throws -> [Int] {
        var count: Int32 = 0
        try mpiCall("MPI_Cartdim_get") { MPI_Cartdim_get(handle, &count) }
        var coords = [Int32](repeating: 0, count: Int(count))
        try mpiCall("MPI_Cart_coords") { MPI_Cart_coords(handle, Int32(clamping: rank), count, &coords) }
        return coords.map(Int.init)
    }

    /// The rank at grid `coordinates` of a Cartesian communicator (`MPI_Cart_rank`, mpi4py's
    /// `Get_cart_rank`); coordinates wrap around along periodic dimensions.
    public func cartesianRank(of coordinates: [Int]) throws -> Int {
        var coords = coordinates.map { Int32(clamping: $0) }
        var rank: Int32 = 0
        try mpiCall("MPI_Cart_rank") { MPI_Cart_rank(handle, &coords, &rank) }
        return Int(rank)
    }

    /// The neighbours `displacement` steps back and forward along `dimension` (`MPI_Cart_shift`,
    /// mpi4py's `Shift`): receive from `source`, send to `destination`. Beyond the edge of a
    /// non-periodic dimension they are ``MPI/processNull``, which sends and receives accept.
    public func cartesianShift(dimension: Int, by displacement: Int = 1) throws -> (source: Int, destination: Int) {
        var source: Int32 = 0
        var destination: Int32 = 0
        try mpiCall("MPI_Cart_shift") {
            MPI_Cart_shift(handle, Int32(clamping: dimension), Int32(clamping: displacement), &source, &destination)
        }
        return (Int(source), Int(destination))
    }

    /// Splits a Cartesian communicator into lower-dimensional grids that keep the dimensions where
    /// `keep` is true (`MPI_Cart_sub`, mpi4py's `Sub`): `keep: [false, true]` on a 2-D grid gives
    /// one communicator per row. Collective.
    public func cartesianSubgrid(keeping keep: [Bool]) throws -> Communicator {
        var remain = keep.map { Int32($0 ? 1 : 0) }
        var new: MPIHandle<MPI_Comm> = cmpich_comm_null()
        try mpiCall("MPI_Cart_sub") { MPI_Cart_sub(handle, &remain, &new) }
        return try Communicator(createdOrNull: new) ?? Communicator(handle: new)
    }
}
