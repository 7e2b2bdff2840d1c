import ClusterFutures

struct CountPrimes: RemoteFunction {
    func callAsFunction(_ range: Range<Int>) -> Int {
        range.count { n in n > 1 && (2..<n).allSatisfy { n % $0 != 0 } }
    }
}

@main
enum Program {
    static func main() async throws {
        try ClusterRuntime.bootstrap(functions: [CountPrimes.self])   // first thing in main
        try await withExecutor(try LocalProcessPoolExecutor()) { executor in
            let future = try executor.submit(CountPrimes(), 0..<1_000)
            print("primes below 1000:", try await future.result(timeout: .seconds(10)))

            let ranges = stride(from: 0, to: 20_000, by: 500).map { $0..<$0 + 500 }
            var total = 0
            for try await count in try executor.map(CountPrimes(), ranges, chunkSize: 8) { total += count }
            print("primes below 20000:", total)
        }
    }
}
