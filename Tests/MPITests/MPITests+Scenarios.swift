import ClusterFuturesTestSupport
import Testing

/// Runs `scenarios` of `mpi-test-programs` on `processes` ranks (nil: without mpiexec, as a world
/// of one) and expects exit status 0 and exactly one `rank R/N ok NAME` line per rank and scenario:
/// what every suite of MPI scenarios checks.
func expectScenarios(_ processes: Int?, _ scenarios: [String], timeout: Double,
                     sourceLocation: SourceLocation) async throws {
    let outcome = try await MPIRunner.run(processes: processes, scenarios, timeout: timeout)
    #expect(!outcome.timedOut, "timed out:\n\(outcome)", sourceLocation: sourceLocation)
    #expect(outcome.status == 0, "failed:\n\(outcome)", sourceLocation: sourceLocation)
    let size = processes ?? 1
    let lines = Set(outcome.lines)
    var missing: [String] = []
    for rank in 0..<size {
        for scenario in scenarios where !lines.contains("rank \(rank)/\(size) ok \(scenario)") {
            missing.append("rank \(rank)/\(size) ok \(scenario)")
        }
    }
    #expect(missing.isEmpty, "missing lines \(missing):\n\(outcome)", sourceLocation: sourceLocation)
    #expect(outcome.lines.count == size * scenarios.count, "unexpected output:\n\(outcome)", sourceLocation: sourceLocation)
}

/// Runs each MPI scenario under a real `mpiexec` and checks that every rank reported success.
///
/// Serialized: the machine may have only two cores, and MPI ranks spin while they wait.
@Suite("MPI under mpiexec", .serialized)
struct MPIScenarioTests {
    /// Runs `scenarios` on `processes` ranks (nil: without mpiexec, as a world of one) and expects
    /// exit status 0 and one `rank R/N ok NAME` line per rank and scenario.
    func expectSuccess(_ processes: Int?, _ scenarios: String..., timeout: Double = 30,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectScenarios(processes, scenarios, timeout: timeout, sourceLocation: sourceLocation)
    }

    @Test("mpiexec is installed (the MPI tests need MPICH)")
    func mpiexecIsInstalled() async throws {
        _ = try MPIRunner.mpiexec()
    }

    @Test("initialize, finalize, rank, size, processor name, wtime; calls before initialize throw",
          arguments: [1, 2, 4])
    func environment(processes: Int) async throws {
        try await expectSuccess(processes, "uninitialized", "init")
    }

    @Test("a program started without mpiexec is a world of one")
    func singleton() async throws {
        try await expectSuccess(nil, "init", "collectives", "typed-collectives", "nonblocking", "sendrecv", "errors")
    }

    @Test("point-to-point Codable values and bytes, tags, any source, statuses", arguments: [2, 4])
    func pointToPoint(processes: Int) async throws {
        try await expectSuccess(processes, "p2p")
    }

    @Test("probe and iprobe", arguments: [2, 4])
    func probe(processes: Int) async throws {
        try await expectSuccess(processes, "probe")
    }

    @Test("Codable collectives: broadcast, scatter, gather, allGather, reduce, allReduce", arguments: [1, 2, 4])
    func collectives(processes: Int) async throws {
        try await expectSuccess(processes, "collectives")
    }

    @Test("typed-buffer collectives with MPI reduction operations", arguments: [1, 2, 4])
    func typedCollectives(processes: Int) async throws {
        try await expectSuccess(processes, "typed-collectives")
    }

    @Test("typed buffers sent and received in place, truncation, typed sendReceive", arguments: [2, 4])
    func typedBuffers(processes: Int) async throws {
        try await expectSuccess(processes, "typed")
    }

    @Test("isend, ireceive, test, wait, waitAll, waitAny, cancel", arguments: [1, 2, 4])
    func nonBlocking(processes: Int) async throws {
        try await expectSuccess(processes, "nonblocking")
    }

    @Test("sendReceive around a ring", arguments: [1, 2, 4])
    func sendReceive(processes: Int) async throws {
        try await expectSuccess(processes, "sendrecv")
    }

    @Test("split by color and by host, and duplicate", arguments: [1, 2, 4])
    func split(processes: Int) async throws {
        try await expectSuccess(processes, "split")
    }

    @Test("64 MiB messages of bytes and doubles")
    func large() async throws {
        try await expectSuccess(2, "large", timeout: 60)
    }

    @Test("messages beyond the count limit (lowered to 1000) and chunked collectives", arguments: [2, 4])
    func chunking(processes: Int) async throws {
        try await expectSuccess(processes, "chunking")
    }

    @Test("MPI errors become MPIError, and the job goes on", arguments: [1, 2, 4])
    func errors(processes: Int) async throws {
        try await expectSuccess(processes, "errors")
    }

    @Test("several threads per rank communicate at once (MPI_THREAD_MULTIPLE)", arguments: [1, 2, 4])
    func threads(processes: Int) async throws {
        try await expectSuccess(processes, "threads")
    }

    @Test("MPI.abort ends every rank of the job with a failing exit status", arguments: [1, 4])
    func abort(processes: Int) async throws {
        let outcome = try await MPIRunner.run(processes: processes, ["abort"])
        #expect(!outcome.timedOut, "\(outcome)")
        // Its "aborting" line is not required: Hydra may end the job before it forwards what the
        // ranks wrote last (seen once in a few dozen runs).
        #expect(outcome.status != 0, "\(outcome)")
        // The code reaches MPICH: mpiexec usually exits with it, but when Hydra's proxy ends the rank
        // before the rank's own exit(3) (seen under load), mpiexec exits 1. MPICH then still reports
        // the call with its code. (Another way of failing, or a hang in the barrier, shows neither.)
        let reportedCode = outcome.errors.contains("MPI_Abort(MPI_COMM_WORLD, 3)")
        #expect(outcome.status == 3 || (outcome.status == 1 && reportedCode), "\(outcome)")
        #expect(!(outcome.output + outcome.errors).contains("barrier completed"), "\(outcome)")
    }

    @Test("a failing scenario makes mpiexec exit non-zero with the rank's message")
    func failureIsReported() async throws {
        let outcome = try await MPIRunner.run(processes: 1, ["p2p"])
        #expect(!outcome.timedOut, "\(outcome)")
        #expect(outcome.status != 0, "\(outcome)")
        #expect(outcome.errors.contains("rank 0/1 FAIL p2p: "), "\(outcome)")
    }
}
