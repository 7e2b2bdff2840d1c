import ClusterFuturesArguments
import ClusterFuturesWire
import Foundation

/// `cf-precompute`: an expensive set-up, a table of primes, computed once and shared with the
/// workers, two ways:
///
/// - through the worker initializer (`Executors.Configuration.initializer`): the table goes to each
///   worker once, as the initializer's input, before the worker's first task, and stays in that
///   process for the tasks that follow;
/// - through a file, as the articles do with a pickle on a shared file system: this process writes
///   the table to `--table-file` (ClusterFuturesWire's format), and each worker reads it the first
///   time a task needs it and keeps it. On a cluster, give a path on a file system every host sees.
///
/// The tasks count prime factors of large numbers with the table; the output shows that each way's
/// results agree with the same computation done here, and that each worker set up once, however
/// many tasks it ran.
///
/// Build it with `swift build -c release --product cf-precompute`; the program is then
/// `.build/release/cf-precompute`:
///
///     cf-precompute                                        # a process pool
///     mpiexec -n 3 cf-precompute --table-file /shared/primes.table
///     mpiexec -f machinefile -n 9 cf-precompute --table-file /nfs/me/primes.table
@main
struct Precompute: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [InstallTable.self, CountWithInstalledTable.self, CountWithTableFile.self]
    static let errors: [any RemoteError.Type] = [TableMissing.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-precompute",
        abstract: "Shares a table of primes with the workers through an initializer and through a file.")

    @OptionGroup var executorOptions: ExecutorOptions

    @Option(help: "The table holds the primes below this; it factors numbers up to its square.")
    var limit = 50_000

    @Option(help: "How many tasks each way runs.")
    var tasks = 24

    @Option(help: "How many numbers each task factors.")
    var numbersPerTask = 300

    @Option(help: ArgumentHelp(
        "Where to write the table for the workers to read (on a cluster: a shared file system). "
            + "Default: a file in the temporary folder, removed at the end.",
        valueName: "path"))
    var tableFile: String?

    /// The first number factored: the tasks' numbers end just below the limit squared, where
    /// factoring needs most of the table.
    var first: Int { max(2, limit * limit - tasks * numbersPerTask) }

    func validate() throws {
        guard (2...50_000_000).contains(limit) else { throw ValidationError("--limit must be from 2 to 50000000") }
        guard tasks >= 1, numbersPerTask >= 1 else { throw ValidationError("--tasks and --numbers-per-task must be at least 1") }
        let (numbers, overflow) = tasks.multipliedReportingOverflow(by: numbersPerTask)
        guard !overflow, numbers <= limit * limit - 2 else {
            throw ValidationError("--tasks times --numbers-per-task must be below --limit squared, the largest number the table factors")
        }
    }

    func run() async throws {
        let start = ContinuousClock.now
        let table = PrimeTable(below: limit)
        print("set-up: \(table.primes.count) primes below \(limit), computed once here in \(ContinuousClock.now - start)")
        let ranges = (0..<tasks).map { first + $0 * numbersPerTask ..< first + ($0 + 1) * numbersPerTask }
        let local = ranges.reduce(0) { $0 + table.primeFactorCount(in: $1) }

        // Way 2's file, written before any worker could ask for it.
        let path = tableFile ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("cf-precompute-\(ProcessInfo.processInfo.processIdentifier).table").path
        try Data(WireEncoder().encode(table)).write(to: URL(fileURLWithPath: path), options: .atomic)
        defer { if tableFile == nil { try? FileManager.default.removeItem(atPath: path) } }

        // Way 1: the table is the initializer's input, sent to each worker once.
        var configuration = Executors.Configuration()
        configuration.initializer = try WorkerInitializer(InstallTable(), table)
        let (executor, choice) = try executorOptions.makeExecutorWithChoice(configuration)
        print("executor: \(choice.kind), \(executor.workerCount) worker(s)")
        if choice.kind == .inline {
            // The inline executor has no workers, and runs no initializer: its tasks run here.
            print("the inline executor runs no initializer: the table is installed in this process")
            _ = InstallTable()(table)
        }
        try await withExecutor(executor) { executor async throws in
            try await report("through the initializer", set: "set up",
                             try ranges.map { try executor.submit(CountWithInstalledTable(), $0) }, local: local)
            try await report("through the file \(path)", set: "read the table",
                             try ranges.map { try executor.submit(CountWithTableFile(path: path), $0) }, local: local)
        }
    }

    /// Prints one way's total beside the local one, then each worker's set-ups and tasks.
    private func report(_ way: String, set: String, _ futures: [Future<Report>], local: Int) async throws {
        var total = 0
        var workers: [String: (setUps: Int, tasks: Int)] = [:]
        for future in futures {
            let report = try await future.result(timeout: .seconds(600))
            total += report.count
            let name = future.origin?.label ?? "?"
            let seen = workers[name] ?? (0, 0)
            workers[name] = (max(seen.setUps, report.setUps), seen.tasks + 1)
        }
        print("\(way): \(futures.count) tasks counted \(total) prime factors, the local computation \(local): "
              + (total == local ? "they agree" : "THEY DIFFER"))
        for (name, worker) in workers.sorted(by: { $0.key < $1.key }) {
            print("  \(name): \(set) \(worker.setUps) time(s), ran \(worker.tasks) task(s)")
        }
    }
}
