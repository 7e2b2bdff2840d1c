import ClusterFuturesTestSupport
import Foundation
import Testing

/// The documentation's code is code: the articles show snippets that `swift build` compiles
/// (`Snippets/`), every example in a doc comment is in a compiled file, and the articles that list
/// things (every error code, every mpi4py call) list what the code has. `.ci/run` builds the
/// catalogs themselves with warnings as errors.
@Suite("The documentation's code and lists")
struct DocumentationTests {
    /// The snippets, by path: Swift files that `swift build` compiles for the documentation.
    static func snippets() throws -> [String: String] {
        try CodeBlocks.files(under: "Snippets", endingWith: ".swift")
    }

    /// The snippets and the examples: every Swift file that `swift build` compiles for the
    /// documentation and the examples.
    static func compiledSources(snippets: [String: String]) throws -> CodeBlocks.CompiledSources {
        CodeBlocks.CompiledSources(Array(snippets.values) + Array(try CodeBlocks.files(under: "Examples", endingWith: ".swift").values))
    }

    /// Every article and landing page of every catalog, by path.
    static func articles() throws -> [String: String] {
        try CodeBlocks.files(under: "Sources", endingWith: ".md").filter { $0.key.contains(".docc/") }
    }

    @Test("every Swift example in a doc comment under Sources/ is in a compiled file under Snippets/ or Examples/")
    func docCommentExamplesAreBuilt() throws {
        let sources = try Self.compiledSources(snippets: Self.snippets())
        var count = 0
        for (path, text) in try CodeBlocks.files(under: "Sources", endingWith: ".swift") {
            for block in CodeBlocks.swiftBlocks(inDocComments: text) {
                count += 1
                let built = sources.contain(block)
                #expect(built,
                        "this example in \(path) is in no file under Snippets/ or Examples/, so nothing builds it:\n\(block)")
            }
        }
        #expect(count >= 20, "only \(count) Swift examples found in doc comments")
    }

    @Test("every Swift block written into an article is in a compiled file, and every @Snippet names a snippet and slice that exist")
    func articleCodeIsBuilt() throws {
        let snippets = try Self.snippets()
        let sources = try Self.compiledSources(snippets: snippets)
        let directive = /@Snippet\(path: "ClusterFutures\/Snippets\/(\w+)"(?:, slice: "(\w+)")?\)/
        var count = 0
        for (path, text) in try Self.articles() {
            for block in CodeBlocks.swiftBlocks(inMarkdown: text) {
                let built = sources.contain(block)
                #expect(built, "this block of \(path) is in no compiled file:\n\(block)")
            }
            for match in text.matches(of: directive) {
                count += 1
                let file = try #require(snippets["Snippets/\(match.1).swift"], "\(path): no snippet Snippets/\(match.1).swift")
                if let slice = match.2 {
                    #expect(file.contains("// snippet.\(slice)\n"), "\(path): Snippets/\(match.1).swift has no slice \(slice)")
                }
            }
        }
        #expect(count >= 25, "only \(count) @Snippet directives found in the articles")
    }

    @Test("every ClusterFuturesError code has a section in ErrorsAndWhatTheyMean with an example message")
    func everyErrorCodeIsExplained() throws {
        let source = try CodeBlocks.read("Sources/ClusterFutures/ClusterFuturesError.swift")
        let codes = source.matches(of: /public static let (\w+) = Code\("(\w+)"\)/).map { String($0.2) }
        #expect(codes.count >= 10, "\(codes)")
        let article = try CodeBlocks.read("Sources/ClusterFutures/ClusterFutures.docc/ErrorsAndWhatTheyMean.md")
        let sections = article.components(separatedBy: "\n### ").dropFirst()
        for code in codes {
            let section = try #require(sections.first { $0.hasPrefix("\(code)\n") }, "no section ### \(code)")
            #expect(section.contains("\nClusterFuturesError.\(code): "), "the section \(code) shows no example message")
            #expect(section.contains("Fix"), "the section \(code) says no fix")
        }
        #expect(sections.count == codes.count, "sections: \(sections.map { $0.prefix(30) })")
    }

    @Test("every Swift form in the mpi4py table is compiled in the MPIForMpi4pyUsers snippet")
    func mpi4pyTableIsCompiled() throws {
        let article = try CodeBlocks.read("Sources/MPI/MPI.docc/MPIForMpi4pyUsers.md")
        let snippet = try CodeBlocks.read("Snippets/MPIForMpi4pyUsers.swift")
        let rows = article.split(separator: "\n").filter { $0.hasPrefix("| `") }
        var forms = 0
        for row in rows {
            let swift = try #require(row.split(separator: " | ").last)
            for match in swift.matches(of: /`([^`]+)`/) {
                forms += 1
                #expect(snippet.contains(match.1), "not in Snippets/MPIForMpi4pyUsers.swift: \(match.1)")
            }
        }
        #expect(rows.count >= 80 && forms >= 120, "\(rows.count) rows, \(forms) Swift forms")
    }

    @Test("every article is linked from its catalog's landing page")
    func articlesAreLinked() throws {
        let articles = try Self.articles()
        let catalogs = Set(articles.keys.map { $0.components(separatedBy: ".docc/")[0] + ".docc" })
        #expect(catalogs.count >= 5, "\(catalogs)")
        for catalog in catalogs {
            let module = catalog.split(separator: "/").last.map { $0.replacingOccurrences(of: ".docc", with: "") } ?? ""
            let landing = try #require(articles["\(catalog)/\(module).md"], "\(catalog) has no landing page")
            // Top-level articles; folders hold documentation extensions of symbols.
            for path in articles.keys where path.hasPrefix(catalog + "/") && !path.dropFirst(catalog.count + 1).contains("/") {
                let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                guard name != module else { continue }
                #expect(landing.contains("- <doc:\(name)>"), "\(catalog)/\(module).md does not list <doc:\(name)>")
            }
        }
    }
}
