import CClusterFuturesSystem
import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Ctrl-C (`SIGINT`) and `SIGTERM` for a program with process pools, when the program left them
/// their default action: every running pool says in one line how many of its tasks were done,
/// running and never started, stops its workers, and then the program ends as the signal would
/// have ended it. A program that handles or ignores these signals itself is left alone.
///
/// The handler only writes the signal's number to a pipe; a thread of its own does the rest.
enum StopSignals {
    /// Installs the handlers once, the first time a pool starts.
    static func watch() {
        _ = installed
    }

    private static let installed: Bool = {
        guard let (read, write) = try? SystemCalls.pipe() else { return false }
        guard cf_forward_stop_signals(write.rawValue) > 0 else {
            try? read.close()
            try? write.close()
            return false
        }
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                // A blocking read: one byte per signal; end of file or an error cannot happen
                // while the write end stays open, and would end the thread.
                let count = try? withUnsafeMutableBytes(of: &byte) { buffer throws(SystemCallError) in
                    try SystemCalls.read(read, into: buffer)
                }
                guard count == 1 else { return }
                ProcessPoolEngine.stopEveryPool(signal: Int32(byte))
                cf_reraise_with_default_action(Int32(byte))
            }
        }
        thread.name = "ClusterFutures.StopSignals"
        thread.start()
        return true
    }()
}
