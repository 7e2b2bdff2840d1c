import CClusterFuturesSystem
import Foundation
import SystemPackage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Ctrl-C (`SIGINT`) and `SIGTERM` for a program with pools, when the program left them their
/// default action: every running pool says in one line how many of its tasks were done, running
/// and never started (``WorkTally``), stops its workers as it can, and then the program ends as the
/// signal would have ended it. A program that handles or ignores these signals itself is left
/// alone. Under `mpiexec`, Hydra passes Ctrl-C on to every rank, so rank 0 reports too.
///
/// The handler hands the signal to a thread of its own, which runs the pools' reporters, and waits
/// for it in the interrupted thread, so the program's code does not go on meanwhile. It waits at
/// most 3 s: a signal that interrupts a thread holding a lock the report needs (standard error's,
/// while that thread writes to it) ends the program without the report, and the workers, whose
/// parent is gone, exit within a second.
///
/// Shared by the executors that run work elsewhere; `@_spi(ExecutorImplementation)`.
@_spi(ExecutorImplementation)
public enum StopSignals {
    /// What a pool does when a stop signal comes, given the signal's name (`"SIGINT"`).
    public typealias Reporter = @Sendable (_ signal: String) -> Void

    private static let reporters = Mutex<[Reporter]>([])

    /// Runs `reporter`, on a thread of the signal's own, when SIGINT or SIGTERM comes; installs the
    /// handlers the first time. A reporter is kept for the life of the program: a pool that may end
    /// first checks whether it still runs.
    public static func onStop(_ reporter: @escaping Reporter) {
        reporters.withLock { $0.append(reporter) }
        _ = installed
    }

    /// The name a log line gives `signal`.
    static func name(of signal: Int32) -> String {
        signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
    }

    private static let installed: Bool = {
        guard let (read, write) = try? SystemCalls.pipe() else { return false }
        guard let (doneRead, doneWrite) = try? SystemCalls.pipe() else { return false }
        guard cf_forward_stop_signals(write.rawValue, doneRead.rawValue) > 0 else {
            for descriptor in [read, write, doneRead, doneWrite] { try? descriptor.close() }
            return false
        }
        let thread = Thread {
            var byte: UInt8 = 0
            // A blocking read of the first signal; end of file or an error cannot happen while the
            // write end stays open.
            let count = try? withUnsafeMutableBytes(of: &byte) { buffer throws(SystemCallError) in
                try SystemCalls.read(read, into: buffer)
            }
            if count == 1 {
                let signal = name(of: Int32(byte))
                for reporter in reporters.withLock({ $0 }) { reporter(signal) }
            }
            // The handler, waiting in the interrupted thread, now ends the process.
            try? doneWrite.close()
        }
        thread.name = "ClusterFutures.StopSignals"
        start(thread)
        return true
    }()

    /// Starts `thread` with SIGINT and SIGTERM blocked from its first instruction (a thread inherits
    /// its creator's signal mask): a pool's own threads must never run the handler, which waits
    /// for them.
    public static func start(_ thread: Thread) {
        var set = sigset_t()
        var previous = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, &previous)
        thread.start()
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
