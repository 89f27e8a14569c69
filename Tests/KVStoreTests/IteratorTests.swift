import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct IteratorTests {
    static func key(_ i: Int) -> [UInt8] {
        let s = String(i)
        return bytes("k" + String(repeating: "0", count: max(0, 6 - s.count)) + s)
    }

    func keys(_ it: KVIterator, reverse: Bool = false, limit: Int = .max) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while it.isValid && out.count < limit {
            out.append(it.key)
            if reverse { it.previous() } else { it.next() }
        }
        return out
    }

    @Test func orderedIterationBothWaysAcrossMemtableAndTables() throws {
        let dir = TemporaryDirectory("iter")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        // Even keys go to tables, odd keys stay in the memtable; some overwritten, some deleted.
        for i in stride(from: 0, to: 2000, by: 2) { try store.put(Self.key(i), bytes("old\(i)")) }
        try store.flush()
        for i in stride(from: 0, to: 2000, by: 4) { try store.put(Self.key(i), bytes("new\(i)")) }
        try store.compactRange()
        for i in stride(from: 1, to: 2000, by: 2) { try store.put(Self.key(i), bytes("odd\(i)")) }
        for i in stride(from: 0, to: 2000, by: 10) { try store.delete(Self.key(i)) }

        var expected: [([UInt8], [UInt8])] = []
        for i in 0..<2000 where i % 10 != 0 {
            let v = i % 2 == 1 ? "odd\(i)" : (i % 4 == 0 ? "new\(i)" : "old\(i)")
            expected.append((Self.key(i), bytes(v)))
        }
        let it = try store.makeIterator()
        it.seekToFirst()
        var forward: [([UInt8], [UInt8])] = []
        while it.isValid {
            forward.append((it.key, it.value))
            it.next()
        }
        #expect(forward.map(\.0) == expected.map(\.0))
        #expect(forward.map(\.1) == expected.map(\.1))
        it.seekToLast()
        #expect(keys(it, reverse: true) == expected.map(\.0).reversed())
        // Direction changes in the middle.
        it.seek(to: Self.key(1001))
        #expect(it.key == Self.key(1001))
        it.previous()
        #expect(it.key == Self.key(999))
        it.previous()
        #expect(it.key == Self.key(998))
        it.next()
        #expect(it.key == Self.key(999))
        it.next()
        #expect(it.key == Self.key(1001))
        it.seek(to: Self.key(1000))  // deleted: lands on the next live key
        #expect(it.key == Self.key(1001))
        it.seek(to: bytes("zzz"))
        #expect(!it.isValid)
        try it.check()

        // Bounds and prefixes.
        let bounded = try store.scan(from: Self.key(100), to: Self.key(120))
        #expect(bounded.map(\.key) == (100..<120).filter { $0 % 10 != 0 }.map(Self.key))
        let reversed = try store.scan(from: Self.key(100), to: Self.key(120), limit: 3, reverse: true)
        #expect(reversed.map(\.key) == [Self.key(119), Self.key(118), Self.key(117)])
        let prefixed = try store.scan(options: ReadOptions(prefix: bytes("k0015")))
        #expect(prefixed.map(\.key) == (1500..<1600).filter { $0 % 10 != 0 }.map(Self.key))
        var loop: [[UInt8]] = []
        for (k, _) in try store.entries(from: Self.key(1990)) { loop.append(k) }
        #expect(loop == (1990..<2000).filter { $0 % 10 != 0 }.map(Self.key))
        #expect(try store.count() == expected.count)
        #expect(try store.count(from: Self.key(0), to: Self.key(100)) == 90)
        try store.close()
    }

    @Test func compactRangeReturnsWhenTheStoreCloses() throws {
        let dir = TemporaryDirectory("closing")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        for i in 0..<3000 { try store.put(Self.key(i), bytes("v\(i)")) }
        let finished = DispatchSemaphore(value: 0)
        Thread {
            _ = try? store.compactRange()
            finished.signal()
        }.start()
        try store.close()
        #expect(finished.wait(timeout: .now() + 60) == .success, "compactRange hung after close")
    }

    @Test func snapshotsSeeExactlyTheWritesBeforeThem() throws {
        let dir = TemporaryDirectory("snap")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        for i in 0..<500 { try store.put(Self.key(i), bytes("v1-\(i)")) }
        let snap = try store.snapshot()
        for i in 0..<500 where i % 2 == 0 { try store.put(Self.key(i), bytes("v2-\(i)")) }
        for i in 0..<500 where i % 3 == 0 { try store.delete(Self.key(i)) }
        try store.put(bytes("late"), bytes("x"))
        try store.compactRange()
        let old = ReadOptions(snapshot: snap)
        for i in 0..<500 { #expect(try store.get(Self.key(i), options: old) == bytes("v1-\(i)")) }
        #expect(try store.get(bytes("late"), options: old) == nil)
        #expect(try store.scan(options: old).count == 500)
        #expect(try store.count() == 500 - 167 + 1)
        snap.release()
        #expect(throws: KVError.self) { try store.get(Self.key(1), options: old) }
        try store.close()
    }

    @Test func deleteRangeHidesKeysAndScansJumpOverThem() throws {
        let dir = TemporaryDirectory("delrange")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        let n = 100_000
        var batch = WriteBatch()
        for i in 0..<n {
            batch.put(Self.key(i), bytes("value\(i)"))
            if batch.count == 1000 {
                try store.write(batch)
                batch.removeAll()
            }
        }
        store.waitForCompactions()
        let snap = try store.snapshot()
        try store.deleteRange(from: Self.key(10), to: Self.key(n - 10))
        try store.put(Self.key(50_000), bytes("reborn"))  // newer than the deletion: visible
        #expect(try store.get(Self.key(9)) == bytes("value9"))
        #expect(try store.get(Self.key(10)) == nil)
        #expect(try store.get(Self.key(n - 11)) == nil)
        #expect(try store.get(Self.key(n - 10)) == bytes("value\(n - 10)"))
        #expect(try store.get(Self.key(50_000)) == bytes("reborn"))
        #expect(try store.get(Self.key(20), options: ReadOptions(snapshot: snap)) == bytes("value20"))

        func scanAll() throws -> (keys: [[UInt8]], skipped: Int) {
            let it = try store.makeIterator()
            it.seekToFirst()
            let k = keys(it)
            try it.check()
            return (k, it.skippedEntries)
        }
        let expected = (0..<10).map(Self.key) + [Self.key(50_000)] + ((n - 10)..<n).map(Self.key)
        var (seen, skipped) = try scanAll()
        #expect(seen == expected)
        print("scan over a deleted range of \(n - 20) keys stepped over \(skipped) hidden entries")
        #expect(skipped < 1000, "the scan walked through the deleted keys")
        // Backward too, and the old snapshot still sees everything.
        let back = try store.makeIterator()
        back.seekToLast()
        #expect(keys(back, reverse: true) == expected.reversed())
        #expect(try store.count(options: ReadOptions(snapshot: snap)) == n)
        // Survives reopen (tombstone in the WAL, then in the MANIFEST after a flush).
        snap.release()
        try store.close()
        let again = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        (seen, skipped) = try { () throws -> ([[UInt8]], Int) in
            let it = try again.makeIterator()
            it.seekToFirst()
            return (keys(it), it.skippedEntries)
        }()
        #expect(seen == expected)
        // A full compaction drops the dead keys and then the tombstone itself.
        let before = try again.approximateSize()
        try again.compactRange()
        let after = try again.approximateSize()
        print("approximate size before/after compacting the deleted range: \(before) / \(after)")
        #expect(after < before / 10)
        #expect(try again.count() == expected.count)
        try again.close()
    }
}

