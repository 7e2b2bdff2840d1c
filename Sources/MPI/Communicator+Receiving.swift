#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

extension MPI {
    /// The rank of no process (`MPI_PROC_NULL`, mpi4py's `PROC_NULL`): a send to it or a receive
    /// from it completes at once and moves no data. A receive's status then has this as `source`,
    /// `MPI_ANY_TAG` as tag and a count of 0.
    public static var processNull: Int { Int(cmpich_proc_null()) }
}

extension Status {
    /// An empty status (source `MPI_ANY_SOURCE`, tag `MPI_ANY_TAG`, count 0), for a `status:`
    /// argument to fill in, as mpi4py's `MPI.Status()`.
    public init() {
        self.init(source: Int(cmpich_any_source()), tag: Int(cmpich_any_tag()), count: 0)
    }
}

extension Communicator {
    /// Receives one message of `T`s of any length into a new array of exactly its length
    /// (`MPI_Mprobe` then `MPI_Mrecv`; mpi4py's `Recv` into an array of the probed size).
    ///
    /// The type may come from the context: `let values: [Double] = try comm.receive(from: 0)`.
    /// This is the receive for arrays sent with `send(_:to:tag:)` or any typed send.
    public func receive<T: MPIScalar>(_ type: [T].Type = [T].self, from source: some SourceConvertible = Source.any,
                                      tag: some TagConvertible = Tag.any) throws -> [T] {
        try receiveProbed(T.self, from: source, tag: tag).0
    }

    /// The typed receive of an array of Codable numbers, such as `[Int]`: the overload that makes
    /// it win over the encoded ``receive(_:from:tag:)-(T.Type,_,_)``.
    public func receive<T: MPIScalar & Decodable>(_ type: [T].Type = [T].self, from source: some SourceConvertible = Source.any,
                                                  tag: some TagConvertible = Tag.any) throws -> [T] {
        try receiveProbed(T.self, from: source, tag: tag).0
    }

    /// Receives one message of `T`s of any length, and sets `status` to its status (mpi4py's
    /// `status=` argument).
    public func receive<T: MPIScalar>(_ type: [T].Type = [T].self, from source: some SourceConvertible = Source.any,
                                      tag: some TagConvertible = Tag.any, status: inout Status) throws -> [T] {
        let (values, received) = try receiveProbed(T.self, from: source, tag: tag)
        status = received
        return values
    }

    /// Receives one message of Codable numbers of any length, typed, and sets `status`.
    public func receive<T: MPIScalar & Decodable>(_ type: [T].Type = [T].self, from source: some SourceConvertible = Source.any,
                                                  tag: some TagConvertible = Tag.any, status: inout Status) throws -> [T] {
        let (values, received) = try receiveProbed(T.self, from: source, tag: tag)
        status = received
        return values
    }
}
