import Synchronization

/// A least-recently-used map with a byte (or count) budget. Entries live in arrays linked by
/// index, so a hit moves no memory and allocates nothing. Not thread-safe on its own:
/// `ShardedCache` wraps each instance in a `Mutex`.
struct LRUCache<Key: Hashable, Value> {
    fileprivate struct Entry {
        var key: Key
        var value: Value?
        var charge: Int
        var prev: Int
        var next: Int
    }

    private(set) var capacity: Int
    private var map: [Key: Int] = [:]
    private var entries: [Entry] = []
    private var free: [Int] = []
    private var head = -1  // most recent
    private var tail = -1  // least recent
    private(set) var usage = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { map.count }

    /// Sums a figure over the cached values.
    func reduce(_ initial: Int, _ f: (Int, Value) -> Int) -> Int {
        entries.reduce(initial) { acc, e in e.value.map { f(acc, $0) } ?? acc }
    }

    mutating func get(_ key: Key) -> Value? {
        guard let i = map[key] else { return nil }
        moveToFront(i)
        return entries[i].value
    }

    /// A new budget; returns the values evicted to meet it (released outside the lock).
    mutating func setCapacity(_ capacity: Int) -> [Value] {
        self.capacity = capacity
        var evicted: [Value] = []
        while usage > capacity && tail >= 0 {
            if let v = removeIndex(tail) { evicted.append(v) }
        }
        return evicted
    }

    /// Inserts or replaces; evicts least-recent entries beyond capacity. Returns evicted values
    /// so the caller can release them outside its lock.
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value, charge: Int) -> [Value] {
        if let i = map[key] {
            usage += charge - entries[i].charge
            entries[i].value = value
            entries[i].charge = charge
            moveToFront(i)
        } else {
            let e = Entry(key: key, value: value, charge: charge, prev: -1, next: -1)
            let i: Int
            if let slot = free.popLast() {
                entries[slot] = e
                i = slot
            } else {
                entries.append(e)
                i = entries.count - 1
            }
            map[key] = i
            linkFront(i)
            usage += charge
        }
        var evicted: [Value] = []
        while usage > capacity && tail >= 0 && map.count > 1 {
            if let v = removeIndex(tail) { evicted.append(v) }
        }
        return evicted
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let i = map[key] else { return nil }
        return removeIndex(i)
    }

    private mutating func removeIndex(_ i: Int) -> Value? {
        unlink(i)
        map[entries[i].key] = nil
        usage -= entries[i].charge
        let v = entries[i].value
        entries[i].value = nil
        free.append(i)
        return v
    }

    private mutating func moveToFront(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        linkFront(i)
    }

    private mutating func linkFront(_ i: Int) {
        entries[i].prev = -1
        entries[i].next = head
        if head >= 0 { entries[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    private mutating func unlink(_ i: Int) {
        let p = entries[i].prev
        let n = entries[i].next
        if p >= 0 { entries[p].next = n } else { head = n }
        if n >= 0 { entries[n].prev = p } else { tail = p }
    }
}

/// A key with a cheap, well-mixed hash of its own (to pick a shard without `Hasher`).
protocol CacheShardable {
    var mixedHash: UInt64 { get }
}

extension CacheShardable {
    /// Two words mixed with multiply-xorshift: the cache keys' `mixedHash` (`BlockCacheKey`
    /// says why not SipHash).
    @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var h = (a &* 0x9E37_79B9_7F4A_7C15) ^ b
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }
}

/// A cache key hashes as its mix, for `Dictionary` too: no SipHash per lookup.
extension CacheShardable where Self: Hashable {
    func hash(into hasher: inout Hasher) { hasher.combine(mixedHash) }

    /// What `Dictionary` calls: the mix, perturbed by the table's seed.
    func _rawHashValue(seed: Int) -> Int {
        var h = mixedHash ^ UInt64(UInt(bitPattern: seed))
        h = h &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: h ^ (h >> 31))
    }
}

/// An `LRUCache` split into shards by key hash, each behind its own `Mutex`, so concurrent
/// readers rarely contend.
final class ShardedCache<Key: Hashable & Sendable & CacheShardable, Value: Sendable>: Sendable {
    private final class Shard: Sendable {
        let lru: Mutex<LRUCache<Key, Value>>
        init(capacity: Int) { lru = Mutex(LRUCache(capacity: capacity)) }
    }

    private let shards: [Shard]
    /// False at capacity 0: nothing is inserted (a disabled cache costs no lock per block).
    private let enabled: Atomic<Bool>
    /// The budget as set (the shards share it, rounded down).
    private let budget: Atomic<Int>
    private let hits = Atomic<Int>(0)
    private let misses = Atomic<Int>(0)

    init(capacity: Int, shardCount: Int) {
        enabled = Atomic(capacity > 0)
        budget = Atomic(capacity)
        let per = max(1, capacity / shardCount)
        shards = (0..<shardCount).map { _ in Shard(capacity: per) }
    }

    /// Changes the budget while in use, evicting what no longer fits.
    func setCapacity(_ capacity: Int) {
        let per = max(1, capacity / shards.count)
        for s in shards {
            let evicted = s.lru.locked { $0.setCapacity(capacity > 0 ? per : 0) }
            _ = evicted  // released here, outside the lock
        }
        enabled.store(capacity > 0, ordering: .relaxed)
        budget.store(capacity, ordering: .relaxed)
    }

    /// The budget last set (at creation or by `setCapacity`).
    var capacity: Int { budget.load(ordering: .relaxed) }

    /// False at capacity 0: a caller can skip the lookup (and its lock) altogether.
    var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    @inline(__always)
    private func shard(_ key: Key) -> Int {
        Int(truncatingIfNeeded: key.mixedHash >> 40) % shards.count
    }

    func get(_ key: Key) -> Value? {
        let v = shards[shard(key)].lru.locked { $0.get(key) }
        if v != nil { hits.add(1, ordering: .relaxed) } else { misses.add(1, ordering: .relaxed) }
        return v
    }

    func insert(_ key: Key, _ value: Value, charge: Int) {
        guard enabled.load(ordering: .relaxed) else { return }
        let evicted = shards[shard(key)].lru.locked { $0.insert(key, value, charge: charge) }
        _ = evicted  // released here, outside the lock
    }

    func remove(_ key: Key) {
        _ = shards[shard(key)].lru.locked { $0.remove(key) }
    }

    var usage: Int { shards.reduce(0) { total, s in total + s.lru.locked { $0.usage } } }
    var hitCount: Int { hits.load(ordering: .relaxed) }
    var missCount: Int { misses.load(ordering: .relaxed) }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Entry: Sendable where Key: Sendable, Value: Sendable {}
