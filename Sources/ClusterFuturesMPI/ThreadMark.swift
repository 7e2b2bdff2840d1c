#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells whether the calling thread is inside a scope marked with ``marking(_:)``, for the cost of
/// a thread-specific load (a POSIX thread key) rather than a lock or a lookup by thread.
final class ThreadMark: Sendable {
    /// Nil when the system had no key left: then no thread is ever marked.
    private let key: pthread_key_t?

    init() {
        var key = pthread_key_t()
        self.key = pthread_key_create(&key, nil) == 0 ? key : nil
    }

    deinit {
        if let key { pthread_key_delete(key) }
    }

    /// Whether the calling thread is inside ``marking(_:)``.
    var isMarked: Bool {
        guard let key else { return false }
        return pthread_getspecific(key) != nil
    }

    /// Runs `body` with the calling thread marked; nests.
    func marking<R>(_ body: () throws -> R) rethrows -> R {
        guard let key else { return try body() }
        let outer = pthread_getspecific(key)
        // Any non-nil pointer marks the thread; it is never dereferenced.
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, outer) }
        return try body()
    }
}
