#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a task ran: which kind of executor, which host and process, and which worker.
///
/// Every finished ``Future`` reports its ``AnyFuture/origin``, and every ``TaskFailure`` carries one,
/// so a failure on a cluster can be traced to the machine and process that produced it.
public struct TaskOrigin: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The kind of executor that ran the task, such as `"inline"`, `"process"` or `"mpi"`.
    public var executor: String
    /// The host name of the machine the task ran on.
    public var host: String
    /// The process id of the process the task ran in.
    public var pid: Int32
    /// The worker's index within its pool, when the executor has numbered workers.
    public var worker: Int?
    /// The MPI rank the task ran on, under `MPIPoolExecutor`.
    public var rank: Int?

    /// Creates an origin.
    public init(executor: String, host: String, pid: Int32, worker: Int? = nil, rank: Int? = nil) {
        self.executor = executor
        self.host = host
        self.pid = pid
        self.worker = worker
        self.rank = rank
    }

    /// This process, on this host, for the given kind of executor.
    public static func currentProcess(executor: String, worker: Int? = nil, rank: Int? = nil) -> TaskOrigin {
        TaskOrigin(executor: executor, host: ProcessIdentity.hostName, pid: getpid(), worker: worker, rank: rank)
    }

    /// Such as `mpi executor, rank 3, worker 2, pid 4817, host node2`.
    public var description: String {
        var parts = ["\(executor) executor"]
        if let rank { parts.append("rank \(rank)") }
        if let worker { parts.append("worker \(worker)") }
        parts.append("pid \(pid)")
        parts.append("host \(host)")
        return parts.joined(separator: ", ")
    }
}

/// Facts about this process that do not change while it runs.
enum ProcessIdentity {
    /// The host name, read once.
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }()
}
