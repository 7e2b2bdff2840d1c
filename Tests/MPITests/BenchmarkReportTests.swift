import ClusterFuturesTestSupport
import Foundation
import Testing

/// `scripts/benchmark-report`: what it makes of the lines that `scripts/compare-with-anchors`
/// prints (the anchors' and cf-bench's, three rounds, recorded below): the Markdown table with its
/// ratios, and the three plots. The runs themselves take minutes and are the script's own
/// (`scripts/benchmark-report --quick` checks them end to end).
@Suite("scripts/benchmark-report", .serialized)
struct BenchmarkReportTests {
    /// This checkout's `scripts/benchmark-report`.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/benchmark-report").path

    /// Runs the script with the arguments that `arguments` gives for a fresh folder (where it may
    /// write files too), after writing ``sample`` there as `raw.txt`; returns how it ended and the
    /// folder (the caller removes it).
    func run(_ arguments: (_ folder: String) throws -> [String], timeout: Double) async throws -> (MPIRunner.Outcome, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("benchmark-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.sample.write(to: folder.appendingPathComponent("raw.txt"), atomically: true, encoding: .utf8)
        let arguments = try arguments(folder.path)
        let outcome = try await offThePool {
            try MPIRunner.run(executable: Self.script, arguments: arguments, timeout: timeout)
        }
        return (outcome, folder)
    }

    @Test("the table has a row for every executor and floor, medians with their spread, the ratios and the scaling",
          .timeLimit(.minutes(2)))
    func table() async throws {
        let (outcome, folder) = try await run({ ["--from-log", "\($0)/raw.txt", "--out", $0, "--no-plots"] }, timeout: 60)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let report = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        let rows = report.split(separator: "\n").map(String.init).filter { $0.hasPrefix("| ") }
        for system in [
            "ClusterFutures LocalProcessPoolExecutor (1 worker)", "Python ProcessPoolExecutor (1 worker)",
            "raw pipe floor (C, 8 bytes)", "raw pipe floor, both ends on one core",
            "ClusterFutures MPIPoolExecutor (1 worker)", "mpi4py.futures MPIPoolExecutor (1 worker)",
            "raw MPI floor (C ping-pong)", "ClusterFutures InlineDummyExecutor (no process)",
            "process pool ÷ Python ProcessPoolExecutor", "process pool ÷ raw pipe floor",
            "MPI pool ÷ mpi4py.futures", "MPI pool ÷ raw MPI floor",
            "LocalProcessPoolExecutor | 1 |", "LocalProcessPoolExecutor | 2 |",
            "MPIPoolExecutor | 1 |", "MPIPoolExecutor | 2 |",
        ] {
            #expect(rows.contains { $0.hasPrefix("| \(system)") }, "no row for \(system) in:\n\(report)")
        }
        // The medians of the three rounds below, then their range; the floors have no submit figure.
        #expect(rows.contains("| raw MPI floor (C ping-pong) | \(Self.expectedMPIFloor) |"), "\(report)")
        #expect(report.contains("3 rounds"), "\(report)")
        #expect(report.contains("Produced by `\(Self.recordedCommand)`"), "\(report)")
    }

    @Test("the README's block gets the headline table and the plot, and the rest of the README stays",
          .timeLimit(.minutes(2)))
    func readme() async throws {
        let readme = """
            # A project

            Before.
            <!-- benchmark-report: begin -->
            an older table
            <!-- benchmark-report: end -->
            After.

            """
        let (outcome, folder) = try await run({ folder in
            try readme.write(toFile: "\(folder)/README.md", atomically: true, encoding: .utf8)
            return ["--from-log", "\(folder)/raw.txt", "--out", "\(folder)/docs/benchmarks", "--no-plots",
                    "--readme", "\(folder)/README.md"]
        }, timeout: 60)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let written = try String(contentsOf: folder.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(written.hasPrefix("# A project\n\nBefore.\n<!-- benchmark-report: begin"), "\(written)")
        #expect(written.hasSuffix("<!-- benchmark-report: end -->\nAfter.\n"), "\(written)")
        #expect(!written.contains("an older table"), "\(written)")
        #expect(written.contains("| raw MPI floor (C ping-pong) | 4.88 | – | – | – | 317 |"), "\(written)")
        #expect(written.contains("(docs/benchmarks/report.md)") && written.contains("](docs/benchmarks/roundtrip.png)"),
                "\(written)")
    }

    @Test("the round trip, throughput and scaling plots are written as PNG files", .timeLimit(.minutes(10)))
    func plots() async throws {
        // The first run installs matplotlib into .build/benchmark-report-venv: minutes, once.
        let (outcome, folder) = try await run({ ["--from-log", "\($0)/raw.txt", "--out", $0] }, timeout: 540)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        for name in ["roundtrip.png", "throughput.png", "scaling.png"] {
            let bytes = [UInt8]((try? Data(contentsOf: folder.appendingPathComponent(name))) ?? Data())
            #expect(bytes.count > 10_000 && Array(bytes.prefix(8)) == signature,
                    "\(name): \(bytes.count) bytes, starting \(bytes.prefix(8).map { String($0, radix: 16) })\n\(outcome)")
        }
    }

