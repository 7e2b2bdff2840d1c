import DequeModule
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The pool's end of one worker's standard error. Everything read is passed on unchanged to the
/// pool's own standard error, so users see worker output as before; the last few lines are kept for
/// the error that reports the worker's death. Used only on the I/O thread.
///
/// The pipe can outlive its worker: whatever the worker starts inherits its standard error, as
/// children do. The I/O thread keeps reading such a pipe, so that output still reaches the user,
/// but never waits for its end of file to decide that the worker has ended.
final class WorkerStderr {
    /// At most this many lines are kept…
    static let keptLines = 8
    /// …and at most this many bytes.
    static let keptBytes = 4096

    /// The read end, non-blocking; nil once closed.
    private(set) var descriptor: FileDescriptor?
    /// The last complete lines, oldest first; blank ones are skipped.
    private var lines = Deque<[UInt8]>()
    private var lineBytes = 0
    /// The line being written, not yet ended by a newline (its last `keptBytes` only).
    private var partial: [UInt8] = []
    /// Set when the Swift runtime began its crash report: what follows is a backtrace, registers and
    /// images, and the lines before it (a `fatalError`'s message) are the ones worth keeping.
    private var inCrashReport = false

    init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    /// Reads everything available now, passes it on and keeps its last lines. Returns false once
    /// the pipe is at end of file (or broken), and then it is closed.
    @discardableResult
    func drain() -> Bool {
        guard let fd = descriptor else { return false }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { try SystemCalls.read(fd, into: $0) }
            } catch {
                close()
                return false
            }
            guard let count else { return true }
            if count == 0 {
                close()
                return false
            }
            buffer.withUnsafeBytes { SystemCalls.writeAll(.standardError, UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            keep(buffer[..<count])
        }
    }

    /// The last lines written, at most ``keptLines`` and ``keptBytes``, joined by newlines; nil when
    /// nothing was written.
    var lastLines: String? {
        var kept = Array(lines)
        if !inCrashReport, !isBlank(partial[...]) { kept.append(partial) }
        while kept.count > Self.keptLines { kept.removeFirst() }
        var text = kept.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
        if text.utf8.count > Self.keptBytes { text = String(decoding: text.utf8.suffix(Self.keptBytes), as: UTF8.self) }
        return text.isEmpty ? nil : text
    }

    func close() {
        try? descriptor?.close()
        descriptor = nil
    }

    private func keep(_ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            partial.append(contentsOf: rest[..<newline])
            endLine()
            rest = rest[(newline + 1)...]
        }
        partial.append(contentsOf: rest)
        if partial.count > Self.keptBytes { partial.removeFirst(partial.count - Self.keptBytes) }
    }

    private func endLine() {
        defer { partial.removeAll(keepingCapacity: true) }
        var line = partial[...]
        while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") { line.removeLast() }
        if inCrashReport || isBlank(line) { return }
        // "*** Signal 4: Backtracing from 0x… done ***", then "*** Program crashed: …".
        if line.starts(with: Array("*** Signal ".utf8)) || line.starts(with: Array("*** Program crashed".utf8))
            || line.starts(with: Array("💣 Program crashed".utf8)) {
            inCrashReport = true
            return
        }
        lines.append(Array(line))
        lineBytes += line.count
        while lines.count > Self.keptLines || (lineBytes > Self.keptBytes && lines.count > 1), let first = lines.popFirst() {
            lineBytes -= first.count
        }
    }

    private func isBlank(_ line: ArraySlice<UInt8>) -> Bool {
        line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }
}
