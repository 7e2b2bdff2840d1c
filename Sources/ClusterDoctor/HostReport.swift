import Foundation

/// What one host says about itself, in answer to ``HostReport/script(program:withChecksum:)`` run
/// by its shell: its name, its MPI, the state of the program, and the first bytes of the program.
public struct HostReport: Equatable, Sendable {
    /// The state of the program file on the host.
    public enum ProgramState: String, Equatable, Sendable {
        /// A readable, executable file.
        case ok
        /// Nothing at that path.
        case missing
        /// A directory at that path.
        case directory
        /// A file that cannot be read.
        case unreadable
        /// A file without execute permission.
        case notExecutable = "not-executable"
    }

    /// The host's own name (`uname -n`).
    public var nodeName: String?
    /// Its MPI, or nil when neither `mpichversion` nor `mpiexec` is on the `PATH` of a
    /// non-interactive shell.
    public var mpi: MPIIdentity?
    /// The program file's state; nil if the report did not say.
    public var program: ProgramState?
    /// `sha256sum` of the program, when it was asked for.
    public var sha256: String?
    /// The first bytes of the program (up to ``HostReport/headBytes``).
    public var head: [UInt8]

    /// How much of the program is read for its build id: the ELF header, the program headers and
    /// the notes sit in the first page or two of any ordinary executable.
    public static let headBytes = 65536

    /// The line that starts the report, after anything a login script printed.
    static let startMarker = "cf-doctor-report"
    /// The line after which the program's bytes follow.
    static let bytesMarker = "cf-doctor-bytes"

    /// A report; for tests.
    public init(nodeName: String? = nil, mpi: MPIIdentity? = nil, program: ProgramState? = nil, sha256: String? = nil, head: [UInt8] = []) {
        self.nodeName = nodeName
        self.mpi = mpi
        self.program = program
        self.sha256 = sha256
        self.head = head
    }

    /// The POSIX shell script that prints a report about `program` (an absolute path), with the
    /// program's `sha256sum` when `withChecksum` is set (for a program without a build id).
    public static func script(program: String, withChecksum: Bool) -> String {
        let path = shellQuoted(program)
        var lines = [
            "echo \(startMarker)",
            "echo \"node $(uname -n)\"",
            // mpichversion first (MPICH); else mpiexec, whichever MPI it belongs to.
            "if command -v mpichversion >/dev/null 2>&1; then mpichversion 2>&1 | head -n 1 | sed \"s/^/mpi /\"",
            "elif command -v mpiexec >/dev/null 2>&1; then mpiexec --version 2>&1 | head -n 4 | sed \"s/^/mpi /\"",
            "fi",
            "p=\(path)",
            "if [ ! -e \"$p\" ]; then echo \"program missing\"",
            "elif [ -d \"$p\" ]; then echo \"program directory\"",
            "elif [ ! -r \"$p\" ]; then echo \"program unreadable\"",
            "elif [ ! -x \"$p\" ]; then echo \"program not-executable\"",
            "else echo \"program ok\"; fi",
        ]
        if withChecksum {
            lines.append("[ -f \"$p\" ] && [ -r \"$p\" ] && sha256sum \"$p\" | sed \"s/^/sha256 /\"")
        }
        lines += [
            "echo \(bytesMarker)",
            "[ -f \"$p\" ] && [ -r \"$p\" ] && head -c \(headBytes) \"$p\"",
            "exit 0",
        ]
        return lines.joined(separator: "\n")
    }

    /// The command line to give `ssh` (or to run locally): `sh -c 'SCRIPT'`, quoted for the remote
    /// login shell.
    public static func command(program: String, withChecksum: Bool) -> String {
        "sh -c \(shellQuoted(script(program: program, withChecksum: withChecksum)))"
    }

    /// Reads what the script printed; nil if the report's first line is not there (the shell
    /// never ran it).
    public init?(parsing output: [UInt8]) {
        let start = Array((Self.startMarker + "\n").utf8)
        let bytesLine = Array(("\n" + Self.bytesMarker + "\n").utf8)
        // Anything a login script printed comes before the report.
        guard let startIndex = Self.find(start, in: output[...], atLineStart: true) else { return nil }
        let bodyStart = startIndex + start.count
        // From the start line's own newline, so that an empty body is found too.
        let text: ArraySlice<UInt8>
        if let bytesIndex = Self.find(bytesLine, in: output[(bodyStart - 1)...], atLineStart: false) {
            text = output[bodyStart..<max(bodyStart, bytesIndex)]
            head = Array(output[(bytesIndex + bytesLine.count)...].prefix(Self.headBytes))
        } else {
            text = output[bodyStart...]
            head = []
        }
        var mpiLines: [String] = []
        for line in String(decoding: text, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard let space = line.firstIndex(of: " ") else { continue }
            let key = line[..<space]
            let value = String(line[line.index(after: space)...])
            switch key {
            case "node": nodeName = value
            case "mpi": mpiLines.append(value)
            case "program": program = ProgramState(rawValue: value)
            case "sha256": sha256 = value.split(separator: " ").first.map(String.init)
            default: break
            }
        }
        mpi = MPIIdentity.parse(mpiLines.joined(separator: "\n"))
    }

    /// Where `needle` first occurs in `haystack` (at the start or after a newline, with
    /// `atLineStart`).
    private static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, atLineStart: Bool) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while index <= last {
            if haystack[index..<index + needle.count].elementsEqual(needle),
               !atLineStart || index == haystack.startIndex || haystack[index - 1] == UInt8(ascii: "\n") {
                return index
            }
            index += 1
        }
        return nil
    }
}

/// `text` in single quotes for a POSIX shell (a quote inside becomes `'\''`).
public func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// `text` as one shell word: as it is when it needs no quoting (a plain path), else
/// ``shellQuoted(_:)``; for the commands the doctor suggests.
public func shellWord(_ text: String) -> String {
    let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "/._+-:@=,%".unicodeScalars.contains(scalar))
    }
    return plain ? text : shellQuoted(text)
}
