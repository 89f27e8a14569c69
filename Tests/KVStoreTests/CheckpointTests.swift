import CoreMetrics
import Foundation
import MetricsTestKit
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting
import KVTestSupport

/// Checkpoints, backups, options changed while open, and the engine's swift-metrics figures.
@Suite struct CheckpointTests {
    static func smallOptions() -> Options {
        var o = Options()
        o.writeBufferSize = 64 << 10
        o.targetFileSize = 64 << 10
        o.maxBytesForLevelBase = 1 << 20
        o.blockSize = 1024
        return o
    }

    /// Checkpoints taken while a writer runs and flushes and compactions move tables: each
    /// opens, verifies, holds every write acknowledged before it began, and is a prefix of
    /// the writer's history (keys 0..<m, no gaps).
    @Test func checkpointsUnderWritesAndCompactionsAreConsistentPrefixes() throws {
        let dir = TemporaryDirectory("checkpoint")
        let store = try KVStore.open(at: dir.path + "/db", options: Self.smallOptions())
        let acked = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let padding = [UInt8](repeating: UInt8(ascii: "."), count: 300)
        let writer = Thread {
            var i = 0
            while !stop.load(ordering: .relaxed) && i < 200_000 {
                guard (try? store.put(bytes("k\(i)"), bytes("v\(i)") + padding)) != nil else { return }
                i += 1
                acked.store(i, ordering: .releasing)
            }
        }
        writer.start()
        var taken: [(path: String, ackedBefore: Int, info: CheckpointInfo)] = []
        for n in 0..<6 {
            while acked.load(ordering: .acquiring) < (n + 1) * 1500 { usleep(1000) }
            let before = acked.load(ordering: .acquiring)
            let path = dir.path + "/cp-\(n)"
            taken.append((path, before, try store.checkpoint(to: path)))
        }
        stop.store(true, ordering: .relaxed)
        while !writer.isFinished { usleep(1000) }
        #expect(store.statistics().compactions + store.statistics().trivialMoves > 0, "compactions ran meanwhile")
        #expect(throws: KVError.self) { try store.checkpoint(to: taken[0].path) }  // exists
        try store.close()

        for (path, before, info) in taken {
            #expect(try Verifier.verify(directory: path).corruptFiles.isEmpty, "\(path) verifies")
            #expect(info.tables > 0 && info.linkedTables == info.tables, "same file system: every table linked")
            let cp = try KVStore.open(at: path)
            let count = try cp.count()
            #expect(count >= before, "\(path) holds every write acknowledged before it began")
            // Put i has sequence i + 1: the recorded sequence is exactly what the tables hold
            // (a replica skips the stream up to it).
            #expect(info.lastSequence == UInt64(count), "\(path): sequence \(info.lastSequence), \(count) writes")
            #expect(try cp.get(bytes("k\(count - 1)")) == bytes("v\(count - 1)") + padding)
            #expect(try cp.get(bytes("k\(count)")) == nil, "a prefix: nothing past its last key")
            var expected = 0
            for (key, value) in try cp.entries() {
                _ = key
                #expect(value == bytes("v") + bytes(String(Int(String(decoding: key.dropFirst(), as: UTF8.self)) ?? -1)) + padding)
                expected += 1
            }
            #expect(expected == count)
            // Keys sort as strings; the prefix property by index: every k<i> for i < count.
            for i in stride(from: 0, to: count, by: max(1, count / 200)) {
                #expect(try cp.get(bytes("k\(i)")) == bytes("v\(i)") + padding, "\(path): k\(i)")
            }
            try cp.close()
        }
    }

