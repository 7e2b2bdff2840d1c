import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Looks a host name up as this machine's programs do (`getaddrinfo`: `/etc/hosts`, DNS, ...),
/// with a deadline: a slow DNS server must not hold the doctor up.
public enum Resolver {
    /// What the lookup gave.
    public enum Outcome: Equatable, Sendable {
        /// The first address (IPv4 before IPv6), numeric.
        case address(String)
        /// The lookup failed, with `gai_strerror`'s reason.
        case failed(String)
        /// No answer before the deadline.
        case timedOut
    }

    /// Resolves `name`, giving up at `deadline`.
    public static func resolve(_ name: String, until deadline: ContinuousClock.Instant) async -> Outcome {
        let pending = Pending()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            pending.state.withLock { $0 = continuation }
            // The lookup blocks its thread, maybe past the deadline: a thread of its own, left
            // behind if it does.
            Thread.detachNewThread { pending.finish(lookUp(name)) }
            Thread.detachNewThread {
                let clock = ContinuousClock()
                while clock.now < deadline, pending.state.withLock({ $0 != nil }) {
                    Thread.sleep(forTimeInterval: 0.02)
                }
                pending.finish(.timedOut)
            }
        }
    }

    /// The continuation of a lookup, resumed by whichever comes first: the answer or the deadline.
    private final class Pending: Sendable {
        let state = Mutex<CheckedContinuation<Outcome, Never>?>(nil)

        func finish(_ outcome: Outcome) {
            state.withLock { continuation in
                continuation?.resume(returning: outcome)
                continuation = nil
            }
        }
    }

    /// `getaddrinfo` on the calling thread.
    public static func lookUp(_ name: String) -> Outcome {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let error = getaddrinfo(name, nil, &hints, &list)
        guard error == 0 else { return .failed(String(cString: gai_strerror(error))) }
        defer { freeaddrinfo(list) }
        var addresses: [(family: Int32, text: String)] = []
        var next = list
        while let entry = next {
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = entry.pointee.ai_addr,
               getnameinfo(address, entry.pointee.ai_addrlen, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = host.withUnsafeBufferPointer { buffer in
                    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                addresses.append((entry.pointee.ai_family, text))
            }
            next = entry.pointee.ai_next
        }
        if let v4 = addresses.first(where: { $0.family == AF_INET }) { return .address(v4.text) }
        if let any = addresses.first { return .address(any.text) }
        return .failed("no address")
    }
}
