import ClusterFuturesArguments
import Foundation

/// `cf-scrape`: I/O-bound tasks, many in flight on each worker. The example starts a local HTTP
/// server (the stand-in for the web: ``LocalWeb``, on 127.0.0.1 and a port the system picks) that
/// serves `--pages` pages, each after `--delay-ms`; then the workers fetch them all with
/// ``FetchPage``, an `AsyncRemoteFunction` that runs 16 calls at once on each worker.
///
/// It prints the pages fetched and checked against the originals, their bytes and a checksum, the
/// time it took, and the most requests the server was serving at once: many more than there are
/// workers, which is the point.
///
/// Build it with `swift build -c release --product cf-scrape`; the program is then
/// `.build/release/cf-scrape`:
///
///     cf-scrape                         # a process pool
///     cf-scrape --pages 200 --delay-ms 50
///     mpiexec -n 3 cf-scrape            # the MPI pool: 2 worker ranks on this host
///
/// (Under `mpiexec` across hosts the workers cannot reach a server on this host's 127.0.0.1:
/// the example is for one host.)
@main
struct Scrape: ClusterCommand {
    static let functions: [any RemoteFunction.Type] = [FetchPage.self]
    static let errors: [any RemoteError.Type] = [FetchPage.FetchFailed.self]

    static let configuration = CommandConfiguration(
        commandName: "cf-scrape",
        abstract: "Fetches pages from a local server with many requests in flight per worker.")

    @OptionGroup var executorOptions: ExecutorOptions

    @Option(help: "How many pages the local server serves.")
    var pages = 64

    @Option(help: "How long the server takes to answer each request, in milliseconds.")
    var delayMs = 100

    func validate() throws {
        guard pages >= 1 else { throw ValidationError("--pages must be at least 1") }
        guard delayMs >= 0 else { throw ValidationError("--delay-ms must not be negative") }
    }

    func run() async throws {
        let web = try await LocalWeb(pages: pages, delay: .milliseconds(delayMs))
        do {
            try await fetchAll(from: web)
        } catch {
            await web.stop()
            throw error
        }
        await web.stop()
    }

    /// Fetches every page of `web` on the executor the options choose, and prints what came back.
    private func fetchAll(from web: LocalWeb) async throws {
        let (executor, choice) = try executorOptions.makeExecutorWithChoice()
        print("executor: \(choice.kind), \(executor.workerCount) worker(s), "
              + "\(FetchPage.concurrentCallsPerWorker) requests at once on each")
        print("server: \(web.baseURL), \(pages) pages, \(delayMs) ms each")
        let urls = (0..<pages).map { web.baseURL + Pages.path($0) }
        try await withExecutor(executor) { executor async throws in
            let start = ContinuousClock.now
            var fetched = 0
            var matching = 0
            var bytes = 0
            var checksum: UInt64 = 0
            // In input order: page `fetched` is the next to come.
            for try await page in try executor.map(FetchPage(), urls) {
                let original = Array(Pages.content(fetched).utf8)
                if page.url == urls[fetched], page.bytes == original.count, page.checksum == Pages.checksum(original) {
                    matching += 1
                }
                fetched += 1
                bytes += page.bytes
                // One checksum for the run: FNV-1a over the pages' checksums, in order.
                checksum = Pages.checksum(withUnsafeBytes(of: (checksum ^ page.checksum).bigEndian) { Array($0) })
            }
            let elapsed = ContinuousClock.now - start
            print("fetched \(fetched) of \(pages) pages, \(matching) as served; \(bytes) bytes, checksum "
                  + String(checksum, radix: 16))
            print("elapsed: \(elapsed) (one request at a time: at least \(Duration.milliseconds(delayMs) * pages))")
            print("peak requests in flight at the server: \(web.peakInFlight), with \(executor.workerCount) worker(s)")
        }
    }
}
