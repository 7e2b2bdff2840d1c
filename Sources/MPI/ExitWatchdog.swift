import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Ends the process with a status unless cancelled in time: the bound on `MPI_Finalize`.
///
/// A thread of its own sleeps in short steps and, if the deadline passes before ``cancel()``,
/// runs its last words, flushes standard output and error and calls `_exit`: no atexit handlers
/// run, since the one that is running may be the one that is stuck.
final class ExitWatchdog: Sendable {
    /// Set by ``cancel()``; read by the watchdog's thread.
    private let cancelled = Atomic<Bool>(false)
    private let deadlineNanoseconds: Int64
    private let exitStatus: Int32
    private let lastWords: @Sendable () -> Void

    /// Starts the watchdog: the process ends with `exitStatus` after `timeout` unless cancelled,
    /// calling `lastWords` first.
    init(after timeout: Duration, exitStatus: Int32, lastWords: @escaping @Sendable () -> Void = {}) {
        self.lastWords = lastWords
        self.deadlineNanoseconds = Self.now() + timeout.inNanoseconds
        self.exitStatus = exitStatus
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<ExitWatchdog>.fromOpaque(context).takeRetainedValue().watch()
            return nil
        }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            // No thread, no bound: finalize waits as MPI_Finalize does.
            Unmanaged<ExitWatchdog>.fromOpaque(context).release()
        }
    }

    /// Stops the watchdog; the process carries on.
    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }

    private func watch() {
        while !cancelled.load(ordering: .acquiring) {
            let left = deadlineNanoseconds - Self.now()
            if left <= 0 {
                lastWords()
                fflush(nil)
                _exit(exitStatus)
            }
            var step = timespec(tv_sec: 0, tv_nsec: Int(min(left, 10_000_000)))
            nanosleep(&step, nil)
        }
    }

    /// Monotonic time in nanoseconds.
    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

}
