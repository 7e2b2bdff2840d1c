import CClusterFuturesSystem
@_spi(ExecutorImplementation) import ClusterFutures
import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether each worker rank is bound to a CPU of its own: the `CLUSTERFUTURES_BIND_WORKERS`
/// setting, and the one rule that places the worker ranks of a host.
///
/// Worker ranks poll MPI, which has no wait that leaves the core free. Polling ranks that are not
/// bound wake wherever a CPU is idle, and two of them often share one; when long tasks then arrive,
/// both compute on that CPU in turns while the other CPU idles, until the kernel moves one, a few
/// milliseconds later. (Traced on 2 CPUs under `mpiexec -n 3`: the worker ranks waited 2-6 ms of
/// every 38 ms pi map for their turn. Bound, the median of 32 pi maps went from 1.77 to 1.82 times
/// the serial speed, and the slowest tenth from 1.63 to 1.77.)
/// Open MPI binds ranks by default, and MPICH's Hydra does with `-bind-to core`; under a plain
/// `mpiexec` the pool binds its worker ranks itself, when there is a CPU for each.
enum WorkerBinding: Equatable, Sendable {
    /// One CPU per worker rank, when the launcher left the ranks unbound and the host has a CPU for
    /// each worker rank on it; otherwise ranks are left as they are.
    case automatic
    /// Never bind.
    case none

    /// The environment variable that chooses: `auto` (the default) or `none`.
    static let environmentVariable = "CLUSTERFUTURES_BIND_WORKERS"

    /// The setting in the environment; throws for a value that is neither `auto` nor `none`.
    static func fromEnvironment() throws(ClusterFuturesError) -> WorkerBinding {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }) else { return .automatic }
        switch value.lowercased() {
        case "", "auto": return .automatic
        case "none": return .none
        default:
            throw ClusterFuturesError(.invalidArgument,
                "\(environmentVariable) must be auto or none, not '\(value)'")
        }
    }

    /// The CPU for worker `index` (0-based, in world-rank order) of the `workersHere` worker ranks on
    /// this host, or nil to leave it unbound.
    ///
    /// - Parameters:
    ///   - usable: the CPUs the rank may run on now (its affinity mask), lowest first.
    ///   - online: the CPUs the host has online. A mask with fewer means the launcher, a batch
    ///     system or the user has placed the rank already, and that placement stands.
    ///
    /// The workers take the highest CPUs, one each, so that on a host with a CPU to spare, rank 0
    /// (never bound) finds the lowest one free.
    func cpu(forWorker index: Int, of workersHere: Int, usable: [Int], online: Int) -> Int? {
        guard self == .automatic, index >= 0, index < workersHere,
              usable.count >= workersHere, usable.count >= online else { return nil }
        return usable[usable.count - workersHere + index]
    }

    /// Decides, on every rank of `world` together (it is collective), where this rank runs: a worker
    /// rank is bound to its CPU before it serves, so the threads it starts run there too; rank 0 is
    /// never bound. Returns the CPU this rank was bound to, if any. Binding only saves time: when
    /// MPI cannot say which ranks share the host, every rank says so and runs unbound.
    @discardableResult
    func apply(on world: Communicator) -> Int? {
        // Every rank takes part, whatever the setting: the split is collective.
        let ranksHere: [Int]
        do {
            let host = try world.split(type: .sharedMemory, key: world.rank)
            ranksHere = try host.allGather(world.rank)
            try host.free()
        } catch {
            cf_write_stderr("ClusterFutures: MPI rank \(world.rank) runs unbound: the ranks on its host could not be found: \(error)\n")
            return nil
        }
        let workersHere = ranksHere.filter { $0 != 0 }
        guard world.rank != 0, let index = workersHere.firstIndex(of: world.rank) else { return nil }
        guard let cpu = cpu(forWorker: index, of: workersHere.count, usable: UsableCPUs.affinity, online: UsableCPUs.online) else {
            return nil
        }
        let error = cf_bind_thread_to_cpu(Int32(cpu))
        guard error == 0 else {
            // Running unbound is slower at worst: say so, and serve.
            cf_write_stderr("ClusterFutures: MPI worker rank \(world.rank) could not be bound to CPU \(cpu): \(String(cString: strerror(error)))\n")
            return nil
        }
        return cpu
    }
}
