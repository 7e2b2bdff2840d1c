import ClusterFutures
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sleeps for its input in microseconds, then returns it: durations that vary per input.
public struct SleepMicroseconds: RemoteFunction {
    public init() {}
    public func callAsFunction(_ microseconds: Int) -> Int {
        var request = timespec(tv_sec: microseconds / 1_000_000, tv_nsec: (microseconds % 1_000_000) * 1_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
        return microseconds
    }
}

/// A line for ``AppendLine`` to write, and the file.
public struct LineToAppend: Codable, Sendable, Hashable {
    public var path: String
    public var line: String
    public var delayMilliseconds: Int
    public init(path: String, line: String, delayMilliseconds: Int = 0) {
        self.path = path
        self.line = line
        self.delayMilliseconds = delayMilliseconds
    }
}

/// Waits, then appends a line to a file: work whose effect outlives the program that submitted it,
/// for the tests of what happens to pending work at exit.
public struct AppendLine: RemoteFunction {
    public init() {}
    public func callAsFunction(_ request: LineToAppend) -> Bool {
        usleepMilliseconds(request.delayMilliseconds)
        let descriptor = open(request.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let bytes = Array((request.line + "\n").utf8)
        return bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == bytes.count
    }
}

/// The CPU time this process has used so far, user and system, all threads.
public func processCPUTime() -> Duration {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func duration(_ time: timeval) -> Duration { .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec)) }
    return duration(usage.ru_utime) + duration(usage.ru_stime)
}
