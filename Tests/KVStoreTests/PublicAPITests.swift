import Foundation
import Synchronization
import KVTestSupport
import Testing

@testable import KVStore

/// The public API does what its documentation says: errors surface, options are honoured,
/// one convention for expiry.
@Suite struct PublicAPITests {
    @Test func entriesBegunAfterCloseReportClosedInsteadOfLookingEmpty() throws {
        let dir = TemporaryDirectory("api-entries")
        let store = try KVStore.open(at: dir.path)
        try store.put("a", "1")
        try store.put("b", "2")
        let entries = try store.entries()
        #expect(entries.map { String(decoding: $0.key, as: UTF8.self) } == ["a", "b"])
        #expect(entries.error == nil)
        try store.close()
        var seen = 0
        for _ in entries { seen += 1 }
        #expect(seen == 0)
        #expect(entries.error == .closed)
        #expect(throws: KVError.closed) { _ = try store.entries() }
    }

    @Test func getWithoutFillCacheLeavesTheBlockCacheAsItWas() throws {
        let dir = TemporaryDirectory("api-fillcache")
        var options = LSMTests.smallOptions()
        options.blockCacheCapacity = 4 << 20
        do {
            let store = try KVStore.open(at: dir.path, options: options)
            for i in 0..<2000 { try store.put(bytes("key\(i)"), bytes(String(repeating: "v\(i)", count: 8))) }
            try store.close()
        }
        // Reopened: the cache starts empty and the data is all in tables.
        let store = try KVStore.open(at: dir.path, options: options)
        let before = store.statistics()
        var noFill = ReadOptions()
        noFill.fillCache = false
        for i in stride(from: 0, to: 2000, by: 7) {
            #expect(try store.get(bytes("key\(i)"), options: noFill) == bytes(String(repeating: "v\(i)", count: 8)))
            #expect(try store.lookup(bytes("key\(i + 1)"), options: noFill) != nil)
        }
        let after = store.statistics()
        #expect(after.blockCacheBytes == before.blockCacheBytes)
        #expect(after.blockCacheMisses > before.blockCacheMisses)  // the reads did go to the tables
        // The same reads with the default fill the cache.
        for i in stride(from: 0, to: 2000, by: 7) { _ = try store.get(bytes("key\(i)")) }
        #expect(store.statistics().blockCacheBytes > before.blockCacheBytes)
        try store.close()
    }

    @Test func timeToLiveCountsFromTheStoresClock() throws {
        let dir = TemporaryDirectory("api-ttl")
        let clock = ManualClock()
        var options = Options()
        options.clock = clock.clock
        let store = try KVStore.open(at: dir.path, options: options)
        try store.put(bytes("session"), bytes("token"), timeToLive: .seconds(2))
        try store.put(bytes("short"), bytes("x"), timeToLive: .nanoseconds(1))  // rounds up to 1 ms
        try store.put(bytes("gone"), bytes("x"), timeToLive: .seconds(-1))
        #expect(try store.lookup(bytes("session")) == StoredValue(value: bytes("token"), expiresAt: clock.now + 2000))
        #expect(try store.lookup(bytes("short"))?.expiresAt == clock.now + 1)
        #expect(try store.get(bytes("gone")) == nil)
        clock.advance(by: 1999)
        #expect(try store.get(bytes("session")) == bytes("token"))
        #expect(try store.get(bytes("short")) == nil)
        clock.advance(by: 1)
        #expect(try store.get(bytes("session")) == nil)
        try store.close()
        #expect(KVStore.deadline(now: 10, after: .milliseconds(1.5)) == 12)
        #expect(KVStore.deadline(now: .max - 5, after: .seconds(1)) == .max)
        #expect(KVStore.deadline(now: 10, after: .seconds(Int64.max)) == .max)
    }

    @Test func writeBatchExpiryUsesNilForNone() throws {
        let dir = TemporaryDirectory("api-batch-expiry")
        let clock = ManualClock()
        var options = Options()
        options.clock = clock.clock
        let store = try KVStore.open(at: dir.path, options: options)
        var batch = WriteBatch()
        batch.put(bytes("forever"), bytes("1"), expiresAt: nil)
        batch.put(bytes("epoch"), bytes("2"), expiresAt: 0)
        batch.put(bytes("later"), bytes("3"), expiresAt: clock.now + 50)
        try store.write(batch)
        #expect(try store.lookup(bytes("forever")) == StoredValue(value: bytes("1"), expiresAt: nil))
        #expect(try store.get(bytes("epoch")) == nil)  // 0 is a moment long past, not "no expiry"
        #expect(try store.lookup(bytes("later"))?.expiresAt == clock.now + 50)
        try store.close()
    }

