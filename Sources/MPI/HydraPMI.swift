import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// This process's connection to Hydra, MPICH's process manager (`mpiexec`): the descriptor Hydra
/// passes in `PMI_FD`, on which MPI talks the PMI-1 wire protocol (`cmd=NAME key=value` lines).
///
/// ``MPI/finalize(exitStatus:)`` uses it for one command, `finalize`, which tells Hydra that this
/// process has finished with MPI, so that its exit ends the job normally instead of as a failure.
public struct HydraPMI: Sendable, Equatable {
    /// The descriptor of the connection.
    public let descriptor: Int32

    /// The connection Hydra set up for this process, if `PMI_FD` names one; read before MPI starts.
    /// Always nil when the module is built against Open MPI, which Hydra does not start (a
    /// mismatched `mpiexec` makes each process a world of its own).
    static func fromEnvironment() -> HydraPMI? {
        #if OpenMPI && !MPICH
        return nil
        #else
        guard let text = getenv("PMI_FD").map({ String(cString: $0) }), let descriptor = Int32(text), descriptor >= 0,
              fcntl(descriptor, F_GETFD) != -1 else { return nil }
        return HydraPMI(descriptor: descriptor)
        #endif
    }

    /// Where this process's one finalize exchange with Hydra stands.
    private enum Exchange: Int {
        case notStarted, awaitingAcknowledgement, acknowledged, failed
    }

    private static let exchange = Atomic<Int>(Exchange.notStarted.rawValue)

    /// How long a second caller waits for the first caller's exchange to end.
    private static let secondCallerWaitNanoseconds: Int64 = 5_000_000_000

    /// Sends `cmd=finalize` and waits for Hydra's `cmd=finalize_ack`; returns whether it came.
    /// After it, Hydra no longer reads this connection.
    ///
    /// The command goes out once per process. Hydra's proxy acknowledges a finalize and closes the
    /// connection, so a second one read in the same batch is answered on a closed descriptor, and
    /// the proxy fails the whole job (`HYDU_sock_write ... Bad file descriptor`, exit status 255).
    /// That happened when ``MPI/finalize(exitStatus:)``'s watchdog fired while the main thread waited
    /// for the acknowledgement on a loaded machine. A second caller sends nothing: it waits, at
    /// most 5 s, for the first caller's exchange to end, and returns its outcome.
    func finalize() -> Bool {
        let (first, _) = Self.exchange.compareExchange(
            expected: Exchange.notStarted.rawValue, desired: Exchange.awaitingAcknowledgement.rawValue,
            ordering: .acquiringAndReleasing)
        guard first else { return Self.outcomeOfTheFirstExchange() }
        let acknowledged = exchangeFinalize()
        Self.exchange.store((acknowledged ? Exchange.acknowledged : .failed).rawValue, ordering: .releasing)
        return acknowledged
    }

    /// Waits, a bounded time, for another thread's exchange; whether Hydra acknowledged it.
    private static func outcomeOfTheFirstExchange() -> Bool {
        var waited: Int64 = 0
        let step: Int64 = 1_000_000
        while exchange.load(ordering: .acquiring) == Exchange.awaitingAcknowledgement.rawValue,
              waited < secondCallerWaitNanoseconds {
            var pause = timespec(tv_sec: 0, tv_nsec: Int(step))
            nanosleep(&pause, nil)
            waited += step
        }
        return exchange.load(ordering: .acquiring) == Exchange.acknowledged.rawValue
    }

    /// The exchange itself: the command, then the reply line.
    private func exchangeFinalize() -> Bool {
        let command = Array("cmd=finalize\n".utf8)
        var sent = 0
        while sent < command.count {
            let count = command[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        var reply: [UInt8] = []
        var byte: UInt8 = 0
        while reply.count < 1024 {
            let count = read(descriptor, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return false }
            if byte == UInt8(ascii: "\n") { break }
            reply.append(byte)
        }
        return String(decoding: reply, as: UTF8.self).contains("cmd=finalize_ack")
    }
}

extension MPI.FinalizeStrategy {
    /// The strategy for an MPI library that describes itself as `libraryVersion`, started by Hydra
    /// when `hydra` is not nil, with `CLUSTERFUTURES_FINALIZE` set to `setting` (`auto`, the
    /// default; `mpi` for `MPI_Finalize` always; `hydra` for Hydra's finalize whenever started by
    /// Hydra).
    ///
    /// Under `auto`, Hydra's finalize alone is chosen for MPICH before 4.1 on a UCX device, whose
    /// `MPI_Finalize` closes every connection before its last barrier.
    static func choose(libraryVersion: String, hydra: HydraPMI?, setting: String?) -> Self {
        switch setting {
        case "mpi":
            return .mpiFinalize
        case "hydra":
            return hydra.map { .hydraFinalizeOnly($0) } ?? .mpiFinalize
        case nil, "", "auto":
            guard let hydra, finalizeMayHang(libraryVersion: libraryVersion) else { return .mpiFinalize }
            return .hydraFinalizeOnly(hydra)
        case let other?:
            let message = "ClusterFutures: CLUSTERFUTURES_FINALIZE must be auto, mpi or hydra, not '\(other)'; using auto\n"
            _ = Array(message.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            return choose(libraryVersion: libraryVersion, hydra: hydra, setting: nil)
        }
    }

    /// Whether `libraryVersion` is MPICH before 4.1 on a UCX device (`MPICH Version: 4.0.2`,
    /// `MPICH Device: ch4:ucx`).
    static func finalizeMayHang(libraryVersion: String) -> Bool {
        var version: [Int]?
        var ucx = false
        for line in libraryVersion.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingSpaces, value = parts[1].trimmingSpaces
            if key == "MPICH Version" {
                version = value.split(separator: ".").prefix(2).map { Int($0.prefix(while: \.isNumber)) ?? 0 }
            } else if key == "MPICH Device" {
                ucx = value.contains("ucx")
            }
        }
        guard let version, version.count == 2, ucx else { return false }
        return version[0] < 4 || (version[0] == 4 && version[1] < 1)
    }
}

extension Substring {
    /// The text without spaces and tabs at either end.
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
