import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// The LSM tree as a whole: flushes, compactions, reopen, stalls, damaged MANIFESTs.
@Suite struct LSMTests {
    /// Options that make flushes and compactions happen every few hundred writes.
    static func smallOptions(compression: Compression = .lz4) -> Options {
        var o = Options()
        o.writeBufferSize = 64 << 10
        o.targetFileSize = 64 << 10
        o.maxBytesForLevelBase = 1 << 20
        o.blockSize = 1024
        o.compression = compression
        return o
    }

    /// Seeded random puts, deletes, range deletions, batches, gets, snapshots, iterator walks
    /// (both directions, random seeks, bounds, prefixes), flushes, compactions and reopens,
    /// checked step by step against a sorted model. `KV_MODEL_OPS` and `KV_SEED` scale and
    /// replay it (`make stress` runs it long).
    @Test func modelBasedRandomizedOperations() throws {
        let env = ProcessInfo.processInfo.environment
        let operations = Int(env["KV_MODEL_OPS"] ?? "") ?? 20_000
        let seed = UInt64(env["KV_SEED"] ?? "") ?? UInt64.random(in: 0..<UInt64.max)
        print("model test: seed \(seed), \(operations) operations (replay: KV_SEED=\(seed) KV_MODEL_OPS=\(operations))")
        var rng = SplitMix64(seed: seed)
        let dir = TemporaryDirectory("model")
        var options = Self.smallOptions(compression: Compression.allCases.randomElement(using: &rng)!)
        options.prefixFilterLength = 3
        var store = try KVStore.open(at: dir.path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        var snapshots: [(snapshot: Snapshot, model: [[UInt8]: [UInt8]])] = []
        let keySpace = 3000
        func key(_ i: Int) -> [UInt8] {
            let s = String(i)
            return bytes("k" + String(repeating: "0", count: 4 - s.count) + s)
        }
        func randomKey() -> [UInt8] { key(Int.random(in: 0..<keySpace, using: &rng)) }
        func randomValue() -> [UInt8] {
            let size = Int.random(in: 0..<100, using: &rng) < 3 ? Int.random(in: 1000...5000, using: &rng) : Int.random(in: 0...120, using: &rng)
            return randomBytes(size, &rng)
        }
        func randomRange() -> ([UInt8], [UInt8]) {
            let a = Int.random(in: 0..<keySpace, using: &rng)
            let b = min(keySpace, a + Int.random(in: 0...200, using: &rng))
            return (key(a), key(b))
        }
        func inRange(_ k: [UInt8], _ lo: [UInt8], _ hi: [UInt8]) -> Bool {
            !k.lexicographicallyPrecedes(lo) && k.lexicographicallyPrecedes(hi)
        }
        func check(_ key: [UInt8], _ step: Int) throws {
            let got = try store.get(key)
            #expect(got == model[key], "seed \(seed) step \(step): get \(String(decoding: key, as: UTF8.self))")
        }
        /// A random walk with a random seek, bounds or prefix, against the sorted model.
        func walk(_ step: Int, snapshot: Snapshot?, model m: [[UInt8]: [UInt8]]) throws {
            var ro = ReadOptions(snapshot: snapshot)
            var expected = m.keys.sorted { $0.lexicographicallyPrecedes($1) }
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                let (lo, hi) = randomRange()
                ro.lowerBound = lo
                ro.upperBound = hi
                expected = expected.filter { inRange($0, lo, hi) }
            case 1:
                let p = Array(randomKey().prefix(Int.random(in: 2...4, using: &rng)))
                ro.prefix = p
                expected = expected.filter { $0.starts(with: p) }
            default:
                break
            }
            let it = try store.makeIterator(ro)
            var position: Int
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                it.seekToFirst()
                position = 0
            case 1:
                it.seekToLast()
                position = expected.count - 1
            default:
                let target = randomKey()
                it.seek(to: target)
                position = expected.firstIndex { !$0.lexicographicallyPrecedes(target) } ?? expected.count
                if let lo = ro.lowerBound ?? ro.prefix, target.lexicographicallyPrecedes(lo) { position = 0 }
            }
            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                let inside = position >= 0 && position < expected.count
                #expect(it.isValid == inside, "seed \(seed) step \(step): validity at \(position) of \(expected.count)")
                guard inside && it.isValid else { break }
                #expect(it.key == expected[position], "seed \(seed) step \(step): key at \(position)")
                #expect(it.value == m[expected[position]], "seed \(seed) step \(step): value at \(position)")
                if Bool.random(using: &rng) {
                    it.next()
                    position += 1
                } else {
                    it.previous()
                    position -= 1
                }
            }
            try it.check()
        }
        var reopens = 0, flushes = 0, compactions = 0, walks = 0, ranges = 0
        for step in 0..<operations {
            let dice = Int.random(in: 0..<1000, using: &rng)
            switch dice {
            case 0..<420:
                let k = randomKey(), v = randomValue()
                try store.put(k, v)
                model[k] = v
            case 420..<560:
                let k = randomKey()
                try store.delete(k)
                model[k] = nil
            case 560..<570:
                let (lo, hi) = randomRange()
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    // Open-ended: every key from `lo` on.
                    try store.deleteRange(from: lo, to: nil)
                    model = model.filter { $0.key.lexicographicallyPrecedes(lo) }
                } else {
                    try store.deleteRange(from: lo, to: hi)
                    model = model.filter { !inRange($0.key, lo, hi) }
                }
                ranges += 1
            case 570..<650:
                var batch = WriteBatch()
                var staged = model
                for _ in 0..<Int.random(in: 1...10, using: &rng) {
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0:
                        let (lo, hi) = randomRange()
                        batch.deleteRange(from: lo, to: hi)
                        staged = staged.filter { !inRange($0.key, lo, hi) }
                    case 1...5:
                        let k = randomKey(), v = randomValue()
                        batch.put(k, v)
                        staged[k] = v
                    default:
                        let k = randomKey()
                        batch.delete(k)
                        staged[k] = nil
                    }
                }
                try store.write(batch, options: WriteOptions(sync: Int.random(in: 0..<20, using: &rng) == 0))
                model = staged
            case 650..<900:
                try check(randomKey(), step)
            case 900..<930:
                try walk(step, snapshot: nil, model: model)
                walks += 1
            case 930..<940:
                if snapshots.count < 3 { snapshots.append((try store.snapshot(), model)) }
            case 940..<946:
                if !snapshots.isEmpty { snapshots.remove(at: Int.random(in: 0..<snapshots.count, using: &rng)).snapshot.release() }
            case 946..<970:
                if let (snap, m) = snapshots.randomElement(using: &rng) {
                    if Bool.random(using: &rng) {
                        let k = randomKey()
                        #expect(try store.get(k, options: ReadOptions(snapshot: snap)) == m[k], "seed \(seed) step \(step): snapshot get")
                    } else {
                        try walk(step, snapshot: snap, model: m)
                        walks += 1
                    }
                }
            case 970..<985:
                try store.flush()
                flushes += 1
            case 985..<991:
                let (lo, hi) = randomRange()
                if Bool.random(using: &rng) { try store.compactRange() } else { try store.compactRange(from: lo, to: hi) }
                compactions += 1
            default:
                for s in snapshots { s.snapshot.release() }
                snapshots.removeAll()
                try store.close()
                store = try KVStore.open(at: dir.path, options: options)
                reopens += 1
            }
        }
        for i in 0..<keySpace { try check(key(i), operations) }
        let all = try store.scan()
        #expect(all.map(\.key) == model.keys.sorted { $0.lexicographicallyPrecedes($1) }, "seed \(seed): final scan")
        store.waitForCompactions()
        for i in 0..<keySpace { try check(key(i), operations) }
        let stats = store.statistics()
        print("model test: \(reopens) reopens, \(flushes) flushes, \(compactions) manual compactions, \(walks) iterator walks, \(ranges) range deletions; \(stats.compactions) compactions, \(stats.trivialMoves) moves, \(stats.seekCompactions) seek-triggered (since the last reopen)")
        // The run exercised flushes (statistics restart at each reopen, so count our own).
        #expect(flushes > 0)
        for s in snapshots { s.snapshot.release() }
        try store.close()
    }

    @Test func millionKeysSurviveReopenWithinLevelTargets() throws {
        let dir = TemporaryDirectory("million")
        let count = 1_000_000
        func key(_ i: Int) -> [UInt8] {
            let s = String(i)
            return bytes(String(repeating: "0", count: 16 - s.count) + s)
        }
        func value(_ i: Int) -> [UInt8] { bytes("value-\(i)-0123456789abcdef") }
        do {
            let store = try KVStore.open(at: dir.path)
            var rng = SplitMix64(seed: 5)
            var order = Array(0..<count)
            order.shuffle(using: &rng)
            var batch = WriteBatch()
            for i in order {
                batch.put(key(i), value(i))
                if batch.count == 100 {
                    try store.write(batch)
                    batch.removeAll()
                }
            }
            try store.write(batch)
            try store.close()
        }
        let store = try KVStore.open(at: dir.path)
        store.waitForCompactions()
        for i in 0..<count {
            let v = try store.get(key(i))
            if v != value(i) {
                Issue.record("key \(i) read back as \(v.map { String(decoding: $0, as: UTF8.self) } ?? "nil")")
                break
            }
        }
        store.waitForCompactions()  // the reads may have started seek compactions
        let stats = store.statistics()
        print(stats.report)
        #expect(stats.levels[0].files < 4)
        for level in stats.levels.dropFirst() {
            #expect(level.score < 1.0, "level \(level.level) over its target: \(level.bytes) bytes")
        }
        #expect(stats.levels.reduce(0) { $0 + $1.files } > 4)
        // Only the live log is left: the others were retired once flushed.
        #expect(try logFiles(in: dir.path).count == 1)
        // Exactly the live tables are on disk — compared after a reopen, which deletes whatever
        // no version names: inputs of a seek compaction that finished while a read still held
        // the old version stay until the next change deletes them.
        try store.close()
        let reopened = try KVStore.open(at: dir.path)
        reopened.waitForCompactions()
        let after = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }
        #expect(after.count == reopened.statistics().levels.reduce(0) { $0 + $1.files })
        #expect(try reopened.get(key(count - 1)) == value(count - 1))
        try reopened.close()
    }

    @Test func writeStallsEngageAndRelease() throws {
        let dir = TemporaryDirectory("stall")
        var options = Self.smallOptions()
        options.level0CompactionTrigger = 2
        options.level0SlowdownTrigger = 3
        options.level0StopTrigger = 4
        // Slow enough that this writer outruns it: the slowdown engages before the stop.
        options.delayedWriteRate = 1 << 20
        let pause = PauseSwitch(paused: true)
        options.compactionHold = pause
        let store = try KVStore.open(at: dir.path, options: options)
        let written = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
        let total = 6000  // ~600 KiB: many memtables' worth
        let writer = Thread {
            for i in 0..<total {
                try? store.put(bytes("key\(i)"), [UInt8](repeating: UInt8(i & 0xff), count: 100))
                written.store(i + 1, ordering: .relaxed)
            }
            finished.store(true, ordering: .releasing)
        }
        writer.start()
        // With compactions held, level 0 reaches the stop trigger and the writer waits: wait for
        // the engine to report exactly that (the deadline only bounds a broken build).
        let deadline = Date().addingTimeInterval(60)
        func stoppedAtTheTrigger() -> Bool {
            let s = store.statistics()
            return s.isStalled && s.stops > 0 && s.lastStallReason?.contains("stop trigger") == true
        }
        while Date() < deadline && !finished.load(ordering: .acquiring) && !stoppedAtTheTrigger() { usleep(1000) }
        var stats = store.statistics()
        #expect(stats.isStalled, "writer never stalled")
        let finishedEarly = finished.load(ordering: .acquiring)
        #expect(!finishedEarly)
        #expect(stats.levels[0].files >= options.level0StopTrigger)
        #expect(stats.lastStallReason?.contains("stop trigger") == true, "\(stats.lastStallReason ?? "no reason")")
        #expect(stats.slowdowns > 0)
        #expect(stats.stops > 0)
        #expect(stats.lastStallReason?.contains("level 0") == true)
        // Release compactions: the writer finishes.
        pause.set(false)
        while !finished.load(ordering: .acquiring) && Date() < deadline { usleep(1000) }
        let finishedLate = finished.load(ordering: .acquiring)
        #expect(finishedLate)
        store.waitForCompactions()
        stats = store.statistics()
        #expect(!stats.isStalled)
        #expect(stats.stallSeconds > 0)
        #expect(stats.report.contains("stalls:"))
        for i in stride(from: 0, to: total, by: 97) {
            #expect(try store.get(bytes("key\(i)")) == [UInt8](repeating: UInt8(i & 0xff), count: 100))
        }
        try store.close()
    }

    @Test func corruptManifestFailsTheOpenClearly() throws {
        let dir = TemporaryDirectory("manifest")
        do {
            let store = try KVStore.open(at: dir.path, options: Self.smallOptions())
            for i in 0..<3000 { try store.put(bytes("key\(i)"), [UInt8](repeating: 1, count: 100)) }
            try store.flush()
            try store.close()
        }
        let manifest = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix("MANIFEST-") }!
        let path = dir.file(manifest)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var damaged = original
        damaged[damaged.count / 2] ^= 0x08
        try damaged.write(to: URL(fileURLWithPath: path))
        let error = thrownError { _ = try KVStore.open(at: dir.path, options: Self.smallOptions()) }
        guard case let .corruption(file, _, _)? = error else {
            Issue.record("corrupt MANIFEST gave \(String(describing: error))")
            return
        }
        #expect(file == path)

        // CURRENT naming garbage, or missing while tables exist: clear errors, nothing deleted.
        try original.write(to: URL(fileURLWithPath: path))
        let current = dir.file("CURRENT")
        try "garbage".write(toFile: current, atomically: false, encoding: .utf8)
        #expect(thrownError { _ = try KVStore.open(at: dir.path) }?.isCorruption == true)
        try FileManager.default.removeItem(atPath: current)
        let tablesBefore = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }
        #expect(thrownError { _ = try KVStore.open(at: dir.path) }?.isCorruption == true)
        let tablesAfter = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }
        #expect(tablesBefore == tablesAfter && !tablesAfter.isEmpty)
    }

    /// A flipped byte in a table is found by the checksum whichever way the block is read:
    /// from the memory mapping (in place when stored uncompressed, decompressed from the
    /// mapped pages otherwise) or with `pread`; by `get` and by iterators.
    @Test(arguments: [(true, Compression.none), (true, .lz4), (false, .none), (false, .lz4)])
    func corruptTableIsReportedOnRead(mapped: Bool, compression: Compression) throws {
        let dir = TemporaryDirectory("sstflip")
        do {
            let store = try KVStore.open(at: dir.path, options: Self.smallOptions(compression: compression))
            for i in 0..<500 { try store.put(bytes("key\(i)"), bytes("value\(i)")) }
            try store.flush()
            try store.close()
        }
        let table = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".sst") }!
        let path = dir.file(table)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[100] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))
        var options = Options()
        options.memoryMappedReads = mapped
        let store = try KVStore.open(at: dir.path, options: options)
        var sawCorruption = false
        for i in 0..<500 {
            let error = thrownError { _ = try store.get(bytes("key\(i)")) }
            if case let .corruption(file, offset, _)? = error {
                #expect(file == path)
                #expect(offset <= 100)
                sawCorruption = true
            } else if let error {
                Issue.record("key\(i): \(error)")
            }
        }
        #expect(sawCorruption)
        let it = try store.makeIterator()
        it.seekToFirst()
        while it.isValid { it.next() }
        guard case let .corruption(file, _, _)? = it.error else {
            Issue.record("a scan over the damaged table gave \(String(describing: it.error))")
            return
        }
        #expect(file == path)
        try store.close()
    }

    /// Point reads that keep consulting a level-0 file in vain (its range covers the key,
    /// the key lives deeper) use up that file's seek budget, and the background thread then
    /// merges it down (LevelDB's seek compaction). Nothing is lost on the way.
    @Test func pointReadsThatMissAFileCompactItDown() throws {
        let dir = TemporaryDirectory("seekcompaction")
        var options = Self.smallOptions()
        options.level0CompactionTrigger = 8  // keep the level-0 file until reads move it
        let store = try KVStore.open(at: dir.path, options: options)
        for i in 0..<2000 { try store.put(IteratorTests.key(i), bytes("deep\(i)")) }
        try store.compactRange()  // everything below level 0
        // One level-0 file spanning the whole key range, holding only a few keys.
        for i in stride(from: 0, to: 2000, by: 400) { try store.put(IteratorTests.key(i), bytes("new\(i)")) }
        try store.put(IteratorTests.key(1999), bytes("new1999"))
        try store.flush()
        store.waitForCompactions()
        #expect(store.statistics().levels[0].files == 1)
        #expect(store.statistics().seekCompactions == 0)

        // Every read of a key that is not in the level-0 file consults it first in vain.
        var reads = 0
        while store.statistics().levels[0].files > 0 && reads < 20_000 {
            let i = reads % 2000
            let expected = i % 400 == 0 || i == 1999 ? "new\(i)" : "deep\(i)"
            #expect(try store.get(IteratorTests.key(i)) == bytes(expected))
            reads += 1
            if reads % 100 == 0 { store.waitForCompactions() }
        }
        let stats = store.statistics()
        #expect(stats.levels[0].files == 0, "after \(reads) reads")
        #expect(stats.seekCompactions >= 1)
        #expect(reads >= 100, "the budget is at least 100 wasted lookups")
        for i in 0..<2000 {
            let expected = i % 400 == 0 || i == 1999 ? "new\(i)" : "deep\(i)"
            #expect(try store.get(IteratorTests.key(i)) == bytes(expected))
        }
        try store.close()
    }

    @Test func missingTableIsCorruptionAtOpen() throws {
        let dir = TemporaryDirectory("missing")
        do {
            let store = try KVStore.open(at: dir.path, options: Self.smallOptions())
            for i in 0..<500 { try store.put(bytes("key\(i)"), bytes("value\(i)")) }
            try store.flush()
            try store.close()
        }
        let table = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".sst") }!
        try FileManager.default.removeItem(atPath: dir.file(table))
        let error = thrownError { _ = try KVStore.open(at: dir.path) }
        guard case let .corruption(file, _, reason)? = error else {
            Issue.record("missing table gave \(String(describing: error))")
            return
        }
        #expect(file == dir.file(table))
        #expect(reason.contains("missing"))
    }
}
