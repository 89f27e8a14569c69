import Foundation
import Testing

import KVTestSupport

/// The DocC article's leaderboard is the `LeaderboardExample` target: every line of code in
/// the article is in it, and it runs to the end.
@Suite struct LeaderboardExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theArticlesCodeIsCompiledAndRuns() throws {
        let article = try String(contentsOf: Self.root.appendingPathComponent("Sources/KVCollections/KVCollections.docc/Leaderboard.md"), encoding: .utf8)
        let example = try String(contentsOf: Self.root.appendingPathComponent("Tests/LeaderboardExample/main.swift"), encoding: .utf8)
        let exampleLines = Set(example.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        var inCode = false
        var checked = 0
        for line in article.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("```") {
                inCode = t == "```swift"
                continue
            }
            // Trailing comments aside; the one line allowed to differ says where the store lives.
            let code = (t.range(of: "  //").map { String(t[..<$0.lowerBound]) } ?? t).trimmingCharacters(in: .whitespaces)
            guard inCode, !code.isEmpty, !code.hasPrefix("//"), !code.contains("\"/var/lib/") else { continue }
            #expect(exampleLines.contains(code), "the article's line is not in the example: \(code)")
            checked += 1
        }
        #expect(checked > 20)
        let run = try runProcess(productPath("LeaderboardExample"), [], timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.text.contains("bob placed 2; 1 scored 3,000 or more"), "\(run.text)")
    }
}
