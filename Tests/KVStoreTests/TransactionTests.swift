import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting
import KVTestSupport

/// Tagged values, the compaction filter, the indexed batch and optimistic transactions: the
/// engine features the keyspace layer (KVCollections) is built on.
@Suite struct TransactionTests {
    @Test func tagsTravelWithValuesThroughFlushCompactionAndReopen() throws {
        let dir = TemporaryDirectory("tags")
        var store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        var batch = WriteBatch()
        batch.put(bytes("meta"), bytes("record"), expiresAt: nil, tag: 3)
        batch.put(bytes("plain"), bytes("v"))
        batch.put(bytes("timed"), bytes("t"), expiresAt: UInt64.max - 1, tag: 7)
        try store.write(batch)
        func check(_ s: KVStore) throws {
            #expect(try s.lookup(bytes("meta")) == StoredValue(value: bytes("record"), expiresAt: nil, tag: 3))
            #expect(try s.lookup(bytes("plain"))?.tag == 0)
            #expect(try s.lookup(bytes("timed")) == StoredValue(value: bytes("t"), expiresAt: UInt64.max - 1, tag: 7))
            let it = try s.makeIterator()
            var tags: [String: UInt8] = [:]
            it.seekToFirst()
            while it.isValid {
                tags[String(decoding: it.key, as: UTF8.self)] = it.tag
                it.next()
            }
            try it.check()
            #expect(tags == ["meta": 3, "plain": 0, "timed": 7])
        }
        try check(store)  // memtable
        try store.flush()
        try check(store)  // table
        try store.compactRange()
        try check(store)
        try store.close()
        store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        try check(store)  // the log and the tables, read back
        try store.close()
    }

    /// Drops "elem:<owner>:…" entries whose "owner:<owner>" record is gone: the shape of the
    /// keyspace's garbage filter, on plain keys.
    struct OrphanFilter: CompactionFilter {
        let context: CompactionContext

        mutating func decide(_ entry: CompactionEntry) -> CompactionDecision {
            let key = Array(entry.key)
            guard key.starts(with: bytes("elem:")) else { return .keep }
            let owner = key.dropFirst(5).prefix { $0 != UInt8(ascii: ":") }
            return (try? context.lookup(bytes("owner:") + owner)) == nil ? .remove : .keep
        }
    }

    @Test func aCompactionFilterDropsWhatItsRulesMakeGarbageAndSparesWhatASnapshotSees() throws {
        let dir = TemporaryDirectory("filter")
        var options = LSMTests.smallOptions()
        options.compactionFilter = { OrphanFilter(context: $0) }
        let store = try KVStore.open(at: dir.path, options: options)
        try store.put("owner:a", "1")
        try store.put("owner:b", "1")
        for i in 0..<500 {
            try store.put("elem:a:\(i)", "x")
            try store.put("elem:b:\(i)", "y")
        }
        try store.flush()
        // "b" goes in O(1); its elements stay until a compaction filters them. A snapshot from
        // before the deletion holds them: the filter judges at the oldest snapshot, where
        // "owner:b" still exists.
        let snapshot = try store.snapshot()
        try store.delete(bytes("owner:b"))
        try store.compactRange()
        var o = ReadOptions()
        o.snapshot = snapshot
        #expect(try store.get(bytes("elem:b:7"), options: o) == bytes("y"))
        #expect(store.statistics().compactionEntriesFiltered == 0)
        snapshot.release()
        try store.compactRange()
        #expect(try store.get("elem:b:7") == nil)
        #expect(try store.get("elem:a:7") == bytes("x"))
        #expect(store.statistics().compactionEntriesFiltered == 500)
        // Every b element is gone from the walk; every a element is still there.
        var o2 = ReadOptions()
        o2.prefix = bytes("elem:")
        let it = try store.makeIterator(o2)
        var n = 0
        it.seekToFirst()
        while it.isValid {
            #expect(it.key.starts(with: bytes("elem:a:")))
            n += 1
            it.next()
        }
        try it.check()
        #expect(n == 500)
        try store.close()
    }

    @Test func anIndexedBatchAnswersForItsOwnWritesInOrder() {
        var b = IndexedBatch()
        b.put(bytes("b"), bytes("1"))
        b.put(bytes("d"), bytes("2"), expiresAt: 10)
        b.put(bytes("a"), bytes("0"), tag: 4)
        b.delete(bytes("c"))
        #expect(b.lookup(bytes("a"), now: 5) == .value(StoredValue(value: bytes("0"), expiresAt: nil, tag: 4)))
        #expect(b.lookup(bytes("c"), now: 5) == .deleted)
        #expect(b.lookup(bytes("d"), now: 5) == .value(StoredValue(value: bytes("2"), expiresAt: 10)))
        #expect(b.lookup(bytes("d"), now: 10) == .deleted, "expired by the clock")
        #expect(b.lookup(bytes("z"), now: 5) == .untouched)
        #expect(b.entries(from: nil, to: nil, now: 5).map { String(decoding: $0.key, as: UTF8.self) } == ["a", "b", "d"])
        // A range deletion hides earlier writes in it; a later write shows again. Keys added
        // after the first walk keep the order (the sorted view is kept up to date).
        b.deleteRange(from: bytes("a"), to: bytes("c"))
        b.put(bytes("b"), bytes("again"))
        b.put(bytes("bb"), bytes("3"))
        b.put(bytes("0"), bytes("first"))
        #expect(b.lookup(bytes("a"), now: 5) == .deleted)
        #expect(b.lookup(bytes("aa"), now: 5) == .deleted, "inside the range, never written")
        #expect(b.entries(from: nil, to: nil, now: 5).map { String(decoding: $0.key, as: UTF8.self) } == ["0", "b", "bb", "d"])
        #expect(b.entries(from: bytes("b"), to: bytes("c"), now: 5).map(\.value.value) == [bytes("again"), bytes("3")])
    }

