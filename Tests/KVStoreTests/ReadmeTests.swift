import Foundation
import Testing

/// The README's embedding example is the source of the `ReadmeExample` target, so it compiles
/// with the package; this test keeps the two identical and runs the result.
@Suite struct ReadmeTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func readmeExampleIsTheCompiledExample() throws {
        let readme = try String(contentsOf: Self.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: Self.packageRoot.appendingPathComponent("Tests/ReadmeExample/main.swift"), encoding: .utf8)
        guard let start = readme.range(of: "```swift\nimport KVStore\n") else {
            Issue.record("README has no ```swift block starting with import KVStore")
            return
        }
        let rest = readme[start.upperBound...]
        guard let end = rest.range(of: "```") else {
            Issue.record("unterminated code block")
            return
        }
        let block = "import KVStore\n" + rest[..<end.lowerBound]
        #expect(block == source)
        #expect(source.split(separator: "\n").count <= 12)
    }

    @Test func readmeExampleRuns() throws {
        let dir = TemporaryDirectory("readme")
        let child = try ChildProcess(productPath("ReadmeExample"), [dir.path + "/db"])
        #expect(child.readLine(timeout: 60) == "hello, world")
        #expect(child.allLines() == ["hello, world"])
    }
}
