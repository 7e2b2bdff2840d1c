#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The fatal signals (`SIGILL`, which Swift's traps raise on x86, `SIGTRAP`, `SIGSEGV`, `SIGBUS`,
/// `SIGFPE`, `SIGABRT`) and who handles them.
///
/// UCX, under MPICH, installs a handler for them as its library loads, whether or not MPI ever
/// starts. It prints `Caught signal 4 (Illegal instruction)` and a backtrace of raw addresses after
/// Swift's own message (`Fatal error: ...`), burying it. Its setting `UCX_HANDLE_ERRORS=none` is
/// read as the library loads, which is before any of the program's code runs, so a program
/// cannot set it for itself. ``MPI/initialize(threadLevel:)`` takes them back as MPI starts, and the
/// MPI pool's bootstrap in every program that links it, whether it runs under `mpiexec` or not.
package enum FatalSignals {
    /// The signals UCX takes.
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    /// Puts back the default action for each fatal signal whose handler lies in UCX's library
    /// (`libucs`), unless the user set `UCX_HANDLE_ERRORS` and so asked for UCX's handling.
    /// Handlers of anyone else are left alone.
    package static func takeBackFromUCX() {
        #if os(Linux)
        guard getenv("UCX_HANDLE_ERRORS") == nil else { return }
        let ranges = loadedRanges(ofLibrary: "libucs.so")
        guard !ranges.isEmpty else { return }
        for signal in signals {
            var current = sigaction()
            guard sigaction(signal, nil, &current) == 0 else { continue }
            let address = UInt(bitPattern: unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self))
            guard ranges.contains(where: { $0.contains(address) }) else { continue }
            var restored = sigaction()
            restored.__sigaction_handler.sa_handler = SIG_DFL
            sigemptyset(&restored.sa_mask)
            _ = sigaction(signal, &restored, nil)
        }
        #endif
    }

    /// The address ranges where a library whose file name contains `name` is mapped, from
    /// `/proc/self/maps` (lines such as `7f..-7f.. r-xp 0 08:01 123 /lib/.../libucs.so.0.0.0`).
    static func loadedRanges(ofLibrary name: String) -> [ClosedRange<UInt>] {
        let maps = String(decoding: ProcFiles.contents(of: "/proc/self/maps", atMost: 64 << 20), as: UTF8.self)
        var ranges: [ClosedRange<UInt>] = []
        for line in maps.split(separator: "\n") where line.contains(name) {
            guard let dash = line.firstIndex(of: "-"),
                  let space = line[dash...].firstIndex(of: " "),
                  let low = UInt(line[..<dash], radix: 16),
                  let high = UInt(line[line.index(after: dash)..<space], radix: 16), low < high else { continue }
            ranges.append(low...(high - 1))
        }
        return ranges
    }
}