    @Test func aTransactionReadsItsOwnWritesOverTheStore() throws {
        let dir = TemporaryDirectory("tx-reads")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        for k in ["a", "b", "c", "d", "e"] { try store.put(k, k.uppercased()) }
        try store.flush()
        let t = try store.beginTransaction()
        t.put(bytes("bb"), bytes("new"))
        t.delete(bytes("c"))
        t.deleteRange(from: bytes("d"), to: bytes("e"))
        t.put(bytes("a"), bytes("changed"))
        #expect(try t.get(bytes("a")) == bytes("changed"))
        #expect(try t.get(bytes("c")) == nil)
        #expect(try t.get(bytes("d")) == nil)
        #expect(try store.get("a") == bytes("A"), "nothing reaches the store before commit")
        func walk(reverse: Bool) throws -> [String] {
            let it = try t.makeIterator()
            var out: [String] = []
            if reverse { it.seekToLast() } else { it.seekToFirst() }
            while it.isValid {
                out.append(String(decoding: it.key, as: UTF8.self) + "=" + String(decoding: it.value, as: UTF8.self))
                if reverse { it.previous() } else { it.next() }
            }
            try it.check()
            return out
        }
        let expected = ["a=changed", "b=B", "bb=new", "e=E"]
        #expect(try walk(reverse: false) == expected)
        #expect(try walk(reverse: true) == expected.reversed())
        // Turning around mid-walk and seeking land on the merged order too.
        let it = try t.makeIterator()
        it.seek(to: bytes("b"))
        it.next()
        #expect(it.key == bytes("bb"))
        it.previous()
        #expect(it.key == bytes("b"))
        it.seek(to: bytes("c"))
        #expect(it.key == bytes("e"))
        try t.commit()
        #expect(try store.get("a") == bytes("changed") && store.get("c") == nil && store.get("bb") == bytes("new"))
        try store.close()
    }

    @Test func anOptimisticCommitFailsWholeWhenAKeyItReadChanged() throws {
        let dir = TemporaryDirectory("tx-conflict")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        try store.put("balance:a", "100")
        try store.put("balance:b", "0")
        let t = try store.beginTransaction()
        #expect(try t.get(bytes("balance:a")) == bytes("100"))
        t.put(bytes("balance:a"), bytes("90"))
        t.put(bytes("balance:b"), bytes("10"))
        try store.put("balance:a", "50")  // someone else, after t's snapshot
        #expect(throws: KVError.conflict(key: bytes("balance:a"))) { try t.commit() }
        #expect(try store.get("balance:a") == bytes("50") && store.get("balance:b") == bytes("0"), "nothing of t was written")
        // The snapshot keeps t's reads stable while others write.
        let u = try store.beginTransaction()
        try store.put("balance:b", "5")
        #expect(try u.get(bytes("balance:b")) == bytes("0"))
        // A write to a key u never touched does not conflict.
        try store.put("unrelated", "x")
        let v = try store.beginTransaction()
        _ = try v.get(bytes("balance:a"))
        v.put(bytes("balance:a"), bytes("49"))
        try store.put("unrelated", "y")
        try v.commit()
        #expect(try store.get("balance:a") == bytes("49"))
        // `.none` reads the latest and never conflicts.
        let w = try store.beginTransaction(isolation: .none)
        _ = try w.get(bytes("balance:a"))
        try store.put("balance:a", "1")
        #expect(try w.get(bytes("balance:a")) == bytes("1"))
        w.put(bytes("balance:a"), bytes("2"))
        try w.commit()
        #expect(try store.get("balance:a") == bytes("2"))
        try store.close()
    }

    @Test func concurrentOptimisticIncrementsRetriedOnConflictCountExactly() throws {
        let dir = TemporaryDirectory("tx-race")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        try store.put("n", "0")
        let conflicts = Atomic<Int>(0)
        let threads = 4
        let perThread = 200
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread {
                while true {
                    do throws(KVError) {
                        let t = try store.beginTransaction()
                        let n = Int(String(decoding: try t.get(bytes("n")) ?? [], as: UTF8.self)) ?? -1_000_000
                        t.put(bytes("n"), Array(String(n + 1).utf8))
                        try t.commit()
                        break
                    } catch {
                        guard case .conflict = error else {
                            Issue.record("\(error)")
                            return
                        }
                        conflicts.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        #expect(try store.get("n") == Array(String(threads * perThread).utf8))
        #expect(conflicts.load(ordering: .relaxed) < 100 * threads * perThread, "retries stay bounded")
        try store.close()
    }
}
