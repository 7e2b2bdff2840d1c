import ClusterDoctor
import Testing

@Suite struct HostNameTests {
    @Test(arguments: [
        "host1", "rpi-1", "node-01.cluster.local", "a", "10.0.0.12", "A-b-C", "0node",
        String(repeating: "a", count: 63),
        // 253 characters: the most there may be.
        [String](repeating: String(repeating: "b", count: 63), count: 3).joined(separator: ".") + "." + String(repeating: "c", count: 61),
    ])
    func validNames(_ name: String) {
        #expect(HostName.problem(with: name) == nil, "\(name)")
    }

    @Test func invalidNamesAndWhy() {
        #expect(HostName.problem(with: "") == .empty)
        #expect(HostName.problem(with: "(none)") == .unset)
        #expect(HostName.problem(with: "node_1") == .invalidCharacter("_"))
        #expect(HostName.problem(with: "host1.") == .trailingDot)
        #expect(HostName.problem(with: "-rpi") == .hyphenAtEdge("-rpi"))
        #expect(HostName.problem(with: "rpi-") == .hyphenAtEdge("rpi-"))
        #expect(HostName.problem(with: "a.-b.c") == .hyphenAtEdge("-b"))
        #expect(HostName.problem(with: "a..b") == .emptyLabel)
        #expect(HostName.problem(with: ".a") == .emptyLabel)
        #expect(HostName.problem(with: "rpi 1") == .invalidCharacter(" "))
        #expect(HostName.problem(with: "rpí") == .invalidCharacter("í"))
        #expect(HostName.problem(with: String(repeating: "a", count: 64)) == .labelTooLong(String(repeating: "a", count: 64)))
        let long = [String](repeating: String(repeating: "c", count: 63), count: 5).joined(separator: ".")
        #expect(HostName.problem(with: long) == .tooLong(319))
    }

    @Test func messagesSayWhatIsWrong() throws {
        let underscore = try #require(HostName.problem(with: "node_1"))
        #expect(underscore.description.contains("underscore"))
        let unset = try #require(HostName.problem(with: "(none)"))
        #expect(unset.description.contains("no host name was set"))
        let hyphen = try #require(HostName.problem(with: "rpi-"))
        #expect(hyphen.description.contains("inside a part a hyphen is fine"))
    }

    @Test func suggestionsAreValidNames() {
        #expect(HostName.suggestion(for: "node_1") == "node-1")
        #expect(HostName.suggestion(for: "host1.") == "host1")
        #expect(HostName.suggestion(for: "-rpi-") == "rpi")
        #expect(HostName.suggestion(for: "a..b") == "a.b")
        #expect(HostName.suggestion(for: "(none)") == nil)
        #expect(HostName.suggestion(for: "rpi-1") == nil)  // Already valid: nothing to suggest.
    }
}
