#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Durations a user sets in the environment: the bounds on start-up, finalize and a silent rank.
package enum DurationSetting {
    /// The number of seconds that environment variable `name` holds, if it holds a number in
    /// `range`; nil when it is unset or holds anything else.
    package static func seconds(_ name: String, in range: Range<Double>) -> Double? {
        guard let text = getenv(name).map({ String(cString: $0) }), let seconds = Double(text), range.contains(seconds) else {
            return nil
        }
        return seconds
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    package var inNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// The duration in seconds.
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
