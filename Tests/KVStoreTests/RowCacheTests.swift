import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// The row cache (`Options.rowCacheCapacity`): against the plain path (the same writes to a
/// store without it) and a model over random writes with snapshots, deletions, range
/// deletions, expiry, flushes and compactions; never older than a read's snapshot, case by
/// case; never filled from, nor serving, a damaged table.
@Suite struct RowCacheTests {
    static func options(rowCache: Int, clock: @escaping @Sendable () -> UInt64, compression: Compression = .lz4) -> Options {
        var o = LSMTests.smallOptions(compression: compression)
        o.rowCacheCapacity = rowCache
        o.clock = clock
        return o
    }

    @Test func rowCachedReadsMatchThePlainPathAndTheModel() throws {
        var rng = SplitMix64(seed: 0x726f_7763)
        let dir = TemporaryDirectory("rowcache-model")
        let now = Atomic<UInt64>(1_000_000)
        let clock: @Sendable () -> UInt64 = { now.load(ordering: .relaxed) }
        // A small cache, so entries are evicted and filled again while the tables change.
        let cached = try KVStore.open(at: dir.path + "/cached", options: Self.options(rowCache: 24 << 10, clock: clock))
        let plain = try KVStore.open(at: dir.path + "/plain", options: Self.options(rowCache: 0, clock: clock))
        var model = ExpiringModel()
        var held: [(cached: Snapshot, plain: Snapshot, model: ExpiringModel)] = []
        func key(_ i: Int) -> [UInt8] { Array("rk\(1000 + i)".utf8) }
        var checked = 0
        for step in 0..<8000 {
            switch try model.randomStep([cached, plain], keyCount: 400, key: key, now: now, &rng) {
            case .takeSnapshot:
                if held.count < 4 { held.append((try cached.snapshot(), try plain.snapshot(), model)) }
            case .releaseSnapshot:
                if !held.isEmpty {
                    let h = held.remove(at: Int(rng.uniform(UInt64(held.count))))
                    h.cached.release()
                    h.plain.release()
                }
            case .none:
                break
            }
            guard step % 10 == 0 else { continue }
            // Reads that repeat keys, so the cache answers some of them.
            let t = now.load(ordering: .relaxed)
            for _ in 0..<12 {
                let k = key(Int(rng.uniform(420)))
                let c = try cached.lookup(k)?.value
                #expect(c == (try plain.lookup(k)?.value), "step \(step): row-cached read against the plain path")
                #expect(c == model.visible(k, at: t), "step \(step): row-cached read against the model")
                for h in held {
                    var oc = ReadOptions()
                    oc.snapshot = h.cached
                    var op = ReadOptions()
                    op.snapshot = h.plain
                    let atSnapshot = try cached.lookup(k, options: oc)?.value
                    #expect(atSnapshot == (try plain.lookup(k, options: op)?.value), "step \(step): at a snapshot, against the plain path")
                    #expect(atSnapshot == h.model.visible(k, at: t), "step \(step): at a snapshot, against its model")
                }
            }
            checked += 1
        }
        for h in held {
            h.cached.release()
            h.plain.release()
        }
        #expect(checked == 800)
        let stats = cached.statistics()
        #expect(stats.rowCacheHits > 1000, "the workload exercised the cache: \(stats.rowCacheHits) hits")
        #expect(stats.rowCacheBytes <= 24 << 10)
        #expect(plain.statistics().rowCacheHits + plain.statistics().rowCacheMisses == 0)
        try cached.close()
        try plain.close()
    }

