import Foundation

/// Which MPI a host has: the implementation and its version, as `mpichversion` or
/// `mpiexec --version` print them.
public struct MPIIdentity: Equatable, Sendable, CustomStringConvertible {
    /// `MPICH`, `Open MPI`, `Intel MPI`, or `unknown`.
    public var implementation: String
    /// The version (`4.0.2`), or the first line printed when the implementation is unknown.
    public var version: String

    /// An identity.
    public init(implementation: String, version: String) {
        self.implementation = implementation
        self.version = version
    }

    /// `MPICH 4.0.2`.
    public var description: String { "\(implementation) \(version)" }

    /// Reads the output of `mpichversion` (`MPICH Version:   4.0.2`) or of `mpiexec --version`
    /// (Open MPI: `mpiexec (OpenRTE) 4.1.2` or `mpiexec (Open MPI) 5.0.3`; MPICH's Hydra:
    /// `HYDRA build details:` then `Version: 4.0.2`; Intel: `Intel(R) MPI Library ..., Version
    /// 2021.6 ...`). Nil when there is no line at all.
    public static func parse(_ output: String) -> MPIIdentity? {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard let first = lines.first else { return nil }
        for (index, line) in lines.enumerated() {
            if let version = line.value(after: "MPICH Version:") {
                return MPIIdentity(implementation: "MPICH", version: version)
            }
            for marker in ["(Open MPI)", "(OpenRTE)"] {
                if let version = line.value(after: marker) {
                    return MPIIdentity(implementation: "Open MPI", version: version)
                }
            }
            if line.hasPrefix("HYDRA build details") {
                for later in lines.dropFirst(index + 1) {
                    if let version = later.value(after: "Version:") {
                        return MPIIdentity(implementation: "MPICH", version: version)
                    }
                }
            }
            if line.hasPrefix("Intel(R) MPI Library"), let version = line.value(after: "Version") {
                return MPIIdentity(implementation: "Intel MPI", version: version)
            }
        }
        return MPIIdentity(implementation: "unknown", version: String(first.prefix(60)))
    }
}

extension StringProtocol {
    /// Without spaces and tabs at either end.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...last])
    }

    /// The first word after `marker` (and any spaces or commas), if the line has the marker.
    func value(after marker: String) -> String? {
        guard let range = range(of: marker) else { return nil }
        let rest = self[range.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "," }
        let word = rest.prefix { $0 != " " && $0 != "\t" && $0 != "," }
        return word.isEmpty ? nil : String(word)
    }
}