@Suite struct SnapshotCompactionTests {
    @Test func snapshotSurvivesOverwritesAndCompactionsThenReleaseReclaimsSpace() throws {
        let dir = TemporaryDirectory("snapcompact")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        let n = 20_000
        func value(_ round: Int, _ i: Int) -> [UInt8] { bytes("r\(round)-\(i)-") + [UInt8](repeating: UInt8(round), count: 60) }
        var batch = WriteBatch()
        for i in 0..<n {
            batch.put(IteratorTests.key(i), value(0, i))
            if batch.count == 500 { try store.write(batch); batch.removeAll() }
        }
        try store.write(batch)
        let snap = try store.snapshot()
        // 100,000 overwrites and deletes after the snapshot, with compactions among them.
        var rng = SplitMix64(seed: 12)
        for round in 1...5 {
            batch.removeAll()
            for _ in 0..<20_000 {
                let i = Int.random(in: 0..<n, using: &rng)
                if Int.random(in: 0..<4, using: &rng) == 0 { batch.delete(IteratorTests.key(i)) } else { batch.put(IteratorTests.key(i), value(round, i)) }
                if batch.count == 500 { try store.write(batch); batch.removeAll() }
            }
            try store.write(batch)
            try store.compactRange()
        }
        let old = ReadOptions(snapshot: snap)
        for i in stride(from: 0, to: n, by: 7) {
            #expect(try store.get(IteratorTests.key(i), options: old) == value(0, i))
        }
        #expect(try store.count(options: old) == n)
        let it = try store.makeIterator(old)
        it.seekToLast()
        #expect(it.key == IteratorTests.key(n - 1) && it.value == value(0, n - 1))

        let pinned = store.statistics().liveTableBytes
        snap.release()
        try store.compactRange()
        let reclaimed = store.statistics().liveTableBytes
        print("live table bytes with the snapshot: \(pinned), after release and a full compaction: \(reclaimed)")
        #expect(reclaimed < pinned * 3 / 4)
        try store.close()
    }

