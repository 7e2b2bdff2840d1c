/// The rules for a host name (RFC 952 as relaxed by RFC 1123, section 2.1): dot-separated labels of
/// ASCII letters, digits and hyphens, none starting or ending with a hyphen, each 1 to 63
/// characters, 253 in all. A hyphen inside a label is fine (`rpi-1`); an underscore is not
/// (`rpi_1`), nor is the `(none)` a Linux machine reports when no host name was ever set.
public enum HostName {
    /// What is wrong with a name.
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        /// No name at all.
        case empty
        /// `(none)`: the kernel's name before any was set.
        case unset
        /// Longer than 253 characters.
        case tooLong(Int)
        /// A label (the text between dots) longer than 63 characters.
        case labelTooLong(String)
        /// Two dots in a row, or a leading dot.
        case emptyLabel
        /// A dot at the end (`host1.`): DNS's absolute form, which ssh and Hydra treat as a
        /// different name from `host1`.
        case trailingDot
        /// A label that starts or ends with a hyphen.
        case hyphenAtEdge(String)
        /// A character other than a letter, digit, hyphen or dot.
        case invalidCharacter(Character)

        /// What is wrong, in words.
        public var description: String {
            switch self {
            case .empty: "the name is empty"
            case .unset: "\"(none)\" is what Linux reports when no host name was set"
            case .tooLong(let count): "the name has \(count) characters, more than 253"
            case .labelTooLong(let label): "the part \"\(label.prefix(20))…\" has \(label.count) characters, more than 63"
            case .emptyLabel: "the name has an empty part (two dots in a row, or a leading dot)"
            case .trailingDot: "the name ends with a dot"
            case .hyphenAtEdge(let label): "the part \"\(label)\" starts or ends with a hyphen (inside a part a hyphen is fine)"
            case .invalidCharacter(let character):
                character == "_"
                    ? "an underscore is not allowed in a host name (a hyphen is)"
                    : "\"\(character)\" is not allowed in a host name (letters, digits, inner hyphens and dots only)"
            }
        }
    }

    /// The first problem with `name`, or nil for a valid host name (an IPv4 address is one too).
    public static func problem(with name: String) -> Problem? {
        if name.isEmpty { return .empty }
        if name == "(none)" { return .unset }
        if let character = name.first(where: { !isAllowed($0) }) { return .invalidCharacter(character) }
        // Only ASCII from here on, so characters and UTF-8 bytes count the same.
        if name.utf8.count > 253 { return .tooLong(name.utf8.count) }
        if name.hasSuffix(".") { return .trailingDot }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return .emptyLabel }
            if label.utf8.count > 63 { return .labelTooLong(String(label)) }
            if label.hasPrefix("-") || label.hasSuffix("-") { return .hyphenAtEdge(String(label)) }
        }
        return nil
    }

    /// A valid name close to `name` to suggest in a fix (underscores and other characters become
    /// hyphens, edges and doubled dots are trimmed, labels cut to 63), or nil if nothing useful is
    /// left (`(none)`, an empty name).
    public static func suggestion(for name: String) -> String? {
        if name == "(none)" { return nil }
        var mapped = String(name.map { isAllowed($0) ? $0 : "-" })
        while mapped.hasSuffix(".") { mapped.removeLast() }
        let labels = mapped.split(separator: ".").map { label -> String in
            var text = String(label.prefix(63))
            while text.hasPrefix("-") { text.removeFirst() }
            while text.hasSuffix("-") { text.removeLast() }
            return text
        }.filter { !$0.isEmpty }
        let candidate = String(labels.joined(separator: ".").prefix(253))
        return problem(with: candidate) == nil && candidate != name ? candidate : nil
    }

    private static func isAllowed(_ character: Character) -> Bool {
        guard character.isASCII, let value = character.asciiValue else { return false }
        switch value {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
