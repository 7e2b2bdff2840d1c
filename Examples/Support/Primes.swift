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
