/// Identifies a row: the table's file number and a hash of the user key. Two keys whose hashes
/// collide share a slot; a hit compares the key itself (`RowCacheEntry.userKey`).
struct RowCacheKey: Hashable, Sendable, CacheShardable {
    var file: UInt64
    var keyHash: UInt64

    @inline(__always)
    var mixedHash: UInt64 { Self.mix(file, keyHash) }
}

/// What one table holds for one user key: its newest entry there (a value or a deletion).
///
/// Immutable, so shared by readers without a lock: a table's contents never change under its
/// file number, which is never reused while the store is open.
final class RowCacheEntry: Sendable {
    let userKey: [UInt8]
    /// The table's answer (a found value is shared with every reader it is returned to:
    /// returning it copies nothing).
    let lookup: LookupResult
    let sequence: UInt64
    /// What the entry costs the cache's budget: its bytes and the cache's bookkeeping.
    let charge: Int

    /// Nil for `.absent`: a table's silence is not cached.
    init?(userKey: UnsafeRawBufferPointer, _ lookup: LookupResult) {
        switch lookup {
        case .found(let value, let sequence, _, _):
            self.sequence = sequence
            charge = userKey.count + value.count + 160
        case .deleted(let sequence):
            self.sequence = sequence
            charge = userKey.count + 160
        case .absent:
            return nil
        }
        self.userKey = Array(userKey)
        self.lookup = lookup
    }

    func holds(_ key: UnsafeRawBufferPointer) -> Bool {
        userKey.withUnsafeBytes { compareBytes($0.baseAddress, $0.count, key.baseAddress, key.count) == 0 }
    }
}

/// The row cache (RocksDB's `row_cache`): a table's answer for a user key, so a repeated point
/// read of a hot key skips the table's index, block cache and in-block search. Off unless
/// `Options.rowCacheCapacity` is set: for reads spread evenly over a store much larger than
/// the cache, the lookup that misses and the row stored cost more than the hits save
/// (measured in docs/BENCHMARKS.md, with a doorkeeper that stored a row only on its second
/// miss, which cost as much as it saved and was dropped).
///
/// Why it cannot serve a stale value: an entry is what one immutable table says of a key —
/// its newest entry there — and is only stored by a read whose sequence is at or above every
/// sequence in that table (so the entry found *is* the newest). A later read uses it only when
/// the entry's sequence is at or below its own; otherwise it reads the table. Everything newer
/// than the table (memtables, newer tables) is consulted before it as always, and range
/// deletions and expiry are applied above the table by `PointLookup`, unchanged. Only reads
/// that verify checksums fill it. A compaction writes new tables under new numbers; the old
/// tables' entries are never asked for again and age out.
typealias RowCache = ShardedCache<RowCacheKey, RowCacheEntry>

extension ShardedCache where Key == RowCacheKey, Value == RowCacheEntry {
    static func make(capacity: Int) -> RowCache {
        RowCache(capacity: capacity, shardCount: 16)
    }
}
