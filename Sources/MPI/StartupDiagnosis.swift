#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a rank can find out when MPI's start-up does not finish: usually a host of the job that
/// never started its processes, so the others wait for it in `MPI_Init` forever (Hydra does not
/// give up on it).
///
/// A rank on the host where `mpiexec` runs finds `mpiexec` among its ancestors, reads the
/// machinefile from its command line (`-f`, `-machinefile`, `-hostfile`, or `HYDRA_HOST_FILE`),
/// and checks each host in it: whether its name resolves, and whether it answers on ssh's port.
enum StartupDiagnosis {
    /// How long MPI may take to start: `CLUSTERFUTURES_STARTUP_TIMEOUT` seconds (0 turns the bound
    /// off), else 60 seconds.
    static func timeout() -> Duration? {
        guard let seconds = DurationSetting.seconds("CLUSTERFUTURES_STARTUP_TIMEOUT", in: 0..<1e9) else { return .seconds(60) }
        return seconds == 0 ? nil : .seconds(seconds)
    }

    /// Whether this rank speaks for its host: the first rank on it (`MPI_LOCALRANKID` 0).
    static var speaksForItsHost: Bool {
        getenv("MPI_LOCALRANKID").map { String(cString: $0) == "0" } ?? true
    }

    /// What a rank does when start-up has not finished within `timeout`. The first rank on each host
    /// says why, as far as it can tell, and ends the job through its host's Hydra proxy; the others
    /// wait to be ended with it (leaving at once, they would have Hydra end the job, and their
    /// host's first rank with it, before that rank has said a word), at most 30 seconds.
    static func giveUp(after timeout: Duration) {
        guard speaksForItsHost else {
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while ContinuousClock.now < deadline {
                var step = timespec(tv_sec: 0, tv_nsec: 100_000_000)
                nanosleep(&step, nil)
            }
            return
        }
        let report = self.report(after: timeout) + "\n"
        _ = Array(report.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        endTheJob()
    }

    /// The line that explains a start-up that did not finish within `timeout`.
    static func report(after timeout: Duration) -> String {
        let seconds = timeout.inSeconds
        let rank = getenv("PMI_RANK").map { String(cString: $0) } ?? "?"
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var text = "ClusterFutures: MPI did not start within \(formatted(seconds)) s (rank \(rank), host \(hostName)): "
            + "a host of the job did not start its processes."
        guard let launcher = launcherCommandLine() else {
            return text + " Check every host with cf-doctor MACHINEFILE PROGRAM."
        }
        guard let path = launcher.machinefile, let hosts = hostsInMachinefile(atPath: path) else {
            return text + " Check every host with cf-doctor MACHINEFILE PROGRAM."
        }
        var problems: [String] = []
        for name in hosts {
            if let problem = check(host: name) { problems.append("\(name) \(problem)") }
        }
        if problems.isEmpty {
            text += " Every host in \(path) resolves and answers; one may refuse ssh without a prompt, or lack the program or MPI."
        } else {
            text += " In \(path): " + problems.joined(separator: "; ") + "."
        }
        return text + " Check with cf-doctor \(path) PROGRAM."
    }

    /// Makes Hydra end the job: the ranks' exits alone do not, since it waits for the missing host
    /// forever. Ends this host's Hydra proxy (the nearest ancestor of that name: the parent, or
    /// under a worker rank's supervisor the grandparent), which Hydra takes as the loss of this
    /// host and answers by ending every process and exiting non-zero.
    static func endTheJob() {
        // Time for the proxy to pass on what this rank wrote to standard error.
        var pause = timespec(tv_sec: 0, tv_nsec: 300_000_000)
        nanosleep(&pause, nil)
        var pid = getppid()
        for _ in 0..<4 where pid > 1 {
            // comm holds at most 15 characters: "hydra_pmi_proxy" exactly.
            if String(decoding: read("/proc/\(pid)/comm"), as: UTF8.self).hasPrefix("hydra_pmi_prox") {
                kill(pid, SIGKILL)
                return
            }
            pid = parent(of: pid)
        }
    }

    /// `mpiexec`'s arguments and working folder, if it is an ancestor of this process.
    static func launcherCommandLine() -> (arguments: [String], machinefile: String?)? {
        var pid = getppid()
        for _ in 0..<6 where pid > 1 {
            let arguments = read("/proc/\(pid)/cmdline").split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let program = arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
            if program.hasPrefix("mpiexec") || program.hasPrefix("mpirun") {
                var file: String?
                for (index, argument) in arguments.enumerated() where index + 1 < arguments.count {
                    if ["-f", "-machinefile", "--machinefile", "-hostfile", "--hostfile"].contains(argument) {
                        file = arguments[index + 1]
                    }
                }
                if file == nil {
                    let environment = read("/proc/\(pid)/environ").split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    file = environment.first { $0.hasPrefix("HYDRA_HOST_FILE=") }.map { String($0.dropFirst(16)) }
                }
                if let relative = file, !relative.hasPrefix("/") {
                    var buffer = [CChar](repeating: 0, count: 4096)
                    let count = readlink("/proc/\(pid)/cwd", &buffer, buffer.count - 1)
                    if count > 0 {
                        file = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + relative
                    }
                }
                return (arguments, file)
            }
            pid = parent(of: pid)
        }
        return nil
    }

    /// The hosts a Hydra machinefile names (`host`, `host:slots`, `# comments`), each once.
    static func hostsInMachinefile(atPath path: String) -> [String]? {
        let bytes = read(path)
        guard !bytes.isEmpty else { return nil }
        var hosts: [String] = []
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let name = content.split(separator: ":").first.map { $0.filter { !$0.isWhitespace } } ?? ""
            if !name.isEmpty && !hosts.contains(name) { hosts.append(name) }
        }
        return hosts
    }

    /// Why `host` cannot be reached, or nil if it resolves and its ssh port answers (or refuses:
    /// either way the machine is there).
    static func check(host: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "22", &hints, &list) == 0, let first = list else {
            return "does not resolve to an address"
        }
        defer { freeaddrinfo(list) }
        let socket = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socket >= 0 else { return nil }
        defer { close(socket) }
        if connect(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return nil }
        guard errno == EINPROGRESS else {
            return errno == ECONNREFUSED ? nil : "does not answer (\(String(cString: strerror(errno))))"
        }
        var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, 3000) == 1 else { return "does not answer within 3 s" }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0 || error == ECONNREFUSED ? nil : "does not answer (\(String(cString: strerror(error))))"
    }

    /// The parent of process `pid`, from `/proc/PID/stat`, or 0.
    private static func parent(of pid: pid_t) -> pid_t {
        let text = String(decoding: read("/proc/\(pid)/stat"), as: UTF8.self)
        // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) ?? 0 : 0
    }

    /// A file's bytes (at most 1 MiB), or none.
    private static func read(_ path: String) -> [UInt8] {
        ProcFiles.contents(of: path, atMost: 1 << 20)
    }

    private static func formatted(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
