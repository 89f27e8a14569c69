import Foundation
import Testing

@testable import KVStore
import KVStoreTesting
import KVTestSupport

/// A full disk on a real file system: a child process under `RLIMIT_FSIZE` (SIGXFSZ
/// ignored, so writes past it fail with EFBIG) writes until the store refuses. The store must
/// turn read-only with the file system's error, keep answering reads, and — reopened without
/// the limit — hold every acknowledged write.
@Suite struct FullDiskTests {
    @Test(arguments: ["wal", "table"])
    func aFileSizeLimitTurnsTheStoreReadOnlyAndLosesNothing(target: String) throws {
        let dir = TemporaryDirectory("fsize-\(target)")
        let limit = 3 << 19  // 1.5 MiB: past the log's first 1 MiB chunk, below a 4 MiB memtable
        let run = try runProcess(productPath("kvcrash"), ["fsize", dir.path, String(limit), target], timeout: 300)
        let lines = run.text.split(separator: "\n").map(String.init)
        #expect(run.status == 0, "\(lines.suffix(5))")
        let acked = lines.filter { $0.hasPrefix("P ") }.compactMap { Int($0.dropFirst(2)) }
        let failure = try #require(lines.first { $0.hasPrefix("E ") }, "\(lines.suffix(5))")
        #expect(failure.contains("errno 27") || failure.contains("too large"), "EFBIG named: \(failure)")
        #expect(lines.contains { $0.hasPrefix("R ") && $0.contains("read-only") }, "further writes refused: \(lines.suffix(4))")
        #expect(lines.contains("G \(acked.count - 1)"), "reads still answered")
        #expect(acked.count > 500, "the limit was reached by writing, not at open")
        if target == "table" {
            // The limit must have been met by a table, not the log.
            #expect(failure.contains(".sst") || failure.contains("compaction") || failure.contains("flush") || failure.contains("background"), "\(failure)")
        } else {
            #expect(failure.contains(".log"), "\(failure)")
        }

        // Reopened without the limit: everything acknowledged is there.
        let store = try KVStore.open(at: dir.path)
        var missing = 0
        for i in acked where try store.get(bytes("k\(i)"))?.count != 1024 { missing += 1 }
        #expect(missing == 0, "\(missing) of \(acked.count) acknowledged writes lost")
        try store.put(bytes("after-reopen"), bytes("ok"))
        try store.close()
    }

    /// A really full file system: the store on a 3 MiB tmpfs (mounted for the test: root
    /// only, otherwise reported as skipped) fills up. ENOSPC turns it read-only; a copy of the
    /// directory on the real disk opens with every acknowledged write.
    @Test func aFullFileSystemTurnsTheStoreReadOnlyAndLosesNothing() throws {
        let dir = TemporaryDirectory("enospc")
        let mountPoint = dir.path + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint])
        if mount.status != 0 { try Test.cancel("cannot mount a tmpfs here (needs root): \(mount.text)") }
        defer { _ = try? runProcess("/bin/umount", [mountPoint]) }
        let run = try runProcess(productPath("kvcrash"), ["fsize", mountPoint + "/db", "0", "wal"], timeout: 300)
        let lines = run.text.split(separator: "\n").map(String.init)
        #expect(run.status == 0, "\(lines.suffix(5))")
        let acked = lines.filter { $0.hasPrefix("P ") }.compactMap { Int($0.dropFirst(2)) }
        let failure = try #require(lines.first { $0.hasPrefix("E ") }, "\(lines.suffix(5))")
        #expect(failure.contains("errno 28") || failure.contains("No space left"), "ENOSPC named: \(failure)")
        #expect(lines.contains { $0.hasPrefix("R ") && $0.contains("read-only") })
        #expect(lines.contains("G \(acked.count - 1)"))
        #expect(acked.count > 500)

        let copy = dir.path + "/copy"
        #expect(try runProcess("/bin/cp", ["-a", mountPoint + "/db", copy]).status == 0)
        let store = try KVStore.open(at: copy)
        var missing = 0
        for i in acked where try store.get(bytes("k\(i)"))?.count != 1024 { missing += 1 }
        #expect(missing == 0, "\(missing) of \(acked.count) acknowledged writes lost")
        try store.close()
    }
}