    /// Each way a cached row could go stale, one at a time, with the cache known to hold the
    /// key's row before the change.
    @Test func aRowCacheNeverServesAValueOlderThanTheRead() throws {
        let dir = TemporaryDirectory("rowcache-stale")
        let now = Atomic<UInt64>(1_000_000)
        let store = try KVStore.open(at: dir.path, options: Self.options(rowCache: 1 << 20, clock: { now.load(ordering: .relaxed) }))
        let k = Array("key".utf8)
        func value(_ o: ReadOptions = ReadOptions()) throws -> String? { try store.lookup(k, options: o).map { String(decoding: $0.value, as: UTF8.self) } }
        func at(_ s: Snapshot) -> ReadOptions {
            var o = ReadOptions()
            o.snapshot = s
            return o
        }
        /// Reads twice: the first fills the row, the second must be answered by it.
        func readCached(_ expected: String?, _ what: Comment) throws {
            let hits = store.statistics().rowCacheHits
            #expect(try value() == expected, what)
            #expect(try value() == expected, what)
            #expect(store.statistics().rowCacheHits > hits, "the row cache answered: \(what)")
        }

        // Two versions of the key in one table (a snapshot keeps the older through the flush):
        // a read at the latest caches the newer; a read at the snapshot must not get it.
        try store.put(k, Array("v1".utf8))
        let s1 = try store.snapshot()
        try store.put(k, Array("v2".utf8))
        try store.flush()
        // First at the snapshot: v1 is the newest entry it may see, not the table's newest.
        #expect(try value(at(s1)) == "v1", "a snapshot read of a table that holds a newer version")
        try readCached("v2", "latest, two versions in the table")
        #expect(try value(at(s1)) == "v1", "a snapshot older than the cached row")

        // Overwrite: the newer table (or the memtable) answers before the cached one.
        try store.put(k, Array("v3".utf8))
        #expect(try value() == "v3", "overwrite in the memtable over a cached row")
        try store.flush()
        try readCached("v3", "overwrite flushed")
        #expect(try value(at(s1)) == "v1")

        // Deletion, then range deletion over a cached row.
        let s3 = try store.snapshot()
        try store.delete(k)
        #expect(try value() == nil, "deleted over a cached row")
        try store.flush()
        try readCached(nil, "deletion flushed")
        #expect(try value(at(s3)) == "v3", "the snapshot before the deletion")
        try store.put(k, Array("v4".utf8))
        try store.flush()
        try readCached("v4", "written again")
        try store.deleteRange(from: Array("k".utf8), to: Array("l".utf8))
        #expect(try value() == nil, "range deletion in the memtable over a cached row")
        try store.flush()
        #expect(try value() == nil, "range deletion flushed over a cached row")

        // Expiry: the cached row carries its deadline; the clock decides at every read.
        try store.put(k, Array("v5".utf8), expiresAt: now.load(ordering: .relaxed) + 100)
        try store.flush()
        try readCached("v5", "before its deadline")
        now.add(100, ordering: .relaxed)
        #expect(try value() == nil, "past its deadline, with the row cached")

        // Compaction: new tables under new numbers; what they say is read afresh.
        try store.put(k, Array("v6".utf8))
        try store.flush()
        try readCached("v6", "before compaction")
        s1.release()
        s3.release()
        try store.compactRange()
        try readCached("v6", "after compaction")
        try store.put(k, Array("v7".utf8))
        try store.compactRange()
        try readCached("v7", "overwritten and compacted")

        // Turned off while open: its rows go, and reads still answer.
        var live = store.liveOptions
        live.rowCacheCapacity = 0
        try store.setOptions(live)
        #expect(store.statistics().rowCacheBytes == 0)
        #expect(try value() == "v7")
        try store.close()
    }

    /// A flipped byte in a table's data block: the read is corruption naming the table, every
    /// time; the row cache is never filled from that block, so nothing from it is served.
    @Test func aDamagedTableIsNeverCachedOrServed() throws {
        let dir = TemporaryDirectory("rowcache-damaged")
        let options = Self.options(rowCache: 1 << 20, clock: Options.systemClock, compression: .none)
        let (keys, table) = try storeWithADamagedTable(dir, options: options)
        let store = try KVStore.open(at: dir.path, options: options)
        for attempt in 0..<3 {
            let error = thrownError { _ = try store.lookup(keys[0]) }
            guard case let .corruption(file, _, _)? = error else {
                Issue.record("attempt \(attempt): a read of a damaged block gave \(String(describing: error))")
                break
            }
            #expect(file == table)
        }
        #expect(store.statistics().rowCacheHits == 0)
        // An undamaged block of the same table is read, cached and served.
        #expect(try store.lookup(keys[299])?.value == keys[299] + keys[299])
        #expect(try store.lookup(keys[299])?.value == keys[299] + keys[299])
        #expect(store.statistics().rowCacheHits == 1)
        try store.close()
    }
}
