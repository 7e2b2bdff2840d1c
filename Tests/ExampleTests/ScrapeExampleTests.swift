import ClusterFuturesTestSupport
import Testing

/// `Examples/Scrape` (`cf-scrape`): every page of the local server fetched with the content it
/// served, with more requests in flight at the server than there are workers.
@Suite("The scrape example", .serialized)
struct ScrapeExampleTests {
    /// The numbers in the line that starts with `prefix`.
    static func numbers(after prefix: String, in outcome: MPIRunner.Outcome) -> [Int] {
        guard let line = outcome.lines.first(where: { $0.hasPrefix(prefix) }) else { return [] }
        return line.dropFirst(prefix.count).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }

    static func check(_ outcome: MPIRunner.Outcome, workers: Int) {
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        // The example checks each page against its original; the totals are checked here too, as
        // the server's 64 pages make them (23,382 bytes, FNV-1a of the pages' checksums in order).
        #expect(outcome.lines.contains("fetched 64 of 64 pages, 64 as served; 23382 bytes, checksum 8b14716a8fbeae0b"),
                "\(outcome)")
        let peak = numbers(after: "peak requests in flight at the server: ", in: outcome)
        #expect(peak.count == 2 && peak[1] == workers, "\(outcome)")
        #expect(peak.count == 2 && peak[0] > workers, "more requests at once than workers\n\(outcome)")
    }

    @Test("alone, with --workers 2: all 64 pages, as served, with more than 2 requests in flight")
    func alone() async throws {
        let outcome = try await MPIRunner.run("cf-scrape", processes: nil, ["--workers", "2"], timeout: 120)
        Self.check(outcome, workers: 2)
    }

    @Test("under mpiexec -n 3: all 64 pages, as served, with more than 2 requests in flight")
    func underMPI() async throws {
        let outcome = try await MPIRunner.run("cf-scrape", processes: 3, [], timeout: 120)
        Self.check(outcome, workers: 2)
    }
}
