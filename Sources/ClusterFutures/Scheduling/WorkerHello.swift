import ClusterFuturesWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What every worker says first, in both pools: its protocol, its build, and where it runs. The
/// pool refuses a worker of another build or protocol, and names the host and process in
/// ``TaskOrigin``.
@_spi(ExecutorImplementation)
public struct WorkerHello: Codable, Equatable, Sendable {
    /// The message protocol of the pool's wire (frames on pipes, or MPI messages).
    public var version: Int
    /// The executable's build id (``BuildIdentity/current``).
    public var build: String
    /// The host it runs on.
    public var host: String
    /// Its process id.
    public var pid: Int32

    /// A hello with these fields (``current(version:host:)`` makes this process's).
    public init(version: Int, build: String, host: String, pid: Int32) {
        self.version = version
        self.build = build
        self.host = host
        self.pid = pid
    }

    /// This process's hello, for a wire of protocol `version`, on `host`.
    public static func current(version: Int, host: String) -> WorkerHello {
        WorkerHello(version: version, build: BuildIdentity.current, host: host, pid: getpid())
    }

    /// The hello, encoded.
    public func encoded() throws -> [UInt8] {
        try WireEncoder().encode(self)
    }

    /// A hello received as `bytes`; nil when they are not one.
    public init?(decoding bytes: [UInt8]) {
        guard let hello = try? WireDecoder().decode(WorkerHello.self, from: bytes) else { return nil }
        self = hello
    }

    /// Why a pool of protocol `version` refuses this worker, called `worker`, as the end of an
    /// error message; nil when it is welcome (the same build and protocol as this program).
    public func refusal(by version: Int, worker: String) -> String? {
        guard self.version != version || build != BuildIdentity.current else { return nil }
        return "refused \(worker) on \(host): it runs build \(build) (protocol \(self.version)), "
            + "this program is build \(BuildIdentity.current) (protocol \(version)); "
            + "every worker must run the same build of the program"
    }
}
