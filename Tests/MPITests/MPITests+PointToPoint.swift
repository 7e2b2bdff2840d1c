import ClusterFuturesTestSupport
import Foundation
import MPI
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
        try await expectScenarios(processes, scenarios, timeout: timeout, sourceLocation: sourceLocation)
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

    @Test("plain Int sources and tags, .any, types from context, status only when asked (receive, sendReceive, receiveBuffer), unlabelled arrays typed",
          arguments: [2, 4])
    func callSites(processes: Int) async throws {
        try await expectSuccess(processes, "call-sites")
    }

    /// Type-checks and runs the ownership checks on `source`, a file that imports MPI, as the
    /// package's own build would (`swiftc -emit-sil`: moves are checked on SIL, after type-checking).
    func compile(_ source: String) throws -> MPIRunner.Outcome {
        let swiftc = try #require(MPIRunner.which("swiftc"), "swiftc is not on PATH")
        let modules = URL(fileURLWithPath: MPIRunner.program("Modules")).path
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // The C module map of the MPI shim this build uses (both name the module CMPICH), and the
        // MPI headers pkg-config names for that MPI.
        let openMPI = MPI.implementation == .openMPI
        let shims = [package.appendingPathComponent("Sources").appendingPathComponent(openMPI ? "COpenMPI" : "CMPICH")]
        var includes: [String] = []
        for module in openMPI ? ["ompi-c", "ompi"] : ["mpich"] {
            let flags = try MPIRunner.run(executable: MPIRunner.which("pkg-config") ?? "/usr/bin/pkg-config",
                                          arguments: ["--cflags-only-I", module])
            if flags.status == 0 {
                includes = flags.output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                    .filter { !$0.isEmpty }.flatMap { ["-Xcc", $0] }
                break
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("p2p-ownership-\(getpid())-\(UUID().uuidString).swift")
        try source.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let arguments = ["-emit-sil", "-o", "/dev/null", "-swift-version", "6", "-I", modules]
            + shims.flatMap { ["-I", $0.path] } + includes + [file.path]
        return try MPIRunner.run(executable: swiftc, arguments: arguments, timeout: 120)
    }

    @Test("the compiler rejects touching an array handed to ireceive, and receiving a matched message twice")
    func ownershipIsCheckedByTheCompiler() throws {
        let good = """
            import MPI
            func f(_ comm: Communicator) throws {
                var values = [Double](repeating: 0, count: 8)
                let request = try comm.ireceive(into: consume values, from: 0, tag: 1)
                let (back, _) = try request.wait()
                values = back
                values[0] = 1
                let message = try comm.mprobe(from: 0)
                let a: [Int] = try message.receive()
                _ = (a, values)
            }
            """
        let accepted = try compile(good)
        #expect(accepted.status == 0, "the correct program should compile:\n\(accepted)")
        let bad = """
            import MPI
            func f(_ comm: Communicator) throws {
                var values = [Double](repeating: 0, count: 8)
                let request = try comm.ireceive(into: consume values, from: 0, tag: 1)
                values[0] = 1
                let (back, _) = try request.wait()
                values = back
                let message = try comm.mprobe(from: 0)
                let a: [Int] = try message.receive()
                let b: [Int] = try message.receive()
                _ = (a, b)
            }
            """
        let rejected = try compile(bad)
        #expect(rejected.status != 0, "\(rejected)")
        #expect(rejected.errors.contains("'values' used after consume"), "\(rejected)")
        #expect(rejected.errors.contains("'message' consumed more than once"), "\(rejected)")
    }
}
