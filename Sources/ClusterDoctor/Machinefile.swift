/// A machinefile as MPICH's Hydra reads it (`mpiexec -f FILE`).
///
/// Each line is `host`, `host:N` or `host:N:interface`, optionally followed by `user=NAME` or
/// `binding=...`; `#` starts a comment anywhere on a line, and blank lines are skipped. A host that
/// appears on several lines is one host whose slots add up, in the order of its first line.
public struct Machinefile: Equatable, Sendable {
    /// One host of the machinefile.
    public struct Host: Equatable, Sendable {
        /// The name (or address) as written, which `ssh` and `mpiexec` are given.
        public var name: String
        /// The processes Hydra may start there (`host:N`; 1 without `:N`).
        public var slots: Int
        /// The network interface of `host:N:interface`, if any.
        public var interface: String?
        /// The `user=NAME` of its line, if any: the account `ssh` logs in as.
        public var user: String?
        /// The line (1-based) where the host first appears.
        public var line: Int

        /// A host; for tests and callers that build machinefiles themselves.
        public init(name: String, slots: Int = 1, interface: String? = nil, user: String? = nil, line: Int = 0) {
            self.name = name
            self.slots = slots
            self.interface = interface
            self.user = user
            self.line = line
        }
    }

    /// A line Hydra would refuse, with its number and why.
    public struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The line (1-based).
        public var line: Int
        /// What is wrong with it.
        public var reason: String

        /// `line N: reason`.
        public var description: String { "line \(line): \(reason)" }
    }

    /// The hosts, each once, in the order of their first line.
    public var hosts: [Host]

    /// All slots: the largest `-n` that gives every process a slot of its own.
    public var totalSlots: Int { hosts.reduce(0) { $0 + $1.slots } }

    /// A machinefile of these hosts.
    public init(hosts: [Host]) {
        self.hosts = hosts
    }

    /// Parses the text of a machinefile; throws ``SyntaxError`` for the first line Hydra would not
    /// take (a slot count that is not a positive number, an unknown `key=value`, an empty host).
    public init(parsing text: String) throws(SyntaxError) {
        var hosts: [Host] = []
        var index: [String: Int] = [:]
        // Hydra reads lines with fgets; a carriage return from a file edited on Windows is
        // whitespace to its tokenizer, so it ends a line here too ("\r\n" is one Character).
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = offset + 1
            let content = rawLine.prefix { $0 != "#" }
            let tokens = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = tokens.first else { continue }
            var host = try Self.parseHostToken(first, line: number)
            for token in tokens.dropFirst() {
                guard let equals = token.firstIndex(of: "=") else {
                    throw SyntaxError(line: number, reason: "\"\(token)\" after the host is not key=value (only user= and binding= are allowed)")
                }
                let key = token[..<equals]
                let value = String(token[token.index(after: equals)...])
                switch key {
                case "user":
                    guard !value.isEmpty else { throw SyntaxError(line: number, reason: "user= needs a name") }
                    host.user = value
                case "binding":
                    break
                default:
                    throw SyntaxError(line: number, reason: "\"\(key)=\" is not a machinefile option Hydra knows (user=, binding=)")
                }
            }
            if let existing = index[host.name] {
                hosts[existing].slots += host.slots
                if hosts[existing].user == nil { hosts[existing].user = host.user }
                if hosts[existing].interface == nil { hosts[existing].interface = host.interface }
            } else {
                index[host.name] = hosts.count
                hosts.append(host)
            }
        }
        self.hosts = hosts
    }

    /// `host`, `host:N` or `host:N:interface`.
    private static func parseHostToken(_ token: String, line: Int) throws(SyntaxError) -> Host {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let name = parts[0]
        guard parts.count <= 3, !token.contains("::") else {
            throw SyntaxError(line: line, reason: "\"\(token)\" has more than host:slots:interface (an IPv6 address cannot be written in a machinefile; use a name)")
        }
        guard !name.isEmpty else { throw SyntaxError(line: line, reason: "\"\(token)\" has no host name before the colon") }
        var slots = 1
        if parts.count >= 2 {
            guard let count = Int(parts[1]), count > 0 else {
                throw SyntaxError(line: line, reason: "\"\(parts[1])\" in \"\(token)\" is not a positive number of slots")
            }
            slots = count
        }
        var interface: String?
        if parts.count == 3 {
            guard !parts[2].isEmpty else { throw SyntaxError(line: line, reason: "\"\(token)\" ends with an empty interface name") }
            interface = parts[2]
        }
        return Host(name: name, slots: slots, interface: interface, line: line)
    }
}
