import ClusterDoctor
import Testing

@Suite struct MachinefileTests {
    @Test func hydraSyntax() throws {
        let text = """
            # the head node
            head
            host1:2   # two slots
            \thost2:3:eth1 user=pi binding=rr

            node_1:1\r
            host1:2
            """
        let file = try Machinefile(parsing: text)
        #expect(file.hosts == [
            .init(name: "head", slots: 1, line: 2),
            .init(name: "host1", slots: 4, line: 3),  // Its two lines add up.
            .init(name: "host2", slots: 3, interface: "eth1", user: "pi", line: 4),
            .init(name: "node_1", slots: 1, line: 6),  // The parser takes any name; the doctor judges it.
        ])
        #expect(file.totalSlots == 9)
    }

    @Test func emptyAndCommentsOnly() throws {
        #expect(try Machinefile(parsing: "").hosts.isEmpty)
        #expect(try Machinefile(parsing: "# nothing\n\n   \n#host1:2\n").hosts.isEmpty)
    }

    @Test(arguments: [
        ("host1:0", 1, "positive number of slots"),
        ("host1\nhost2:two", 2, "positive number of slots"),
        ("host1:-1", 1, "positive number of slots"),
        (":2", 1, "no host name"),
        ("fe80::1", 1, "IPv6"),
        ("host1:2:", 1, "empty interface"),
        ("host1 extra", 1, "not key=value"),
        ("host1 ifhn=eth0", 1, "\"ifhn=\" is not a machinefile option"),
        ("host1 user=", 1, "user= needs a name"),
    ])
    func refusedLines(_ text: String, _ line: Int, _ reason: String) {
        #expect {
            _ = try Machinefile(parsing: text)
        } throws: { error in
            guard let error = error as? Machinefile.SyntaxError else { return false }
            return error.line == line && error.reason.contains(reason)
        }
    }
}
