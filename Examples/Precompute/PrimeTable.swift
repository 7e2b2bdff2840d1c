import ExampleSupport

/// The expensive set-up the workers share: the primes below a limit, by the sieve of Eratosthenes.
/// With it, any number up to the limit squared is factored by trial division by primes only.
struct PrimeTable: Codable, Sendable, Equatable {
    /// The primes are those below this.
    var limit: Int
    /// The primes below ``limit``, in order.
    var primes: [Int]

    /// Sieves the primes below `limit`.
    init(below limit: Int) {
        self.limit = limit
        self.primes = primesBySieve(below: limit)
    }

    /// How many prime factors `n` has, counted with multiplicity (Ω(n)); `n` at most
    /// ``factorsUpTo``, so that every prime up to its square root is in the table.
    func primeFactorCount(_ n: Int) -> Int {
        var rest = n
        var count = 0
        for p in primes {
            if p * p > rest { break }
            while rest.isMultiple(of: p) {
                rest /= p
                count += 1
            }
        }
        return rest > 1 ? count + 1 : count
    }

    /// The prime factors of every number in `range`, counted: what each task computes.
    func primeFactorCount(in range: Range<Int>) -> Int {
        range.reduce(0) { $0 + primeFactorCount($1) }
    }
}
