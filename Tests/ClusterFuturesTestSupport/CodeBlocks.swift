import Foundation

/// The code blocks of the repository's Markdown and doc comments, and the compiled sources that must
/// contain them: how the README's and the documentation's tests check that their code is built.
public enum CodeBlocks {
    /// The repository's root.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The text of a file under the repository's root.
    public static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// The ```` ```swift ```` blocks of Markdown text, in order, without their fences.
    public static func swiftBlocks(inMarkdown text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current.map { $0.joined(separator: "\n") } ?? "")
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// The ```` ```swift ```` blocks of the `///` doc comments of Swift source, in order: each
    /// comment line without its `///` and the one space after it.
    public static func swiftBlocks(inDocComments source: String) -> [String] {
        let commentLines = source.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("///") else { return "" }   // ends nothing by itself, joins nothing
            let text = trimmed.dropFirst(3)
            return String(text.first == " " ? text.dropFirst() : text)
        }
        return swiftBlocks(inMarkdown: commentLines.joined(separator: "\n"))
    }

    /// Every file whose name ends with `suffix` under the folder `relativePath` of the repository,
    /// read, by path relative to the root.
    public static func files(under relativePath: String, endingWith suffix: String) throws -> [String: String] {
        let folder = root.appendingPathComponent(relativePath)
        var found: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        while let file = enumerator?.nextObject() as? URL {
            guard file.lastPathComponent.hasSuffix(suffix) else { continue }
            let relative = String(file.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            found[relative] = try String(contentsOf: file, encoding: .utf8)
        }
        return found
    }

    /// `text` line by line without leading spaces, so that a block matches code indented deeper.
    static func trimmedLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.drop { $0 == " " } }.joined(separator: "\n")
    }

    /// Compiled source files to look code blocks up in, each trimmed once (``trimmedLines(_:)``).
    public struct CompiledSources: Sendable {
        private let trimmed: [String]

        /// The files' texts.
        public init(_ sources: some Sequence<String>) {
            trimmed = sources.map(CodeBlocks.trimmedLines)
        }

        /// Whether one of the files contains `block`, line for line, whatever either's indentation.
        public func contain(_ block: String) -> Bool {
            let lines = CodeBlocks.trimmedLines(block)
            return trimmed.contains { $0.contains(lines) }
        }
    }
}
