import ClusterFuturesArguments
import ExampleSupport

/// `cf-fallback`: one program, unchanged, on whichever executor the run allows, saying which it got
/// and why: the MPI pool under `mpiexec`, else a process pool, else (or when asked) the inline
/// executor. Its result is the same on each.
///
/// Build it with `swift build -c release --product cf-fallback`; the program is then
/// `.build/release/cf-fallback`:
///
///     cf-fallback                                  # a process pool (inline on a machine with one CPU)
///     cf-fallback --workers 2                      # a process pool of 2 workers
///     cf-fallback --executor inline                # every task in this process
///     CLUSTERFUTURES_EXECUTOR=inline cf-fallback   # the same, from the environment
///     mpiexec -n 3 cf-fallback                     # the MPI pool: 2 worker ranks
///
/// It prints `executor: KIND`, `reason: WHY`, where the tasks ran, and `result: ...`.
@main
struct Fallback: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [CountPrimes.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-fallback",
        abstract: "Counts primes on the executor this run allows, and says which it is and why.")

    @OptionGroup var executorOptions: ExecutorOptions

    @Option(help: "Count the primes below this number.")
    var below = 300_000

    @Option(help: "Into how many tasks the count is split.")
    var tasks = 24

    func validate() throws {
        guard below >= 0 else { throw ValidationError("--below must not be negative") }
        guard tasks >= 1 else { throw ValidationError("--tasks must be at least 1") }
    }

    func run() async throws {
        let (executor, choice) = try executorOptions.makeExecutorWithChoice()
        print("executor: \(choice.kind)")
        print("reason: \(choice.reason)")
        print("workers: \(executor.workerCount)")
        try await withExecutor(executor) { executor async throws in
            // The same code whichever executor it is: split, submit, collect.
            let step = (below + tasks - 1) / tasks
            let ranges = stride(from: 0, to: below, by: max(step, 1)).map { $0..<min($0 + step, below) }
            let futures = try ranges.map { try executor.submit(CountPrimes(), $0) }
            var total = 0
            var places: Set<String> = []
            for future in futures {
                total += try await future.result(timeout: .seconds(300))
                if let origin = future.origin { places.insert(origin.label) }
            }
            print("ran on: \(places.sorted().joined(separator: ", "))")
            print("result: \(total) primes below \(below)")
        }
    }
}

/// Counts the primes in a range by trial division.
struct CountPrimes: RemoteFunction {
    func callAsFunction(_ range: Range<Int>) -> Int {
        range.count(where: isPrime)
    }
}