    @Test("without the anchors it fails at once and says where it looked", .timeLimit(.minutes(1)))
    func missingAnchors() async throws {
        let (outcome, folder) = try await run({ ["--anchors", "\($0)/no-anchors-here", "--out", $0] }, timeout: 30)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(outcome.status == 1 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.errors.contains("no-anchors-here/run-anchors") && outcome.errors.contains("--anchors"), "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.md").path))
    }

    /// The command that recorded ``sample``.
    static let recordedCommand = "scripts/benchmark-report"

    /// The raw MPI floor's row for ``sample``.
    static let expectedMPIFloor = "4.88 (4.52–5.68) | – | – | – | 317 (169–1198)"

    /// The `raw.txt` of a run of `scripts/benchmark-report` on the 2-core machine, busy with builds.
    static let sample = """
        # command: scripts/benchmark-report
        # date: 2026-12-07 17:29 UTC
        # machine: 2 cores (Intel(R) Xeon(R) Processor), Linux 6.18.44-fc-v1300, 24 GB
        # cpu: 2 cores, Intel(R) Xeon(R) Processor
        # load-before: 8.95
        # software: Swift version 6.3.1, MPICH 4.0.2, Python 3.11.7
        # round 1 of 3
        c-pipe: roundtrip_us=4.04
        same-core c-pipe: roundtrip_us=3.49
        c-mpi: roundtrip_us=4.88 echo1mib_mb_per_s=1198
        python-ProcessPoolExecutor(1): roundtrip_us=931.0 submit_tasks_per_s=2840 map1_tasks_per_s=3008 map64_tasks_per_s=132273 echo1mib_mb_per_s=113
        python-mpi4py.futures(1): roundtrip_us=1095.6 submit_tasks_per_s=704 map1_tasks_per_s=1140 map64_tasks_per_s=63280 echo1mib_mb_per_s=352
        swift-LocalProcessPoolExecutor(1): roundtrip_us=64.2 submit_tasks_per_s=84875 map1_tasks_per_s=26769 map64_tasks_per_s=753902 echo1mib_mb_per_s=371
        swift-MPIPoolExecutor(1): roundtrip_us=9.6 submit_tasks_per_s=54123 map1_tasks_per_s=35083 map64_tasks_per_s=626744 echo1mib_mb_per_s=327
        mpi-idle: rank0_idle_parent_cpu_pct=0.02 rank0_idle_worker_cpu_pct=1.50 waiting_parent_cpu_pct=0.83 waiting_worker_cpu_pct=0.50 queued_rank0_cpu_pct=1.12
        swift-InlineDummyExecutor: roundtrip_us=3.9 submit_tasks_per_s=125965 map1_tasks_per_s=54036 map64_tasks_per_s=818459 echo1mib_mb_per_s=2986
        idle: pool_idle_parent_cpu_pct=0.01 pool_idle_worker_cpu_pct=0.00 waiting_parent_cpu_pct=0.03 waiting_worker_cpu_pct=0.00 queued_parent_cpu_pct=0.28
        # round 2 of 3
        c-pipe: roundtrip_us=5.17
        same-core c-pipe: roundtrip_us=7.05
        c-mpi: roundtrip_us=4.52 echo1mib_mb_per_s=169
        python-ProcessPoolExecutor(1): roundtrip_us=479.1 submit_tasks_per_s=2942 map1_tasks_per_s=4863 map64_tasks_per_s=269219 echo1mib_mb_per_s=212
        python-mpi4py.futures(1): roundtrip_us=605.7 submit_tasks_per_s=1578 map1_tasks_per_s=1314 map64_tasks_per_s=74502 echo1mib_mb_per_s=586
        swift-LocalProcessPoolExecutor(1): roundtrip_us=43.3 submit_tasks_per_s=96690 map1_tasks_per_s=33923 map64_tasks_per_s=804781 echo1mib_mb_per_s=1146
        swift-MPIPoolExecutor(1): roundtrip_us=30.0 submit_tasks_per_s=73931 map1_tasks_per_s=36673 map64_tasks_per_s=571981 echo1mib_mb_per_s=464
        mpi-idle: rank0_idle_parent_cpu_pct=0.02 rank0_idle_worker_cpu_pct=0.50 waiting_parent_cpu_pct=0.63 waiting_worker_cpu_pct=0.50 queued_rank0_cpu_pct=1.07
        swift-InlineDummyExecutor: roundtrip_us=9.9 submit_tasks_per_s=122127 map1_tasks_per_s=46387 map64_tasks_per_s=712950 echo1mib_mb_per_s=2538
        idle: pool_idle_parent_cpu_pct=0.01 pool_idle_worker_cpu_pct=0.00 waiting_parent_cpu_pct=0.03 waiting_worker_cpu_pct=0.00 queued_parent_cpu_pct=0.27
        # round 3 of 3
        c-pipe: roundtrip_us=8.09
        same-core c-pipe: roundtrip_us=5.72
        c-mpi: roundtrip_us=5.68 echo1mib_mb_per_s=317
        python-ProcessPoolExecutor(1): roundtrip_us=416.9 submit_tasks_per_s=3537 map1_tasks_per_s=2357 map64_tasks_per_s=223588 echo1mib_mb_per_s=275
        python-mpi4py.futures(1): roundtrip_us=1414.7 submit_tasks_per_s=1056 map1_tasks_per_s=1292 map64_tasks_per_s=67046 echo1mib_mb_per_s=351
        swift-LocalProcessPoolExecutor(1): roundtrip_us=35.6 submit_tasks_per_s=129048 map1_tasks_per_s=30221 map64_tasks_per_s=521108 echo1mib_mb_per_s=1052
        swift-MPIPoolExecutor(1): roundtrip_us=26.5 submit_tasks_per_s=42582 map1_tasks_per_s=20989 map64_tasks_per_s=450437 echo1mib_mb_per_s=358
        mpi-idle: rank0_idle_parent_cpu_pct=0.03 rank0_idle_worker_cpu_pct=0.50 waiting_parent_cpu_pct=0.57 waiting_worker_cpu_pct=0.50 queued_rank0_cpu_pct=1.07
        swift-InlineDummyExecutor: roundtrip_us=1.8 submit_tasks_per_s=198981 map1_tasks_per_s=103612 map64_tasks_per_s=856648 echo1mib_mb_per_s=2465
        idle: pool_idle_parent_cpu_pct=0.02 pool_idle_worker_cpu_pct=0.00 waiting_parent_cpu_pct=0.03 waiting_worker_cpu_pct=0.00 queued_parent_cpu_pct=0.29
        scaling-process(1): pi_speedup=2.48 hetero_speedup=1.14 hetero_vs_ideal=0.88
        scaling-process(2): pi_speedup=0.93 hetero_speedup=0.86 hetero_vs_ideal=2.33
        scaling-mpi(1): pi_speedup=1.09 hetero_speedup=1.18 hetero_vs_ideal=0.85
        scaling-mpi(2): pi_speedup=1.74 hetero_speedup=1.63 hetero_vs_ideal=1.22
        # load-after: 14.11
        # duration: 289 s
        """
}
