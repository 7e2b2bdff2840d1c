import CClusterFuturesSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How many CPUs this process can really use: its affinity mask, capped by a cgroup CPU quota
/// (containers and batch schedulers set one), and never less than 1.
@_spi(ExecutorImplementation)
public enum UsableCPUs {
    /// The CPUs this process may use: its affinity mask, limited by a cgroup CPU quota.
    public static var count: Int {
        var usable = affinity.count
        if usable == 0 { usable = online }
        if let quota = cgroupQuota { usable = min(usable, quota) }
        return max(usable, 1)
    }

    /// The CPUs the calling thread may run on (its affinity mask), lowest first; empty when the
    /// mask cannot be read.
    public static var affinity: [Int] {
        let capacity = 4096
        var cpus = [Int32](repeating: 0, count: capacity)
        let count = cf_affinity_cpus(&cpus, Int32(capacity))
        return count > 0 ? cpus.prefix(Int(count)).map(Int.init) : []
    }

    /// The CPUs the host has online.
    public static var online: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// The CPU quota of this process's cgroup, rounded up, or nil when there is none.
    static var cgroupQuota: Int? {
        // cgroup v2: "max 100000" or "150000 100000" (quota and period in microseconds).
        if let line = readFirstLine("/sys/fs/cgroup/cpu.max") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]), period > 0 {
                return max(1, (quota + period - 1) / period)
            }
            return nil
        }
        // cgroup v1: quota -1 means none.
        if let quotaLine = readFirstLine("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
           let periodLine = readFirstLine("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
           let quota = Int(quotaLine), let period = Int(periodLine), quota > 0, period > 0 {
            return max(1, (quota + period - 1) / period)
        }
        return nil
    }

    private static func readFirstLine(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let bytes = buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
