import CClusterFuturesSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Shared memory between the pool and one worker, in one direction, for large payloads: the sender
/// copies a payload in and sends only a frame header through the pipe; the receiver copies it out
/// and releases the arena. This skips the pipe's two kernel copies and its page-by-page buffer
/// allocation, which dominate for messages of megabytes.
///
/// The first 64 bytes hold a busy word (and, in the pool-to-worker arena, the ``TaskClaim`` word
/// at offset 8). A sender claims the arena with compare-and-swap and, when it
/// is still busy with the previous payload, sends inline through the pipe instead: nobody ever
/// waits on an arena. The pipe write and read that carry the header order the payload's bytes.
// @unchecked Sendable: the mapping is shared on purpose with another process; within this one it
// is used only by the thread that owns the frame reader or writer holding it.
final class SharedArena: @unchecked Sendable {
    /// Payloads at least this large go through an arena when it is free.
    static let threshold = 64 * 1024
    private static let headerSize = 64

    private let base: UnsafeMutableRawPointer
    private let size: Int

    /// The claim word in the arena's header (bytes 8 to 15), through which the pool takes back
    /// tasks sent ahead to the worker; used in the pool-to-worker arena only.
    var taskClaim: TaskClaim { TaskClaim(word: base + 8) }

    /// The largest payload the arena holds.
    var capacity: Int { size - Self.headerSize }

    /// Maps the arena behind `fd`; nil when it cannot be mapped.
    init?(mapping fd: FileDescriptor, size: Int) {
        guard size > Self.headerSize, let base = SystemCalls.mapShared(fd, size: size) else { return nil }
        self.base = base
        self.size = size
    }

    deinit { SystemCalls.unmap(base, size: size) }

    /// A new arena of `capacity` bytes and the descriptor to hand the worker; nil when shared memory
    /// is not available.
    static func create(name: String, capacity: Int) -> (arena: SharedArena, fd: FileDescriptor)? {
        let size = capacity + headerSize
        guard let fd = SystemCalls.sharedMemory(name: name, size: size) else { return nil }
        guard let arena = SharedArena(mapping: fd, size: size) else {
            try? fd.close()
            return nil
        }
        return (arena, fd)
    }

    /// Copies `segments` into the arena if it is free and they fit. Returns false when the payload
    /// must go inline instead.
    func put(_ segments: [[UInt8]], length: Int) -> Bool {
        guard length >= Self.threshold, length <= capacity, cf_arena_claim(base) != 0 else { return false }
        var offset = Self.headerSize
        for segment in segments {
            segment.withUnsafeBytes { raw in
                guard let source = raw.baseAddress else { return }
                (base + offset).copyMemory(from: source, byteCount: raw.count)
            }
            offset += segment.count
        }
        return true
    }

    /// Copies out a payload of `length` bytes the other side put in, and releases the arena.
    func take(length: Int) throws -> [UInt8] {
        guard length <= capacity else {
            throw FrameError(description: "corrupt frame: \(length) bytes announced in a shared arena of \(capacity)")
        }
        defer { cf_arena_release(base) }
        let source = UnsafeRawPointer(base + Self.headerSize)
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            if let destination = buffer.baseAddress { UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: length) }
            count = length
        }
    }
}