    /// A process taking checkpoints while writing is killed at random moments: the source
    /// keeps every acknowledged write; every checkpoint whose directory exists opens,
    /// verifies and holds what was acknowledged before it began; a half-made one exists only
    /// as `.tmp`, never under its name.
    @Test func killNineDuringCheckpointsLeavesNoHalfCheckpoint() throws {
        let dir = TemporaryDirectory("checkpoint-kill")
        let seed = UInt64.random(in: 0..<UInt64.max)
        var rng = SplitMix64(seed: seed)
        let padding = [UInt8](repeating: UInt8(ascii: "."), count: 200)
        var checkpointsSeen = 0
        for cycle in 0..<4 {
            let source = dir.path + "/db", checkpoints = dir.path + "/cps-\(cycle)"
            let child = try ChildProcess(productPath("kvcrash"), ["checkpointer", source, checkpoints])
            #expect(child.readLine(timeout: 60) == "READY", "seed \(seed)")
            usleep(UInt32.random(in: 200_000..<900_000, using: &rng))
            child.kill()
            let lines = Array(child.allLines().dropFirst())
            var ackedSoFar = -1
            var ackedAtStart: [Int: Int] = [:]
            var completed = Set<Int>()
            for line in lines {
                let f = line.split(separator: " ")
                guard f.count >= 2, let n = Int(f[1]) else { continue }
                switch f[0] {
                case "P": ackedSoFar = max(ackedSoFar, n)
                case "S": ackedAtStart[n] = ackedSoFar
                case "C": completed.insert(n)
                default: break
                }
            }
            let store = try KVStore.open(at: source)
            for i in stride(from: 0, through: ackedSoFar, by: max(1, ackedSoFar / 300)) {
                #expect(try store.get(bytes("k\(i)")) == bytes("v\(i)") + padding, "seed \(seed): source lost k\(i)")
            }
            if ackedSoFar >= 0 { #expect(try store.get(bytes("k\(ackedSoFar)")) == bytes("v\(ackedSoFar)") + padding) }
            try store.close()
            let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []
            for name in names where !name.hasSuffix(".tmp") {
                guard let n = Int(name.dropFirst(3)), let before = ackedAtStart[n] else {
                    Issue.record("seed \(seed): unexpected \(name)")
                    continue
                }
                let path = checkpoints + "/" + name
                #expect(try Verifier.verify(directory: path).corruptFiles.isEmpty, "seed \(seed): \(name)")
                let cp = try KVStore.open(at: path)
                if before >= 0 { #expect(try cp.get(bytes("k\(before)")) == bytes("v\(before)") + padding, "seed \(seed): \(name)") }
                try cp.close()
                checkpointsSeen += 1
            }
            for n in completed { #expect(names.contains("cp-\(n)"), "seed \(seed): reported checkpoint cp-\(n) missing") }
        }
        #expect(checkpointsSeen > 0, "seed \(seed): no checkpoint completed in any cycle")
    }

    /// Backups of a changing store: the second copies only the tables written since the
    /// first; both restore to what the store held; a flipped byte is found by verify and
    /// refused by restore.
    @Test func incrementalBackupsCopyOnlyNewTablesAndRestore() throws {
        let dir = TemporaryDirectory("backup")
        var options = Self.smallOptions()
        options.compactionHold = PauseSwitch(paused: true)  // tables stay as flushed: exact counts
        let store = try KVStore.open(at: dir.path + "/db", options: options)
        for i in 0..<500 { try store.put(bytes("a\(i)"), bytes("first-\(i)")) }
        try store.checkpoint(to: dir.path + "/cp1")
        let first = try Backups.create(from: dir.path + "/cp1", into: dir.path + "/backups", createdMillis: 1)
        #expect(first.id == 1)
        let firstTables = first.files.filter { $0.path.hasPrefix("shared/") }.count
        #expect(first.copiedFiles == first.files.count)
        for i in 0..<300 { try store.put(bytes("b\(i)"), bytes("second-\(i)")) }
        try store.checkpoint(to: dir.path + "/cp2")
        let second = try Backups.create(from: dir.path + "/cp2", into: dir.path + "/backups", createdMillis: 2)
        let secondTables = second.files.filter { $0.path.hasPrefix("shared/") }.count
        #expect(secondTables > firstTables)
        #expect(second.copiedFiles == (secondTables - firstTables) + 2, "new tables, MANIFEST and CURRENT only")
        try store.close()

        #expect(try Backups.list(dir.path + "/backups").map(\.id) == [1, 2])
        #expect(try Backups.verify(dir.path + "/backups", id: 2).isEmpty)
        _ = try Backups.restore(dir.path + "/backups", id: 1, to: dir.path + "/r1")
        _ = try Backups.restore(dir.path + "/backups", id: 2, to: dir.path + "/r2")
        let r1 = try KVStore.open(at: dir.path + "/r1"), r2 = try KVStore.open(at: dir.path + "/r2")
        #expect(try r1.count() == 500 && r2.count() == 800)
        #expect(try r1.get(bytes("b1")) == nil && r2.get(bytes("b1")) == bytes("second-1") && r2.get(bytes("a7")) == bytes("first-7"))
        try r1.close()
        try r2.close()

        let victim = dir.path + "/backups/" + second.files.first { $0.path.hasPrefix("shared/") }!.path
        let handle = try #require(FileHandle(forUpdatingAtPath: victim))
        try handle.seek(toOffset: 10)
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: 10)
        try handle.write(contentsOf: [byte ^ 0x40])
        try handle.close()
        let problems = try Backups.verify(dir.path + "/backups", id: 2)
        #expect(problems.count == 1 && problems[0].contains(victim) && problems[0].contains("CRC32C"))
        #expect(throws: KVError.self) { try Backups.restore(dir.path + "/backups", id: 2, to: dir.path + "/r3") }
    }

    /// Block-cache size and the stall triggers change on an open store; a change the rules
    /// forbid is refused whole.
    @Test func liveOptionsChangeWhileOpen() throws {
        let dir = TemporaryDirectory("live-options")
        var options = Options()
        options.blockSize = 1024
        let store = try KVStore.open(at: dir.path, options: options)
        for i in 0..<5000 { try store.put(bytes(String(format: "k%06d", i)), [UInt8](repeating: 7, count: 100)) }
        try store.flush()
        for i in 0..<5000 { _ = try store.get(bytes(String(format: "k%06d", i))) }
        #expect(store.statistics().blockCacheBytes > 256 << 10)
        var live = store.liveOptions
        live.blockCacheCapacity = 64 << 10
        live.level0SlowdownTrigger = 10
        live.level0StopTrigger = 30
        try store.setOptions(live)
        #expect(store.liveOptions == live)
        #expect(store.statistics().blockCacheBytes <= 64 << 10, "shrinking evicts at once")
        var bad = live
        bad.level0StopTrigger = 2  // below the slowdown trigger
        #expect(throws: KVError.self) { try store.setOptions(bad) }
        #expect(store.liveOptions == live, "nothing changed")
        try store.close()
        #expect(throws: KVError.self) { try store.setOptions(live) }
    }

    /// The engine's figures reach a swift-metrics backend: gauges per level, counters that
    /// advance by what happened since the last update.
    @Test func metricsPublishTheEngineFigures() throws {
        let dir = TemporaryDirectory("metrics")
        let store = try KVStore.open(at: dir.path)
        let backend = TestMetrics()
        let metrics = KVStoreMetrics(store: store, prefix: "kv", factory: backend, every: nil)
        for i in 0..<100 { try store.put(bytes("k\(i)"), bytes("v\(i)")) }
        try store.flush()
        metrics.update()
        #expect(try backend.expectCounter("kv_flushes_total").totalValue == 1)
        #expect(try backend.expectGauge("kv_level_files", [("level", "0")]).lastValue == 1)
        let written = try backend.expectCounter("kv_user_bytes_written_total").totalValue
        #expect(written == Int64(store.statistics().userBytesWritten))
        try store.flush()  // nothing to flush: the counter must not move
        metrics.update()
        #expect(try backend.expectCounter("kv_flushes_total").totalValue == 1)
        metrics.cancel()
        try store.close()
    }
}
