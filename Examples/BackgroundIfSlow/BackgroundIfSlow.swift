import ClusterFuturesArguments
import ExampleSupport
import Foundation

/// `cf-background-if-slow`: run a call in place when it is cheap, and hand it to the pool when it
/// turns out to be expensive, the articles' generator pattern done the Swift way.
///
/// Each call counts primes below a number in steps (``PrimeCount``, whose state is `Codable`). The
/// caller runs steps itself until the call is done or its time budget is spent; a call that is not
/// done by then goes to the executor, state and all, as a ``FinishCount`` task, and its future
/// stands in for the result. Cheap calls (one step) never leave the caller, and the caller never
/// waits on an expensive one before it starts the next: both kinds are awaited the same way
/// (``Call/finished()``).
///
/// Build it with `swift build -c release --product cf-background-if-slow`; the program is then
/// `.build/release/cf-background-if-slow`:
///
///     cf-background-if-slow                              # a process pool
///     cf-background-if-slow --budget-ms 50 1000 2000000  # your own budget and calls
///     mpiexec -n 3 cf-background-if-slow                 # the MPI pool: 2 worker ranks
@main
struct BackgroundIfSlow: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [FinishCount.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-background-if-slow",
        abstract: "Counts primes in place when that is quick, and in the pool when it turns out not to be.")

    @OptionGroup var executorOptions: ExecutorOptions

    @Option(help: "How long a call may run in place before it goes to the pool, in milliseconds.")
    var budgetMs = 5

    @Argument(help: "Count the primes below each of these numbers, one call each.")
    var calls: [Int] = [1_000, 400_000, 3_000, 500_000, 500, 300_000, 4_999]

    func validate() throws {
        guard budgetMs >= 0 else { throw ValidationError("--budget-ms must not be negative") }
        guard calls.allSatisfy({ $0 >= 0 }) else { throw ValidationError("the numbers must not be negative") }
    }

    func run() async throws {
        let (executor, choice) = try executorOptions.makeExecutorWithChoice()
        let me = ProcessInfo.processInfo.processIdentifier
        print("executor: \(choice.kind), \(executor.workerCount) worker(s); the caller is pid \(me)")
        print("budget in place: \(budgetMs) ms, in steps of \(PrimeCount.numbersPerStep) numbers")
        try await withExecutor(executor) { executor async throws in
            // Start every call first: an expensive one costs the caller only its budget.
            let started = try calls.map { try Call.start(PrimeCount(below: $0), budget: .milliseconds(budgetMs), on: executor) }
            let sieve = Sieve(below: calls.max() ?? 0)
            var correct = 0
            for (below, call) in zip(calls, started) {
                let count = try await call.finished()
                let expected = sieve.primes(below: below)
                if count.found == expected { correct += 1 }
                let verdict = count.found == expected ? "correct" : "WRONG, the sieve says \(expected)"
                switch call {
                case .ranInPlace:
                    print("primes below \(below) = \(count.found) (\(verdict)): ran in place, "
                          + "\(count.steps) step(s), pid \(me)")
                case .handedOff(let future, let stepsInPlace):
                    let place = future.origin.map { $0.label + ", pid \($0.pid)" } ?? "?"
                    print("primes below \(below) = \(count.found) (\(verdict)): went to the pool after "
                          + "\(stepsInPlace) of \(count.steps) step(s) in place, finished on \(place)")
                }
            }
            print("\(correct) of \(calls.count) results correct")
        }
    }
}

/// The primes below a limit by the sieve of Eratosthenes, to check the calls' counts against.
struct Sieve {
    private var primesBelow: [Int]

    init(below limit: Int) {
        let primes = primesBySieve(below: limit + 1)
        primesBelow = []
        primesBelow.reserveCapacity(limit + 1)
        var count = 0
        for n in 0...limit {
            primesBelow.append(count)
            if count < primes.count, primes[count] == n { count += 1 }
        }
    }

    /// How many primes are below `n` (`n` at most the limit).
    func primes(below n: Int) -> Int { primesBelow[n] }
}
