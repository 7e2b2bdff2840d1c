import Foundation

/// The pages the local server serves, the same in every process: page `n`'s text is made from `n`,
/// so a fetched page can be checked against the original.
enum Pages {
    /// The text of page `index`: a title and a few hundred bytes, more for later pages.
    static func content(_ index: Int) -> String {
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
        let body = (0..<(40 + index % 17)).map { words[($0 * 7 + index) % words.count] }.joined(separator: " ")
        return "<html><head><title>Page \(index)</title></head><body><p>\(body)</p></body></html>\n"
    }

    /// FNV-1a, 64 bits: a checksum of a page's bytes that every process computes alike.
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    /// The path of page `index` on the server.
    static func path(_ index: Int) -> String { "/page/\(index)" }
}

/// What a worker brings back from a page: enough to check it without sending the page itself.
struct Fetched: Codable, Sendable {
    /// The page's address.
    var url: String
    /// The page's length in bytes.
    var bytes: Int
    /// ``Pages/checksum(_:)`` of its bytes.
    var checksum: UInt64
}
