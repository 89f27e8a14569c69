import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

/// Replays the committed fuzz corpora (seeds, every input that once crashed a decoder, and the
/// corpus of each 10M-execution run minimized with `-merge=1`: inputs that each reached code
/// no other did) through the same entry points `make fuzz` drives, so a regression fails
/// `make test`.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    @Test(arguments: FuzzTargets.names)
    func corpusReplaysWithoutCrashing(_ target: String) throws {
        let dir = Self.corpus.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!files.isEmpty, "no corpus for \(target)")
        for name in files {
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            bytes.withUnsafeBytes { FuzzTargets.run(target, $0) }
        }
    }

    @Test func seedsAreWhatTheDecodersAccept() throws {
        // The seeds are valid inputs: each decodes without error (so fuzzing starts deep).
        for seed in FuzzTargets.seeds() where seed.target == "wal" {
            var reader = LogReader(bytes: seed.bytes, path: "seed", purpose: .writeAheadLog)
            var records = 0
            while try reader.next() != nil { records += 1 }
            #expect(records == 2 && reader.tornTail == nil)
        }
        for seed in FuzzTargets.seeds() where seed.target == "manifest" {
            var reader = LogReader(bytes: seed.bytes, path: "seed", purpose: .manifest)
            while let (offset, record) = try reader.next() {
                _ = try VersionEdit.decode(record, file: "seed", offset: offset)
            }
        }
        for seed in FuzzTargets.seeds() where seed.target == "block" {
            let block = try Block(contents: seed.bytes, file: "seed", fileOffset: 0)
            var cursor = BlockCursor(block)
            var n = 0
            cursor.seekToFirst()
            while cursor.isValid { n += 1; cursor.next() }
            #expect(n == 40 && cursor.error == nil)
        }
    }
}
