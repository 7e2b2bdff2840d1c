import CClusterFuturesSystem
import ClusterFutures
import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps a worker rank's death by SIGKILL from ending the job before rank 0 can say what was lost.
///
/// Hydra ends every process of a job within a second of one dying. A rank that crashes says which
/// task it was running on its way out (the crash reporter), but SIGKILL, from `kill -9` or the
/// kernel's out-of-memory killer, leaves no chance to; rank 0 would be killed before noticing.
/// So under Hydra each worker rank starts the program again as a child that serves as the rank,
/// and stays as the process Hydra knows: it passes stop signals on, and exits as the rank does.
/// When the rank is killed by SIGKILL, it says so and waits until rank 0, which hears nothing from
/// the rank for ``MPIDispatcher/lossTimeout``, names the task and ends the job.
///
/// `CLUSTERFUTURES_SUPERVISE_WORKERS=none` turns it off (the worker ranks are then the processes
/// Hydra started, and the program's code before `bootstrap` runs once in each, not twice).
enum WorkerSupervisor {
    /// Set in the child's environment to the supervisor's pid.
    static let supervisorVariable = "CLUSTERFUTURES_SUPERVISOR_PID"

    /// In a worker rank started by Hydra: becomes the supervisor and never returns, or, in the
    /// supervised child, ties it to its supervisor and returns. Elsewhere (rank 0, other launchers,
    /// a build against Open MPI, `CLUSTERFUTURES_SUPERVISE_WORKERS=none`, a failed spawn) returns at
    /// once.
    static func superviseIfWorker(_ launch: MPILaunch) {
        guard MPI.implementation == .mpich, launch.launcher == "Hydra", let rank = launch.rank, rank != 0 else { return }
        if let text = getenv(supervisorVariable).map({ String(cString: $0) }) {
            if let supervisor = pid_t(text), cf_die_with_supervisor(supervisor) == 0 { return }
            // Its supervisor, the process Hydra started, is gone: the job is ending.
            exit(70)
        }
        switch getenv("CLUSTERFUTURES_SUPERVISE_WORKERS").map({ String(cString: $0) }) {
        case nil, "", "auto": break
        case "none": return
        case let other?:
            cf_write_stderr("ClusterFutures: CLUSTERFUTURES_SUPERVISE_WORKERS must be auto or none, not '\(other)'\n")
            exit(70)
        }
        // By its own path, not /proc/self/exe, so that the rank keeps the program's name in ps.
        var path = [CChar](repeating: 0, count: 4097)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        let program = length > 0 ? String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/proc/self/exe"
        let child = cf_respawn_self(program, CommandLine.unsafeArgv, "\(supervisorVariable)=\(getpid())")
        guard child > 0 else {
            cf_write_stderr("ClusterFutures: rank \(rank) runs unsupervised: starting its rank process failed: \(String(cString: strerror(errno)))\n")
            return
        }
        let linger = Int32(min(Double(Int32.max), MPIDispatcher.lossTimeoutSeconds + 5))
        cf_supervise_rank(child, Int32(rank), linger)
    }
}
