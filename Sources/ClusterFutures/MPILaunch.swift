#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the environment says about an MPI launcher that started this process: Hydra (MPICH's
/// `mpiexec`), Open MPI's `mpirun`, a PMIx launcher, or Slurm's `srun`.
///
/// Read without initializing MPI, so that a program can decide cheaply whether to use it. The
/// sizes a launcher reports are a hint: the world MPI builds is what counts.
public struct MPILaunch: Sendable, Hashable, CustomStringConvertible {
    /// The launcher, such as `"Hydra"`.
    public var launcher: String
    /// This process's rank, if the launcher says.
    public var rank: Int?
    /// The number of processes started, if the launcher says.
    public var size: Int?
    /// The variables it was recognised by, as `NAME=value`.
    public var evidence: [String]

    /// Creates a description of a launch.
    public init(launcher: String, rank: Int?, size: Int?, evidence: [String]) {
        self.launcher = launcher
        self.rank = rank
        self.size = size
        self.evidence = evidence
    }

    /// For logs: `Hydra (PMI_RANK=0, PMI_SIZE=4)`.
    public var description: String { "\(launcher) (\(evidence.joined(separator: ", ")))" }

    /// The launch this process was started by, or nil when no launcher's variables are set.
    public static var current: MPILaunch? {
        detect { name in getenv(name).map { String(cString: $0) } }
    }

    /// The launch described by `variable`, a lookup of environment variables by name.
    public static func detect(_ variable: (String) -> String?) -> MPILaunch? {
        // (launcher, rank variable, size variable), most specific first: Open MPI and srun with
        // PMI2 also set PMI_* or PMIX_*.
        let launchers: [(String, String, String?)] = [
            ("Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
            ("Hydra", "PMI_RANK", "PMI_SIZE"),
            ("PMIx", "PMIX_RANK", nil),
            ("Slurm", "SLURM_PROCID", "SLURM_NTASKS"),
        ]
        for (launcher, rankName, sizeName) in launchers {
            guard let rankValue = variable(rankName) else { continue }
            var evidence = ["\(rankName)=\(rankValue)"]
            let sizeValue = sizeName.flatMap { name in variable(name).map { (name, $0) } }
            if let (name, value) = sizeValue { evidence.append("\(name)=\(value)") }
            return MPILaunch(launcher: launcher, rank: Int(rankValue), size: sizeValue.flatMap { Int($0.1) },
                             evidence: evidence)
        }
        return nil
    }

    /// Whether the launcher started more than one process (or did not say how many).
    public var mayHaveWorkers: Bool { size.map { $0 > 1 } ?? true }
}
