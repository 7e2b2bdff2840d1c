import ClusterFuturesTestSupport
import Foundation
import Testing

/// The README's code is code: every Swift snippet is built by a target of this package, and its
/// Package.swift resolves as it is written.
@Suite("The README's snippets")
struct ReadmeTests {
    /// The README's ```swift blocks, in order.
    static func swiftBlocks() throws -> [String] {
        CodeBlocks.swiftBlocks(inMarkdown: try CodeBlocks.read("README.md"))
    }

    @Test("every Swift snippet of the README other than its Package.swift is in an example target, so it compiles")
    func snippetsAreBuilt() throws {
        let blocks = try Self.swiftBlocks().filter { !$0.contains("import PackageDescription") }
        #expect(blocks.count >= 2, "the README has \(blocks.count) Swift snippets")
        let sources = CodeBlocks.CompiledSources(try CodeBlocks.files(under: "Examples", endingWith: ".swift").values)
        for block in blocks {
            let built = sources.contain(block)
            #expect(built,
                    "this README snippet is not in any file under Examples/, so nothing builds it:\n\(block)")
        }
    }

    @Test("the README's Package.swift resolves ClusterFutures and its product, by path and by git URL", .timeLimit(.minutes(5)))
    func manifestResolves() async throws {
        let manifest = try #require(try Self.swiftBlocks().first { $0.contains("import PackageDescription") })
        let pathForm = ".package(path: \"../ClusterFutures\"),"
        let urlForm = "// .package(url: \"file:///home/you/src/ClusterFutures\", branch: \"main\"),"
        #expect(manifest.contains(pathForm) && manifest.contains(urlForm), "\(manifest)")
        let swift = try #require(MPIRunner.which("swift"), "swift is not on PATH")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tool = scratch.appendingPathComponent("Tool")
        let clone = scratch.appendingPathComponent("ClusterFutures")
        try FileManager.default.createDirectory(at: tool.appendingPathComponent("Sources/Tool"), withIntermediateDirectories: true)
        // "A clone beside this package", in a folder named ClusterFutures.
        try FileManager.default.createSymbolicLink(at: clone, withDestinationURL: CodeBlocks.root)
        try "print(\"tool\")\n".write(to: tool.appendingPathComponent("Sources/Tool/main.swift"), atomically: true, encoding: .utf8)
        let variants = [
            ("path", manifest),
            ("url", manifest.replacingOccurrences(of: pathForm, with: "// " + pathForm)
                .replacingOccurrences(of: urlForm, with: String(urlForm.dropFirst(3)))
                .replacingOccurrences(of: "file:///home/you/src/ClusterFutures", with: "file://" + clone.path)),
        ]
        for (form, text) in variants {
            try text.write(to: tool.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(at: tool.appendingPathComponent(".build"))
            try? FileManager.default.removeItem(at: tool.appendingPathComponent("Package.resolved"))
            let outcome = try await offThePool {
                try MPIRunner.run(executable: swift, arguments: ["package", "--package-path", tool.path, "show-dependencies"],
                                  timeout: 240)
            }
            #expect(outcome.status == 0 && !outcome.timedOut, "the \(form) form does not resolve:\n\(outcome)")
            #expect(outcome.output.lowercased().contains("clusterfutures"), "the \(form) form:\n\(outcome)")
        }
    }

    @Test("the README's example prints what it counts", .timeLimit(.minutes(2)))
    func exampleRuns() async throws {
        let outcome = try await offThePool { try MPIRunner.run("readme-example", processes: nil, [], timeout: 60) }
        #expect(outcome.status == 0 && outcome.lines == ["primes below 1000: 168", "primes below 20000: 2262"], "\(outcome)")
    }

    @Test("the README's ClusterCommand runs alone, with --workers and --executor, and under mpiexec -n 3",
          .timeLimit(.minutes(2)))
    func commandRuns() async throws {
        let expected = ["sum of squares: 333833500"]
        for arguments in [[], ["--workers", "3"], ["--executor", "inline"]] {
            let outcome = try await offThePool { try MPIRunner.run("readme-command", processes: nil, arguments, timeout: 60) }
            #expect(outcome.status == 0 && outcome.lines == expected, "\(arguments):\n\(outcome)")
        }
        let underMPI = try await offThePool { try MPIRunner.run("readme-command", processes: 3, [], timeout: 60) }
        #expect(underMPI.status == 0 && underMPI.lines == expected && underMPI.errors.contains("2 worker ranks"), "\(underMPI)")
    }
}
