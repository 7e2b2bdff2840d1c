import ClusterFuturesTestSupport
import Testing

/// The point-to-point calls of issue 14 under a real `mpiexec`, at 2 and 4 ranks: zero-copy
/// non-blocking transfers, send modes, matched probes, completion of many requests, persistent
/// requests, the articles' non-blocking and persistent programs, and the call-site forms.
///
/// Serialized, as ``MPIScenarioTests`` is: ranks spin while they wait, and the machine may have
/// only two cores.
@Suite("MPI point-to-point under mpiexec", .serialized)
struct MPIPointToPointTests {
    /// Runs scenarios as ``MPIScenarioTests/expectSuccess(_:_:timeout:sourceLocation:)`` does.
    func expectSuccess(_ processes: Int, _ scenarios: String..., timeout: Double = 60,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let outcome = try await MPIRunner.run(processes: processes, scenarios, timeout: timeout)
        #expect(!outcome.timedOut, "timed out:\n\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.status == 0, "failed:\n\(outcome)", sourceLocation: sourceLocation)
        let lines = Set(outcome.lines)
        var missing: [String] = []
        for rank in 0..<processes {
            for scenario in scenarios where !lines.contains("rank \(rank)/\(processes) ok \(scenario)") {
                missing.append("rank \(rank)/\(processes) ok \(scenario)")
            }
        }
        #expect(missing.isEmpty, "missing lines \(missing):\n\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.lines.count == processes * scenarios.count, "unexpected output:\n\(outcome)",
                sourceLocation: sourceLocation)
    }

    @Test("zero-copy isend and ireceive(into:): shared and returned storage, receives without a size, PROC_NULL",
          arguments: [2, 4])
    func zeroCopy(processes: Int) async throws {
        try await expectSuccess(processes, "zero-copy")
    }

    @Test("ssend, issend (completes only once the receive starts), bsend with attach/detach, ibsend, rsend, irsend",
          arguments: [2, 4])
    func sendModes(processes: Int) async throws {
        try await expectSuccess(processes, "send-modes")
    }

    @Test("mprobe and improbe: the matched message is the one received, by mrecv and imrecv", arguments: [2, 4])
    func matchedProbe(processes: Int) async throws {
        try await expectSuccess(processes, "mprobe")
    }

    @Test("testAll, testAny, waitAny, waitSome, testSome: indices and statuses", arguments: [2, 4])
    func completion(processes: Int) async throws {
        try await expectSuccess(processes, "completion")
    }

    @Test("sendInit, receiveInit, start, startAll: a ring and a halo exchange started 10 times", arguments: [2, 4])
    func persistent(processes: Int) async throws {
        try await expectSuccess(processes, "persistent")
    }

    @Test("the articles' non-blocking exchange with ireceive(into:), isend and waitAll", arguments: [2, 4])
    func nonBlockingExchange(processes: Int) async throws {
        try await expectSuccess(processes, "nonblocking-exchange")
    }

    @Test("plain Int sources and tags, .any, types from context, status only when asked, unlabelled arrays typed",
          arguments: [2, 4])
    func callSites(processes: Int) async throws {
        try await expectSuccess(processes, "call-sites")
    }
}
