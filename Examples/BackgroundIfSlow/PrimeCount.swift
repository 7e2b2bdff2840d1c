import ClusterFuturesArguments
import ExampleSupport

/// Counting the primes below a number, in steps: the state between steps is a value, as a Python
/// generator's is its frame, but `Codable`, so that a half-done count can move to another process
/// and go on there.
struct PrimeCount: Codable, Sendable {
    /// Count the primes below this.
    var below: Int
    /// The next number to test.
    var next = 0
    /// The primes found below ``next``.
    var found = 0
    /// How many steps have been taken, wherever they ran.
    var steps = 0

    /// Numbers tested per step: short enough to look at the clock often.
    static let numbersPerStep = 5_000

    init(below: Int) { self.below = below }

    /// Whether every number below ``below`` has been tested.
    var isDone: Bool { next >= below }

    /// Tests the next ``numbersPerStep`` numbers.
    mutating func step() {
        let end = min(next + Self.numbersPerStep, below)
        found += (next..<end).count(where: isPrime)
        next = end
        steps += 1
    }
}

/// The pool's half: takes a count where the caller left it and finishes it.
struct FinishCount: RemoteFunction {
    func callAsFunction(_ count: PrimeCount) -> PrimeCount {
        var count = count
        while !count.isDone { count.step() }
        return count
    }
}

/// A call that either finished in place or went on in the pool: awaited the same way.
enum Call: Sendable {
    /// Finished in the caller, within the budget.
    case ranInPlace(PrimeCount)
    /// Handed to the executor after `stepsInPlace` steps here.
    case handedOff(Future<PrimeCount>, stepsInPlace: Int)

    /// The finished count, from wherever it ran.
    func finished() async throws -> PrimeCount {
        switch self {
        case .ranInPlace(let count): count
        case .handedOff(let future, _): try await future.result(timeout: .seconds(600))
        }
    }

    /// Runs `count` here, step by step, until it is done or `budget` is spent; then hands the
    /// rest, with its state, to `executor`.
    static func start(_ count: PrimeCount, budget: Duration, on executor: any Executor) throws -> Call {
        let start = ContinuousClock.now
        var count = count
        while !count.isDone {
            count.step()
            if !count.isDone, ContinuousClock.now - start >= budget {
                return .handedOff(try executor.submit(FinishCount(), count), stepsInPlace: count.steps)
            }
        }
        return .ranInPlace(count)
    }
}
