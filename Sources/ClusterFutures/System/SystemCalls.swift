import CClusterFuturesSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A system call that failed, with its name and `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var errno: Errno

    var description: String { "\(call) failed: \(errno)" }
}

/// Every system call the process pool makes goes through here: `EINTR` is retried, `EAGAIN` is
/// reported as "not now" (nil), and failures become ``SystemCallError``s.
enum SystemCalls {
    /// Runs `body` until it does not fail with `EINTR`; -1 becomes a thrown error.
    @inline(__always)
    private static func retrying<R: BinaryInteger>(_ call: String, _ body: () -> R) throws(SystemCallError) -> R {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Errno(rawValue: Glibc.errno)
            if error == .interrupted { continue }
            throw SystemCallError(call: call, errno: error)
        }
    }

    /// A pipe whose two ends are close-on-exec.
    static func pipe() throws(SystemCallError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        _ = try retrying("pipe2") { cf_pipe_cloexec(&fds) }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    static func setNonBlocking(_ fd: FileDescriptor) throws(SystemCallError) {
        let flags = try retrying("fcntl(F_GETFL)") { fcntl(fd.rawValue, F_GETFL) }
        _ = try retrying("fcntl(F_SETFL)") { fcntl(fd.rawValue, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Sets close-on-exec on `fd`, so that nothing the process starts inherits it.
    static func setCloseOnExec(_ fd: FileDescriptor) throws(SystemCallError) {
        _ = try retrying("fcntl(F_SETFD)") { cf_set_close_on_exec(fd.rawValue) }
    }

    /// A descriptor that becomes readable (`POLLIN`) when process `pid`, a child not yet reaped,
    /// has ended (`pidfd_open`); nil where there is none (ENOSYS before Linux 5.3, a sandbox that
    /// refuses it, or a process already gone), and then the caller relies on other signs.
    static func processDescriptor(_ pid: pid_t) -> FileDescriptor? {
        guard let fd = try? retrying("pidfd_open", { cf_pidfd_open(pid) }) else { return nil }
        return FileDescriptor(rawValue: fd)
    }

    /// Writes all of `bytes`, waiting while a non-blocking descriptor is full; gives up silently on
    /// an error (a closed standard error, say), as there is nobody to tell.
    static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            let written: Int?
            do {
                written = try write(fd, [rest])
            } catch {
                return
            }
            guard let written else {
                var descriptor = [pollfd(fd: fd.rawValue, events: Int16(POLLOUT), revents: 0)]
                guard (try? poll(&descriptor, timeout: -1)) != nil else { return }
                continue
            }
            if written == 0 { return }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
    }

    /// Whether `fd` is a terminal (`isatty`).
    static func isTerminal(_ fd: FileDescriptor) -> Bool {
        isatty(fd.rawValue) == 1
    }

    /// The width in columns of the terminal `fd` is, or nil when it is not a terminal or does not say.
    static func terminalColumns(_ fd: FileDescriptor) -> Int? {
        let columns = Int(cf_terminal_columns(fd.rawValue))
        return columns > 0 ? columns : nil
    }

    /// Waits, at most `limit`, until the reader of the pipe `fd` has read everything written to it,
    /// checking every millisecond; returns at once when `fd` is not a pipe.
    ///
    /// A launcher such as `mpiexec` reads a program's standard output and standard error from two
    /// pipes and passes on whichever it finds ready first: a line written to one just after a line
    /// written to the other can reach the terminal before it, unless the first was read already.
    static func waitUntilRead(_ fd: FileDescriptor, atMost limit: Duration) {
        let deadline = ContinuousClock.now + limit
        while cf_pipe_unread_bytes(fd.rawValue) > 0 && ContinuousClock.now < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            _ = nanosleep(&pause, nil)
        }
    }

    /// Asks for a larger pipe buffer; a refusal is harmless, so it is ignored.
    static func growPipe(_ fd: FileDescriptor, to bytes: Int32) {
        _ = cf_set_pipe_size(fd.rawValue, bytes)
    }

    /// Reads what is available into `buffer`: the count, 0 at end of file, or nil when nothing is
    /// available now (non-blocking descriptor).
    static func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        while true {
            let count = Glibc.read(fd.rawValue, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            let error = Errno(rawValue: Glibc.errno)
            if error == .interrupted { continue }
            if error == .wouldBlock || error == .resourceTemporarilyUnavailable { return nil }
            throw SystemCallError(call: "read", errno: error)
        }
    }

    /// Writes as much of `segments` as the descriptor takes now: the count, or nil when it takes
    /// nothing (non-blocking descriptor).
    static func write(_ fd: FileDescriptor, _ segments: [UnsafeRawBufferPointer]) throws(SystemCallError) -> Int? {
        var vectors = segments.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        while true {
            let count = vectors.withUnsafeMutableBufferPointer { writev(fd.rawValue, $0.baseAddress, Int32($0.count)) }
            if count >= 0 { return count }
            let error = Errno(rawValue: Glibc.errno)
            if error == .interrupted { continue }
            if error == .wouldBlock || error == .resourceTemporarilyUnavailable { return nil }
            throw SystemCallError(call: "writev", errno: error)
        }
    }

    /// Waits for events on `descriptors`; `timeout` in milliseconds, -1 for none. Returns how many
    /// descriptors have events.
    @discardableResult
    static func poll(_ descriptors: inout [pollfd], timeout: Int32) throws(SystemCallError) -> Int {
        try retrying("poll") {
            descriptors.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeout) }
        }.asInt
    }

    /// As ``poll(_:timeout:)`` with a timeout of any precision (`ppoll`); nil waits without limit.
    @discardableResult
    static func poll(_ descriptors: inout [pollfd], timeout: Duration?) throws(SystemCallError) -> Int {
        let nanoseconds = Int64(timeout.map { max($0, .zero).clampedNanoseconds } ?? -1)
        return try retrying("ppoll") {
            descriptors.withUnsafeMutableBufferPointer { cf_poll_nanoseconds($0.baseAddress, UInt($0.count), nanoseconds) }
        }.asInt
    }

    /// Blocks until `fd` is readable or closed at the other end.
    static func waitReadable(_ fd: FileDescriptor) throws(SystemCallError) {
        var descriptor = [pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)]
        try poll(&descriptor, timeout: -1)
    }

    /// The status of a child that has exited, or nil while it runs (`WNOHANG`).
    static func reap(_ pid: pid_t, block: Bool) throws(SystemCallError) -> Int32? {
        var status: Int32 = 0
        let result = try retrying("waitpid") { waitpid(pid, &status, block ? 0 : WNOHANG) }
        return result == 0 ? nil : status
    }

    /// Sends `signal` to `pid`; a process that is already gone is not an error.
    static func signal(_ pid: pid_t, _ signal: Int32) {
        _ = kill(pid, signal)
    }

    /// A new anonymous shared-memory file of `size` bytes (`memfd_create`), or nil where there is
    /// none (see `cf_memfd`).
    static func sharedMemory(name: String, size: Int) -> FileDescriptor? {
        let fd = cf_memfd(name, size)
        return fd >= 0 ? FileDescriptor(rawValue: fd) : nil
    }

    /// Maps `size` bytes of `fd`, shared and read-write; nil when it cannot be mapped.
    static func mapShared(_ fd: FileDescriptor, size: Int) -> UnsafeMutableRawPointer? {
        cf_map_shared(fd.rawValue, size)
    }

    /// Unmaps a mapping made by ``mapShared(_:size:)``.
    static func unmap(_ base: UnsafeMutableRawPointer, size: Int) {
        _ = munmap(base, size)
    }

    /// Starts a worker process (see `cf_spawn_worker`).
    static func spawnWorker(
        path: String, arguments: [String], environment: [String],
        input: FileDescriptor, output: FileDescriptor,
        taskArena: FileDescriptor?, resultArena: FileDescriptor?, errorOutput: FileDescriptor?
    ) throws(SystemCallError) -> pid_t {
        var pid: pid_t = 0
        let error = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                cf_spawn_worker(path, argv, envp, input.rawValue, output.rawValue,
                                taskArena?.rawValue ?? -1, resultArena?.rawValue ?? -1,
                                errorOutput?.rawValue ?? -1, &pid)
            }
        }
        guard error == 0 else { throw SystemCallError(call: "posix_spawn(\(path))", errno: Errno(rawValue: error)) }
        return pid
    }

    /// Calls `body` with a NULL-terminated array of C strings.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}

/// An eventfd that one thread signals to wake another from `poll`.
@_spi(ExecutorImplementation)
public final class WakeSignal: Sendable {
    let descriptor: FileDescriptor

    /// A new, unsignalled eventfd.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/brokenExecutor`` when the process is out of
    ///   descriptors.
    public init() throws(ClusterFuturesError) {
        let fd = cf_eventfd()
        guard fd >= 0 else {
            throw ClusterFuturesError(.brokenExecutor, "\(SystemCallError(call: "eventfd", errno: Errno(rawValue: Glibc.errno)))")
        }
        descriptor = FileDescriptor(rawValue: fd)
    }

    deinit { try? descriptor.close() }

    /// Wakes the waiting thread, now or at its next wait.
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(descriptor.rawValue, &one, 8)
    }

    /// Clears the signal.
    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(descriptor.rawValue, &value, 8)
    }

    /// Sleeps until signalled or until `timeout` passes (nil: no limit); clears the signal and
    /// returns true if it was signalled.
    @discardableResult
    public func wait(timeout: Duration?) -> Bool {
        var descriptors = [pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
        _ = try? SystemCalls.poll(&descriptors, timeout: timeout)
        guard descriptors[0].revents != 0 else { return false }
        drain()
        return true
    }
}

/// How a child process ended, for messages.
package struct ExitStatus: CustomStringConvertible {
    /// The wait status, or nil when the program reaps its children itself (`SIGCHLD` ignored or
    /// handled), which leaves none to collect.
    package let raw: Int32?

    /// The status `raw` from `waitpid`.
    package init(raw: Int32?) {
        self.raw = raw
    }

    var signal: Int32? {
        guard let raw else { return nil }
        let signal = raw & 0x7f
        return signal != 0 && signal != 0x7f ? signal : nil
    }

    var exitCode: Int32? {
        guard let raw, signal == nil else { return nil }
        return (raw >> 8) & 0xff
    }

    package var description: String {
        if let signal {
            let name = cf_signal_name(signal).map { "SIG" + String(cString: $0) } ?? "an unknown signal"
            return "signal \(signal) (\(name))"
        }
        if let exitCode { return "exit status \(exitCode)" }
        return "an unknown status (this program reaps its child processes itself, so the status was not kept)"
    }
}

extension BinaryInteger {
    var asInt: Int { Int(truncatingIfNeeded: self) }
}
