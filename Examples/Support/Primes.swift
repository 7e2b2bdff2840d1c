/// Whether `n` is prime, by trial division: deliberately slow, so that counting the primes below a
/// large number is CPU-heavy work worth spreading. `cf-demo`, `cf-fallback` and
/// `cf-background-if-slow` count with it.
@inlinable
public func isPrime(_ n: Int) -> Bool {
    guard n >= 2 else { return false }
    if n < 4 { return true }
    if n.isMultiple(of: 2) { return false }
    var divisor = 3
    while divisor * divisor <= n {
        if n.isMultiple(of: divisor) { return false }
        divisor += 2
    }
    return true
}

/// The primes below `limit`, in order, by the sieve of Eratosthenes: the fast way, beside
/// ``isPrime(_:)``'s slow one. `cf-precompute` shares them with its workers, and
/// `cf-background-if-slow` checks its counts against them.
public func primesBySieve(below limit: Int) -> [Int] {
    var composite = [Bool](repeating: false, count: max(limit, 2))
    var primes: [Int] = []
    for n in 2..<max(limit, 2) where !composite[n] {
        primes.append(n)
        var multiple = n * n
        while multiple < limit {
            composite[multiple] = true
            multiple += n
        }
    }
    return primes
}
