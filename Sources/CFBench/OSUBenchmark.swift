import ArgumentParser
import ClusterDoctor
import Foundation

extension CFBench {
    /// `cf-bench osu`: osu_latency, osu_bw and osu_bibw over the Swift MPI module (`cf-osu`) beside
    /// the same loops in C (`Benchmarks/OSU/osu.c`, built with `mpicc` at the start), run in turns,
    /// with the median of each per message size and the ratio.
    struct OSU: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "osu",
            abstract: "OSU latency, bandwidth and bidirectional bandwidth: Swift's MPI module beside C, interleaved, with ratios."
        )

        @Option(help: "Rounds; each runs the C loops and the Swift loops once, in turns (C first in odd rounds).")
        var rounds = 3

        @Option(help: "The largest message, in bytes (a power of two).")
        var maxSize = 4 << 20

        @Option(help: "Tests, comma-separated: latency, bw, bibw.")
        var tests = "latency,bw,bibw"

        func validate() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            guard maxSize >= 1 else { throw ValidationError("--max-size must be at least 1") }
            let unknown = testList.filter { !["latency", "bw", "bibw"].contains($0) }
            guard unknown.isEmpty else { throw ValidationError("unknown tests: \(unknown.joined(separator: ", "))") }
        }

        var testList: [String] { tests.split(separator: ",").map { String($0) } }

        func run() throws {
            let tools = try OSUTools.find()
            let cProgram = try tools.buildC()
            for test in testList {
                var c: [Int: [Double]] = [:]
                var swift: [Int: [Double]] = [:]
                for round in 0..<rounds {
                    let order = round % 2 == 0 ? [true, false] : [false, true]
                    for isC in order {
                        let program = isC ? cProgram : tools.swiftProgram
                        let results = try tools.run(program, test: test, maxSize: maxSize)
                        for (size, value) in results {
                            if isC { c[size, default: []].append(value) } else { swift[size, default: []].append(value) }
                        }
                    }
                }
                print(Self.report(test: test, c: c, swift: swift))
            }
        }

        /// One line per size, then a summary: for latency the worst ratio up to 8 KiB (Swift's time
        /// over C's), for the bandwidths the worst ratio from 64 KiB (Swift's MB/s over C's).
        static func report(test: String, c: [Int: [Double]], swift: [Int: [Double]]) -> String {
            let unit = test == "latency" ? "us" : "mb_per_s"
            var lines: [String] = []
            var ratios: [(size: Int, ratio: Double)] = []
            for size in c.keys.sorted() {
                guard let cValues = c[size], let swiftValues = swift[size] else { continue }
                let cMedian = median(cValues), swiftMedian = median(swiftValues)
                let ratio = swiftMedian / cMedian
                ratios.append((size, ratio))
                lines.append("osu_\(test) size=\(size) c_\(unit)=\(format(cMedian)) swift_\(unit)=\(format(swiftMedian)) "
                             + "ratio=\(String(format: "%.2f", ratio)) c_spread=\(spread(cValues)) swift_spread=\(spread(swiftValues))")
            }
            if test == "latency" {
                let small = ratios.filter { $0.size <= 8192 }.map(\.ratio)
                lines.append("osu_latency: worst swift/c up to 8 KiB=\(String(format: "%.2f", small.max() ?? .nan)) (target at most 1.30)")
            } else {
                let large = ratios.filter { $0.size >= 65536 }.map(\.ratio)
                lines.append("osu_\(test): worst swift/c from 64 KiB=\(String(format: "%.2f", large.min() ?? .nan)) (target at least 0.80)")
            }
            return lines.joined(separator: "\n")
        }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
        }

        static func spread(_ values: [Double]) -> String {
            "\(format(values.min() ?? .nan))-\(format(values.max() ?? .nan))"
        }

        static func format(_ value: Double) -> String {
            value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
        }
    }
}

/// The programs and launchers `cf-bench osu` uses.
struct OSUTools {
    /// `mpiexec` of the MPI this build links.
    let mpiexec: String
    /// `mpicc` of the same MPI.
    let mpicc: String
    /// `cf-osu`, beside this program.
    let swiftProgram: String
    /// `Benchmarks/OSU/osu.c` in the source tree this program was built from.
    let cSource: String

    static func find() throws -> OSUTools {
        let here = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                       ?? CommandLine.arguments[0]).deletingLastPathComponent()
        let swiftProgram = here.appendingPathComponent("cf-osu").path
        guard FileManager.default.isExecutableFile(atPath: swiftProgram) else {
            throw ValidationError("cf-osu is missing beside cf-bench (\(swiftProgram)); build it: swift build -c release --product cf-osu")
        }
        let cSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Benchmarks/OSU/osu.c").path
        guard FileManager.default.fileExists(atPath: cSource) else {
            throw ValidationError("the C benchmark's source is missing at \(cSource)")
        }
        guard let mpiexec = which(Self.launcherNames), let mpicc = which(Self.compilerNames) else {
            throw ValidationError("mpiexec or mpicc is not on PATH; install MPI (scripts/install-mpich)")
        }
        return OSUTools(mpiexec: mpiexec, mpicc: mpicc, swiftProgram: swiftProgram, cSource: cSource)
    }

    /// The launchers and compilers of the MPI this build links (the package trait), most specific
    /// first, and what that launcher needs here.
    #if OpenMPI
    static let launcherNames = ["mpiexec.openmpi", "mpiexec"]
    static let compilerNames = ["mpicc.openmpi", "mpicc"]
    /// Two ranks on a 2-core machine, run as root in CI.
    static let launcherOptions = ["--oversubscribe", "--allow-run-as-root"]
    #else
    static let launcherNames = ["mpiexec.mpich", "mpiexec"]
    static let compilerNames = ["mpicc.mpich", "mpicc"]
    static let launcherOptions: [String] = []
    #endif

    /// The first of `names` found on `PATH`.
    static func which(_ names: [String]) -> String? {
        names.lazy.compactMap(Command.which).first
    }

    /// Builds the C loops with `-O2` into a temporary folder.
    func buildC() throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("cf-osu-c-\(getpid())").path
        let (status, _, errors) = try Self.execute(mpicc, ["-O2", "-o", output, cSource])
        guard status == 0 else { throw ValidationError("\(mpicc) failed on \(cSource):\n\(errors)") }
        return output
    }

    /// Runs `program test maxSize` on two ranks and reads rank 0's `SIZE VALUE` lines.
    func run(_ program: String, test: String, maxSize: Int) throws -> [(Int, Double)] {
        let (status, output, errors) = try Self.execute(mpiexec, Self.launcherOptions + ["-n", "2", program, test, String(maxSize)])
        guard status == 0 else { throw ValidationError("\(program) \(test) exited \(status):\n\(errors)") }
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let size = Int(fields[0]), let value = Double(fields[1]) else { return nil }
            return (size, value)
        }
    }

    /// Runs `executable arguments...` and returns its status, output and standard error; a run
    /// that has not ended within `timeout` is killed and throws.
    static func execute(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(600)) throws -> (Int32, String, String) {
        let outcome = Command.runBlocking([executable] + arguments, until: .now + timeout)
        if let failure = outcome.launchFailure { throw ValidationError("could not start \(executable): \(failure)") }
        if outcome.timedOut { throw ValidationError("\(executable) \(arguments.joined(separator: " ")) ran past \(timeout)") }
        return (outcome.status, String(decoding: outcome.output, as: UTF8.self), outcome.errorText)
    }
}
