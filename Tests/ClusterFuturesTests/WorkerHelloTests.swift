@_spi(ExecutorImplementation) import ClusterFutures
import Testing

/// The one handshake of both pools: a worker of this build and protocol is welcome, any other is
/// refused with a message that says why.
@Suite("WorkerHello")
struct WorkerHelloTests {
    @Test func aHelloRoundTripsAndItsBuildAndProtocolDecide() throws {
        let hello = WorkerHello.current(version: 3, host: "node7")
        #expect(hello.build == BuildIdentity.current && hello.host == "node7" && hello.pid > 0)
        #expect(WorkerHello(decoding: try hello.encoded()) == hello)
        #expect(hello.refusal(by: 3, worker: "worker 0") == nil, "same build, same protocol: welcome")

        let older = try #require(hello.refusal(by: 4, worker: "worker 0"))
        #expect(older.contains("refused worker 0 on node7") && older.contains("(protocol 3)") && older.contains("(protocol 4)"))

        var other = hello
        other.build = "another-build"
        let refusal = try #require(other.refusal(by: 3, worker: "rank 2"))
        #expect(refusal.contains("it runs build another-build") && refusal.contains("same build"), "\(refusal)")
    }

    @Test func bytesThatAreNoHelloAreNotOne() {
        #expect(WorkerHello(decoding: []) == nil)
        #expect(WorkerHello(decoding: [1, 2, 3, 4, 5, 6, 7, 8, 9]) == nil)
    }
}