    @Test func iteratorStaysCorrectWhileCompactionReplacesItsFiles() throws {
        let dir = TemporaryDirectory("pinned")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        let n = 10_000
        for i in 0..<n { try store.put(IteratorTests.key(i), bytes("v\(i)")) }
        try store.compactRange()
        let tablesAtStart = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") })
        let it = try store.makeIterator()
        it.seekToFirst()
        var seen: [[UInt8]] = []
        for _ in 0..<100 { seen.append(it.key); it.next() }
        // Rewrite everything: every table the iterator started on is replaced.
        for i in 0..<n { try store.put(IteratorTests.key(i), bytes("new\(i)")) }
        try store.compactRange()
        let live = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") })
        #expect(tablesAtStart.isSubset(of: live), "pinned tables were deleted under the iterator")
        while it.isValid {
            #expect(it.value == bytes("v") + Array(it.key.dropFirst(1)).drop { $0 == UInt8(ascii: "0") })
            seen.append(it.key)
            it.next()
        }
        try it.check()
        #expect(seen == (0..<n).map(IteratorTests.key))
        // Let go of the iterator; the next background job deletes the old tables.
        _ = consume it
        try store.put(bytes("zz"), bytes("1"))
        try store.flush()
        // The flush job deletes obsolete files after its table is installed, which is when
        // flush() returns: wait for it (bounded).
        var after = Set<String>()
        for _ in 0..<500 {
            after = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") })
            if after.isDisjoint(with: tablesAtStart) { break }
            usleep(10_000)
        }
        #expect(after.isDisjoint(with: tablesAtStart))
        try store.close()
    }
}

@Suite struct PrefixFilterTests {
    /// Twenty tables that all span "aaaa"…"zzzz" but each hold one "pNNN" prefix: a prefix
    /// iterator cannot skip them by key range, only by their Bloom filters.
    @Test func prefixSeeksSkipTablesWhoseFilterLacksThePrefix() throws {
        let dir = TemporaryDirectory("prefix")
        var options = LSMTests.smallOptions()
        options.prefixFilterLength = 4
        options.level0CompactionTrigger = 100
        options.level0SlowdownTrigger = 100
        options.level0StopTrigger = 100
        options.blockCacheCapacity = 0  // every block read is a miss we can count
        let store = try KVStore.open(at: dir.path, options: options)
        for t in 0..<20 {
            let p = "p" + String(repeating: "0", count: 3 - String(t).count) + String(t)
            try store.put(bytes("aaaa-\(t)"), bytes("x"))
            try store.put(bytes("zzzz-\(t)"), bytes("x"))
            for i in 0..<50 { try store.put(bytes("\(p)-\(i)"), bytes("v\(i)")) }
            try store.flush()
        }
        #expect(store.statistics().levels[0].files == 20)
        func misses(_ prefix: String) throws -> (Int, Int64) {
            let before = store.statistics().blockCacheMisses
            let found = try store.scan(options: ReadOptions(prefix: bytes(prefix))).count
            return (found, store.statistics().blockCacheMisses - before)
        }
        let (found, filtered) = try misses("p007")
        #expect(found == 50)
        let (foundLonger, unfiltered) = try misses("p007-")  // length ≠ 4: no filter help
        #expect(foundLonger == 50)
        print("prefix scan block reads: \(filtered) with the prefix filter, \(unfiltered) without")
        // Without the filter, each of the 19 other tables is read once: one block, whose first
        // key at or after "p007-" lies outside the prefix. With it, only the tables whose filter
        // may hold "p007" are read: table 7 and any false positive, each the same as before.
        let fs = PosixFileSystem()
        var falsePositives = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".sst") {
            let path = dir.file(name)
            let table = try TableReader(file: fs.openReadable(path), fileNumber: 1, fileSize: UInt64(fs.fileSize(path)))
            let mayHold = table.filter.withUnsafeBytes { f in
                bytes("p007").withUnsafeBytes { BloomFilter.mayContain(f, hash: filterPrefixHash($0)) }
            }
            let probe = makeInternalKey(bytes("p007-0"), maxSequenceNumber, 0xff)
            let found = try probe.withUnsafeBytes { try table.get($0, userKeyHash: hash64(userKey($0))) }
            var holds = false
            if case .found = found { holds = true }
            if mayHold && !holds { falsePositives += 1 }
        }
        #expect(filtered >= 1)
        #expect(unfiltered == filtered + Int64(19 - falsePositives))
        try store.close()

        // Reopened with another prefix length, old tables' filters no longer answer for the
        // new length: nothing may be skipped wrongly.
        var other = options
        other.prefixFilterLength = 5
        let reopened = try KVStore.open(at: dir.path, options: other)
        #expect(try reopened.scan(options: ReadOptions(prefix: bytes("p007-"))).count == 50)
        #expect(try reopened.scan(options: ReadOptions(prefix: bytes("p0070"))).count == 0)
        #expect(try reopened.scan(options: ReadOptions(prefix: bytes("p007"))).count == 50)
        try reopened.close()
    }
}
