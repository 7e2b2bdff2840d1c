import ClusterFuturesArguments
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches one page: I/O-bound, so each worker runs many calls at once
/// (``concurrentCallsPerWorker``), and `map` hands them out in batches of that size.
struct FetchPage: AsyncRemoteFunction {
    /// The calls in flight on one worker: far more than its one core could keep busy computing,
    /// as each call mostly waits for the server.
    static var concurrentCallsPerWorker: Int { 16 }

    /// A page that did not come back as it should.
    struct FetchFailed: Error, Codable, CustomStringConvertible {
        var url: String
        var reason: String
        var description: String { "\(url): \(reason)" }
    }

    func callAsFunction(_ url: String) async throws -> Fetched {
        guard let address = URL(string: url) else { throw FetchFailed(url: url, reason: "not a URL") }
        let (data, response) = try await Self.session.data(from: address)
        guard let status = (response as? HTTPURLResponse)?.statusCode, status == 200 else {
            throw FetchFailed(url: url, reason: "status \((response as? HTTPURLResponse)?.statusCode ?? 0)")
        }
        return Fetched(url: url, bytes: data.count, checksum: Pages.checksum(data))
    }

    /// One session per process, allowed as many connections to the server as calls in flight
    /// (URLSession's default is 6 per host).
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = concurrentCallsPerWorker
        configuration.timeoutIntervalForRequest = 60
        return URLSession(configuration: configuration)
    }()
}
