import ClusterFuturesTestSupport
import Testing

/// The collectives, reduction operations, datatypes and communicators of issue 14, each scenario
/// at 2 and 4 ranks (part of the serialized suite, so they never run beside other MPI jobs).
extension MPIScenarioTests {
    @Test("typed scatter, gather, allGather, allToAll; allGather, gather and scatter in place", arguments: [2, 4])
    func typedScatterGather(processes: Int) async throws {
        try await expectSuccess(processes, "coll-typed")
    }

    @Test("scatterv, gatherv, allgatherv, alltoallv with counts and displacements", arguments: [2, 4])
    func vectorCollectives(processes: Int) async throws {
        try await expectSuccess(processes, "coll-v")
    }

    @Test("scan, exscan, reduce_scatter, reduce_scatter_block, in-place allReduce, reduce and scan", arguments: [2, 4])
    func scans(processes: Int) async throws {
        try await expectSuccess(processes, "coll-scan")
    }

    @Test("Codable allToAll; reduce and allReduce along a tree keep rank order and fail together", arguments: [2, 4])
    func codableCollectives(processes: Int) async throws {
        try await expectSuccess(processes, "coll-codable")
    }

    @Test("ibarrier, ibcast, ireduce, iallreduce, igather, iscatter, iallgather, ialltoall, iscan, iexscan, ireduce_scatter_block", arguments: [2, 4])
    func nonBlockingCollectives(processes: Int) async throws {
        try await expectSuccess(processes, "coll-nonblocking")
    }

    @Test("logical, bitwise, MAXLOC/MINLOC and user-defined reduction operations", arguments: [2, 4])
    func reductionOperations(processes: Int) async throws {
        try await expectSuccess(processes, "coll-ops")
    }

    @Test("Bool, complex, contiguous, vector and struct datatypes", arguments: [2, 4])
    func datatypes(processes: Int) async throws {
        try await expectSuccess(processes, "coll-datatypes")
    }

    @Test("split with MPI_UNDEFINED, groups, Comm.Create, intercommunicators, PROC_NULL, Wtick, Get_version", arguments: [2, 4])
    func communicatorsAndGroups(processes: Int) async throws {
        try await expectSuccess(processes, "coll-comms")
    }

    @Test("Cartesian topologies: Dims_create, Cart_create, coords, rank, shift, sub", arguments: [2, 4])
    func cartesianTopologies(processes: Int) async throws {
        try await expectSuccess(processes, "coll-cart")
    }

    @Test("the articles' broadcast, scatter and gather by rank, and pi reduce with the new calls", arguments: [2, 4])
    func articleCollectives(processes: Int) async throws {
        try await expectSuccess(processes, "coll-articles")
    }
}
