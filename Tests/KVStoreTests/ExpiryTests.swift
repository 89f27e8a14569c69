import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// Values written with an expiry: hidden from every read path once the clock passes it,
/// kept across restarts, and reclaimed by compaction.
@Suite struct ExpiryTests {
    func options(_ clock: ManualClock) -> Options {
        var o = LSMTests.smallOptions()
        o.clock = clock.clock
        return o
    }

    func visibleKeys(_ store: KVStore, reverse: Bool = false) throws -> [String] {
        let it = try store.makeIterator()
        var out: [String] = []
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid {
            out.append(String(decoding: it.key, as: UTF8.self) + "=" + String(decoding: it.value, as: UTF8.self))
            if reverse { it.previous() } else { it.next() }
        }
        try it.check()
        return out
    }

    @Test func expiredValuesVanishFromGetsLookupsAndIteratorsInBothDirections() throws {
        let dir = TemporaryDirectory("expiry")
        let clock = ManualClock()
        let store = try KVStore.open(at: dir.path, options: options(clock))
        // "b" has an old value without expiry underneath, in a table: expiry must hide it too.
        try store.put("b", "old")
        try store.flush()
        try store.put(bytes("a"), bytes("1"), expiresAt: clock.now + 1000)
        try store.put(bytes("b"), bytes("2"), expiresAt: clock.now + 2000)
        try store.put("c", "3")
        #expect(try store.get("a") == bytes("1"))
        #expect(try store.lookup(bytes("b")) == StoredValue(value: bytes("2"), expiresAt: clock.now + 2000))
        #expect(try store.lookup(bytes("c")) == StoredValue(value: bytes("3"), expiresAt: nil))
        #expect(try visibleKeys(store) == ["a=1", "b=2", "c=3"])
        #expect(try visibleKeys(store, reverse: true) == ["c=3", "b=2", "a=1"])
        let it = try store.makeIterator()
        it.seek(to: bytes("b"))
        #expect(it.expiresAt == clock.now + 2000)

        clock.advance(by: 1000)  // "a" expires exactly at its deadline
        #expect(try store.get("a") == nil)
        #expect(try visibleKeys(store) == ["b=2", "c=3"])
        #expect(try visibleKeys(store, reverse: true) == ["c=3", "b=2"])
        clock.advance(by: 1000)
        #expect(try store.get("b") == nil)  // not "old": the expired value is the newest
        #expect(try visibleKeys(store) == ["c=3"])
        #expect(try visibleKeys(store, reverse: true) == ["c=3"])
        #expect(try store.count() == 1)
        try store.close()
    }

    @Test func expiryIsStoredWithTheValueAndSurvivesReopenFromLogAndTables() throws {
        let dir = TemporaryDirectory("expiry-reopen")
        let clock = ManualClock()
        let deadline = clock.now + 60_000
        do {
            let store = try KVStore.open(at: dir.path, options: options(clock))
            try store.put(bytes("in-table"), bytes("t"), expiresAt: deadline)
            try store.flush()
            try store.put(bytes("in-log"), bytes("l"), expiresAt: deadline)
            try store.close()
        }
        let store = try KVStore.open(at: dir.path, options: options(clock))
        #expect(try store.lookup(bytes("in-table"))?.expiresAt == deadline)
        #expect(try store.lookup(bytes("in-log"))?.expiresAt == deadline)
        clock.advance(by: 60_000)
        #expect(try store.get("in-table") == nil)
        #expect(try store.get("in-log") == nil)
        try store.close()
    }

    @Test func compactionReclaimsExpiredValues() throws {
        let dir = TemporaryDirectory("expiry-compact")
        let clock = ManualClock()
        let store = try KVStore.open(at: dir.path, options: options(clock))
        var rng = SplitMix64(seed: 11)
        for i in 0..<2000 {
            try store.put(IteratorTests.key(i), randomBytes(200, &rng), expiresAt: clock.now + 10_000)
        }
        try store.put("survivor", "yes")
        try store.compactRange()
        let before = store.statistics().levels.reduce(Int64(0)) { $0 + $1.bytes }
        #expect(before > 200_000)
        clock.advance(by: 10_000)
        try store.compactRange()
        let after = store.statistics().levels.reduce(Int64(0)) { $0 + $1.bytes }
        #expect(after < 10_000, "expired values still occupy \(after) bytes")
        #expect(try visibleKeys(store) == ["survivor=yes"])
        try store.close()
    }

    @Test func anExpiredValueAboveAnOlderOneStillHidesItAfterCompactingTheUpperLevel() throws {
        // The expired value is rewritten as a deletion, not dropped, while older data may lie below.
        let dir = TemporaryDirectory("expiry-shadow")
        let clock = ManualClock()
        let store = try KVStore.open(at: dir.path, options: options(clock))
        for i in 0..<3000 { try store.put(IteratorTests.key(i), bytes("old\(i)")) }
        try store.compactRange()  // old values at the bottom
        for i in 0..<3000 where i % 3 == 0 {
            try store.put(IteratorTests.key(i), bytes("new\(i)"), expiresAt: clock.now + 5)
        }
        clock.advance(by: 5)
        try store.flush()  // the flush sees them expired: they must become deletions
        for i in 0..<3000 where i % 3 == 0 { #expect(try store.get(IteratorTests.key(i)) == nil) }
        try store.compactRange()
        #expect(try store.count() == 2000)
        #expect(try store.get(IteratorTests.key(1)) == bytes("old1"))
        #expect(try store.get(IteratorTests.key(3)) == nil)
        try store.close()
    }

    @Test func aBatchRecordWithAnExpiringValueTooShortForItsExpiryIsCorruption() throws {
        var batch = WriteBatch()
        batch.put(bytes("k"), bytes("v"), expiresAt: 5)
        // Shrink the value's length prefix below the 8-byte expiry.
        var encoded = batch.encoded
        let valueLengthAt = WriteBatch.headerSize + 1 + 1 + 1
        #expect(encoded[valueLengthAt] == 9)
        encoded[valueLengthAt] = 3
        encoded.removeLast(6)
        let error = thrownError {
            try encoded.withUnsafeBytes { try WriteBatch.forEach($0, file: "000007.log", offset: 64) { _, _, _ in } }
        }
        guard case .corruption(let file, let offset, _)? = error else {
            Issue.record("expected corruption, got \(String(describing: error))")
            return
        }
        #expect(file == "000007.log" && offset == 64)
    }
}
