import Foundation
import KVServer
import KVServerTesting
import Testing

/// Replays the committed corpus of the server's fuzz target (`make fuzz`, target `resp`):
/// the seeds, every input that once crashed the parser or the dispatch, and the corpus of the
/// 10M-execution run minimized with `-set_cover_merge=1` (1,722 inputs; `-merge=1` kept 5,948).
@Suite struct ServerFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus/resp")

    @Test func corpusReplaysWithoutCrashing() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
        #expect(!files.isEmpty, "no corpus for resp")
        for name in files {
            let bytes = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            bytes.withUnsafeBytes { ServerFuzzTarget.run($0) }
        }
        for seed in ServerFuzzTarget.seeds { seed.bytes.withUnsafeBytes { ServerFuzzTarget.run($0) } }
    }
}
