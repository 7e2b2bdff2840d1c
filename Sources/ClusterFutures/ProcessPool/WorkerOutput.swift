import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A worker's frames to the pool: its loop's (hello, ready, results) and the log records any
/// thread of a task makes. One writer behind one lock, so frames never interleave, and each write
/// finishes (waiting for the pipe to drain) before the lock is released: a record logged during a
/// long task reaches the pool while the task runs, and before the task's result.
final class WorkerOutput: Sendable {
    private let writer: Mutex<FrameWriter>
    private let output: FileDescriptor

    /// Frames to `output`, large payloads through `arena` when it is free.
    init(output: FileDescriptor, arena: SharedArena?) {
        self.output = output
        self.writer = Mutex(FrameWriter(arena: arena))
    }

    /// Queues a frame, to leave with the next ``flush()`` or ``send(_:id:payload:)``.
    func enqueue(_ kind: FrameKind, id: UInt64, payload: [UInt8]) {
        writer.withLock { $0.enqueue(kind, id: id, payload: payload) }
    }

    /// Writes everything queued, waiting for the pipe to drain when it must.
    func flush() throws {
        try writer.withLock { writer in try Self.flushBlocking(writer, to: output) }
    }

    /// Queues a frame and writes everything queued.
    func send(_ kind: FrameKind, id: UInt64, payload: [UInt8]) throws {
        try writer.withLock { writer in
            writer.enqueue(kind, id: id, payload: payload)
            try Self.flushBlocking(writer, to: output)
        }
    }

    private static func flushBlocking(_ writer: FrameWriter, to output: FileDescriptor) throws {
        while try !writer.flush(to: output) {
            var descriptor = [pollfd(fd: output.rawValue, events: Int16(POLLOUT), revents: 0)]
            try SystemCalls.poll(&descriptor, timeout: -1)
        }
    }
}
