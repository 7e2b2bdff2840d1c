import Foundation
import ClusterFuturesTestSupport
@testable import MPI
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `HydraPMI.finalize()` against a stand-in for Hydra's proxy on a socket pair. One test only: the
/// exchange happens once per process, as it does in a real rank.
@Suite("Hydra's finalize exchange")
struct HydraPMITests {
    @Test("finalize goes to Hydra once however many threads call it, and every caller gets Hydra's answer",
          .timeLimit(.minutes(1)))
    func finalizeIsSentOnce() async throws {
        var descriptors: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &descriptors) == 0)
        let connection = HydraPMI(descriptor: descriptors[0])
        let proxyEnd = descriptors[1]
        defer { close(descriptors[0]) }

        // The proxy: acknowledges the first finalize 200 ms after it arrives (a slow proxy on a
        // loaded machine), keeps listening 300 ms more for a second one, then closes its end, so
        // that a caller still waiting for a second acknowledgement sees the end of the connection.
        let received = Mutex<String>("")
        let proxyDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { close(proxyEnd); proxyDone.signal() }
            var acknowledgedAt: ContinuousClock.Instant?
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(10) {
                if let acknowledgedAt, ContinuousClock.now - acknowledgedAt > .milliseconds(300) { return }
                var ready = pollfd(fd: proxyEnd, events: Int16(POLLIN), revents: 0)
                if poll(&ready, 1, 10) > 0 {
                    var buffer = [UInt8](repeating: 0, count: 256)
                    let count = read(proxyEnd, &buffer, buffer.count)
                    if count <= 0 { return }
                    received.withLock { $0 += String(decoding: buffer[..<count], as: UTF8.self) }
                }
                if acknowledgedAt == nil, received.withLock({ $0.contains("cmd=finalize\n") }) {
                    usleep(200_000)
                    _ = "cmd=finalize_ack\n".utf8CString.withUnsafeBytes { write(proxyEnd, $0.baseAddress, $0.count - 1) }
                    acknowledgedAt = .now
                }
            }
        }

        // Two callers, as when MPI.finalize's watchdog fires while the main thread waits for the
        // acknowledgement: the second starts 50 ms after the first.
        let outcomes = Mutex<[Bool]>([])
        let callersDone = DispatchSemaphore(value: 0)
        for delay in [0, 50_000] as [UInt32] {
            Thread.detachNewThread {
                usleep(delay)
                let acknowledged = connection.finalize()
                outcomes.withLock { $0.append(acknowledged) }
                callersDone.signal()
            }
        }
        try await offThePool {
            callersDone.wait()
            callersDone.wait()
            proxyDone.wait()
        }
        let commands = received.withLock { $0 }
        #expect(commands == "cmd=finalize\n", "the proxy read \(commands.debugDescription)")
        #expect(outcomes.withLock { $0 } == [true, true], "each caller saw the acknowledgement")
    }
}