    /// The deletion is one point in history. A writer alternates a low and a high key of the
    /// range; whatever survives must be exactly the writes after some point (a suffix of the
    /// writer's order). Reading the last key and then deleting up to it (as before) let the
    /// high keys written in between survive while the low ones went.
    @Test func openEndedDeleteRangeIsOneAtomicWrite() throws {
        let dir = TemporaryDirectory("api-open-range")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        for round in 0..<20 {
            let prefix = "r\(round)/"
            let completed = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
            let writer = Thread {
                var i = 0
                while !stop.load(ordering: .acquiring) && i < 200_000 {
                    let key = i % 2 == 0 ? "a\(String(format: "%07d", i))" : "z\(String(format: "%07d", i))"
                    try? store.put(bytes(prefix + key), bytes("\(i)"))
                    i += 1
                    completed.store(i, ordering: .releasing)
                }
            }
            writer.start()
            while completed.load(ordering: .acquiring) < 200 { usleep(100) }
            let before = completed.load(ordering: .acquiring)
            try store.deleteRange(from: bytes(prefix), to: nil)
            stop.store(true, ordering: .releasing)
            while !writer.isFinished { usleep(100) }
            let written = completed.load(ordering: .acquiring)
            var survivors: [Int] = []
            for (_, value) in try store.entries(from: bytes(prefix), to: bytes("r\(round)0")) {
                survivors.append(Int(String(decoding: value, as: UTF8.self))!)
            }
            survivors.sort()
            // Everything written before the call began is gone, and the survivors are
            // exactly the last writes: no gap.
            #expect(survivors.allSatisfy { $0 >= before }, "round \(round)")
            if let first = survivors.first {
                #expect(survivors == Array(first..<written), "round \(round): survivors \(survivors.prefix(8))… of \(written)")
            }
        }
        try store.close()
    }

    @Test func openEndedDeleteRangeHoldsThroughRecoveryFlushAndCompaction() throws {
        let dir = TemporaryDirectory("api-open-range-durable")
        let options = LSMTests.smallOptions()
        let keys = (0..<3000).map { "key\(String(format: "%05d", $0))" }
        var store = try KVStore.open(at: dir.path, options: options)
        for k in keys { try store.put(bytes(k), bytes("v-" + k)) }
        try store.flush()
        try store.deleteRange(from: bytes("key01000"), to: nil)
        try store.put(bytes("key02500"), bytes("after"))  // written after: it stays
        func check(_ stage: String) throws {
            #expect(try store.get(bytes("key00999")) == bytes("v-key00999"), "\(stage)")
            #expect(try store.get(bytes("key01000")) == nil, "\(stage)")
            #expect(try store.get(bytes("key02999")) == nil, "\(stage)")
            #expect(try store.get(bytes("key02500")) == bytes("after"), "\(stage)")
            let visible = try store.scan().map { String(decoding: $0.key, as: UTF8.self) }
            #expect(visible == Array(keys[0..<1000]) + ["key02500"], "\(stage)")
            let backwards = try store.scan(reverse: true).map { String(decoding: $0.key, as: UTF8.self) }
            #expect(backwards == visible.reversed(), "\(stage)")
        }
        try check("live")
        try store.close()
        store = try KVStore.open(at: dir.path, options: options)  // replayed from the WAL
        try check("after replay")
        try store.flush()  // the tombstone goes to the MANIFEST
        try store.close()
        store = try KVStore.open(at: dir.path, options: options)
        try check("from the MANIFEST")
        try store.compactRange()
        try check("after compaction")
        #expect(try store.count() == 1001)
        try store.close()
    }

    @Test func keysAndValuesFromAnyCollectionOfBytes() throws {
        let dir = TemporaryDirectory("api-bytes")
        let store = try KVStore.open(at: dir.path)
        let data = Data("user:1".utf8)
        try store.put(data, Data("alice".utf8))
        #expect(try store.get(Array("user:1".utf8)) == bytes("alice"))
        #expect(try store.get(data) == bytes("alice"))
        #expect(try store.get("user:1".utf8) == bytes("alice"))
        let framed: [UInt8] = Array("..user:1..".utf8)
        #expect(try store.get(framed[2..<8]) == bytes("alice"))  // a slice, read in place
        #expect(try store.string(forKey: "user:1") == "alice")
        #expect(try store.string(forKey: "user:2") == nil)
        // A collection without contiguous storage is gathered once.
        let lazyKey = "user:1".utf8.lazy.map { $0 }
        #expect(try store.get(lazyKey) == bytes("alice"))
        var batch = WriteBatch()
        batch.put("user:2".utf8, Data("bob".utf8))
        batch.put(framed[2..<8], "ALICE".utf8, expiresAt: nil)
        batch.delete(Data("user:3".utf8))
        try store.write(batch)
        #expect(try store.string(forKey: "user:2") == "bob")
        #expect(try store.lookup(Data("user:1".utf8)) == StoredValue(value: bytes("ALICE")))
        try store.delete("user:2".utf8)
        #expect(try store.get(Data("user:2".utf8)) == nil)
        var options = Options()
        options.maxKeySize = 4
        try store.close()
        let other = TemporaryDirectory("api-bytes-small")
        let small = try KVStore.open(at: other.path, options: options)
        #expect(throws: KVError.self) { try small.put(Data("toolong".utf8), Data()) }
        try small.close()
    }
}
