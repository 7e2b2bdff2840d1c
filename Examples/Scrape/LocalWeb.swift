import FlyingFox
import Foundation
import Synchronization

/// The stand-in for the web: an HTTP server on 127.0.0.1, on a port the system picks, serving
/// ``Pages`` at `/page/N`, each after a delay, as a distant server would answer. It counts the
/// requests it is serving at once, and the most it saw.
final class LocalWeb: Sendable {
    private let server: HTTPServer
    private let running: Task<Void, any Error>
    private let inFlight = InFlight()
    /// Where the pages are: `http://127.0.0.1:PORT`.
    let baseURL: String

    /// Starts serving `pages` pages, each after `delay`, and returns once the server listens.
    init(pages: Int, delay: Duration) async throws {
        let server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), logger: .disabled)
        self.server = server
        let inFlight = self.inFlight
        await server.appendRoute("GET /page/:index") { (index: Int) async throws -> HTTPResponse in
            guard (0..<pages).contains(index) else { return HTTPResponse(statusCode: .notFound) }
            inFlight.begin()
            defer { inFlight.end() }
            try await Task.sleep(for: delay)
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                                body: Data(Pages.content(index).utf8))
        }
        running = Task { try await server.run() }
        try await server.waitUntilListening(timeout: 10)
        guard case .ip4(_, let port) = await server.listeningAddress else {
            throw NotListening()
        }
        baseURL = "http://127.0.0.1:\(port)"
    }

    /// The most requests the server was serving at once.
    var peakInFlight: Int { inFlight.peak }

    /// Stops serving.
    func stop() async {
        await server.stop()
        running.cancel()
    }
}

/// The server started but has no IPv4 address to give the workers.
struct NotListening: Error, CustomStringConvertible {
    var description: String { "the local server listens on no IPv4 address" }
}

/// The requests being served, and the most at once: shared by the route's handler calls.
final class InFlight: Sendable {
    private let counts = Mutex<(now: Int, peak: Int)>((0, 0))

    /// A request starts being served.
    func begin() { counts.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) } }

    /// A request was answered.
    func end() { counts.withLock { $0.now -= 1 } }

    /// The most requests served at once so far.
    var peak: Int { counts.withLock { $0.peak } }
}
