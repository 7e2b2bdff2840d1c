import ArgumentParser
import ClusterDoctor
import Foundation

/// `cf-doctor`: checks a machinefile before a run.
@main
struct CFDoctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cf-doctor",
        abstract: "Checks every host of a machinefile before an MPI run.",
        discussion: """
            For each host: the name is a valid host name, it resolves here, it answers over ssh \
            without a prompt, it has the same MPI as here (mpichversion, else mpiexec --version), \
            and PROGRAM is there at the same path with the same GNU build id (or the same sha256 \
            when it has none). Prints a table of hosts, then each problem with its fix. Exits 0 \
            when all is well, 1 when anything is wrong, 2 for a usage error.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The command that runs a command on a host, split at spaces.", valueName: "COMMAND"))
    var ssh = "ssh -o BatchMode=yes -o ConnectTimeout=5"

    @Option(name: .long, help: ArgumentHelp("How long each host's checks may take.", valueName: "SECONDS"))
    var timeout: Double = 15

    @Argument(help: "Hydra's machinefile: host, host:N or host:N:interface per line, # comments.")
    var machinefile: String

    @Argument(help: "The program the run will start, at the same path on every host.")
    var program: String

    /// Usage errors end with status 2 (ArgumentParser's own would be 64).
    static func main() async {
        do {
            var doctor = try parse()
            Foundation.exit(try await doctor.check())
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
    }

    /// Not used: ``main()`` runs ``check()``, whose result is the exit status.
    func run() async throws {}

    /// The checks; returns the exit status.
    mutating func check() async throws -> Int32 {
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        let sshWords = ssh.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let sshCommand = sshWords.first else { throw ValidationError("--ssh is empty") }
        guard Command.which(sshCommand) != nil else { throw ValidationError("the ssh command \(sshCommand) was not found") }
        guard let text = try? String(contentsOfFile: machinefile, encoding: .utf8) else {
            throw ValidationError("cannot read the machinefile \(machinefile)")
        }
        let hosts: Machinefile
        do {
            hosts = try Machinefile(parsing: text)
        } catch {
            throw ValidationError("\(machinefile), \(error)")
        }
        guard !hosts.hosts.isEmpty else { throw ValidationError("the machinefile \(machinefile) names no host") }
        let path = try Self.absoluteProgram(program)
        let doctor = Doctor(ssh: sshWords, timeout: .milliseconds(Int64((timeout * 1000).rounded())), program: path)
        let result = await doctor.examine(hosts)
        print(result.rendered(machinefile: machinefile, program: path), terminator: "")
        return result.hasProblems ? 1 : 0
    }

    /// PROGRAM as an absolute path (a bare name is looked up on PATH, as mpiexec would); it must be
    /// a readable file here.
    static func absoluteProgram(_ program: String) throws -> String {
        var path: String
        if program.contains("/") {
            path = program.hasPrefix("/") ? program : FileManager.default.currentDirectoryPath + "/" + program
            path = (path as NSString).standardizingPath
        } else {
            guard let found = Command.which(program) else { throw ValidationError("the program \(program) is not on PATH; give its path") }
            path = found
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              FileManager.default.isReadableFile(atPath: path) else {
            throw ValidationError("cannot read the program \(path)")
        }
        return path
    }
}
