/// A write batch you can read through, as RocksDB's `WriteBatchWithIndex`: its puts, deletes
/// and range deletions, indexed by key, so that whoever is building it can ask what it says
/// about a key (`lookup`) and walk its live entries in key order (`entries`). A `Transaction`
/// keeps its writes in one; `KVStore.write(_:)` of `batch` commits them.
///
/// Point lookups are a hash lookup; the sorted view is built when first walked (O(n log n) for
/// n keys written) and kept sorted by insertion after that (O(log n) comparisons and a move
/// of up to n references per new key).
public struct IndexedBatch: Sendable {
    /// What the batch says about a key.
    public enum Lookup: Sendable, Equatable {
        /// The batch wrote this value last.
        case value(StoredValue)
        /// The batch deleted it (a delete, a range deletion, or a value written with an
        /// expiry that has passed).
        case deleted
        /// The batch does not touch it: read the store.
        case untouched
    }

    /// The writes, in the order they were made: what a commit writes.
    public private(set) var batch = WriteBatch()
    /// Each key's last write (nil: deleted) and when it was made.
    private var latest: [[UInt8]: (value: StoredValue?, stamp: Int)] = [:]
    private var ranges: [DeletedRange] = []
    private var stamp = 0
    /// `latest`'s keys in order, built on demand.
    private var sorted: [[UInt8]]?

    private struct DeletedRange: Sendable {
        let from: [UInt8]
        /// Nil: every key from `from` on.
        let end: [UInt8]?
        let stamp: Int

        func contains(_ key: [UInt8]) -> Bool {
            guard !bytesPrecede(key, from) else { return false }
            return end.map { bytesPrecede(key, $0) } ?? true
        }
    }

    /// An empty batch.
    public init() {}

    /// Whether the batch holds no write.
    public var isEmpty: Bool { batch.isEmpty }

    /// Stores `value` under `key` (nil `expiresAt`: no expiry; `tag` as in
    /// `WriteBatch.put(_:_:expiresAt:tag:)`).
    public mutating func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64? = nil, tag: UInt8 = 0) {
        batch.appendPut(key, value, expiresAt: expiresAt, tag: tag)
        record(key, StoredValue(value: value, expiresAt: expiresAt, tag: tag))
    }

    /// Removes `key`.
    public mutating func delete(_ key: [UInt8]) {
        batch.appendDelete(key)
        record(key, nil)
    }

    /// Removes every key in [`from`, `to`) (nil `to`: every key from `from` on), the batch's
    /// own earlier writes included. An empty range removes nothing.
    public mutating func deleteRange(from: [UInt8], to: [UInt8]?) {
        if let to, !bytesPrecede(from, to) { return }
        batch.deleteRange(from: from, to: to)
        stamp += 1
        ranges.append(DeletedRange(from: from, end: to, stamp: stamp))
    }

    private mutating func record(_ key: [UInt8], _ value: StoredValue?) {
        stamp += 1
        // Once built, the sorted view is kept current by insertion (a binary search and a move
        // of the keys after it): a batch that is walked between its writes — a sorted set's
        // rank directory reads its blocks after each member — must not re-sort every time.
        if latest.updateValue((value, stamp), forKey: key) == nil, let at = sorted.map({ Self.firstIndex(notBelow: key, in: $0) }) {
            sorted?.insert(key, at: at)
        }
    }

    /// The first position in `keys` (sorted) whose key is not below `key`.
    private static func firstIndex(notBelow key: [UInt8], in keys: [[UInt8]]) -> Int {
        var lo = 0
        var hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bytesPrecede(keys[mid], key) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// What the batch says about `key`, judging expiry by `now` (ms since the epoch).
    public func lookup(_ key: [UInt8], now: UInt64) -> Lookup {
        if let entry = latest[key] {
            if ranges.contains(where: { $0.stamp > entry.stamp && $0.contains(key) }) { return .deleted }
            guard let v = entry.value, v.expiresAt.map({ $0 > now }) ?? true else { return .deleted }
            return .value(v)
        }
        return ranges.contains(where: { $0.contains(key) }) ? .deleted : .untouched
    }

    /// Whether the batch decides what `key` reads as (the store's value, if any, is hidden).
    public func overrides(_ key: [UInt8]) -> Bool {
        latest.index(forKey: key) != nil || ranges.contains { $0.contains(key) }
    }

    /// The batch's live values with `lower` ≤ key < `upper` (nil: unbounded), in key order.
    public mutating func entries(from lower: [UInt8]?, to upper: [UInt8]?, now: UInt64) -> [(key: [UInt8], value: StoredValue)] {
        view(from: lower, to: upper, now: now).live
    }

    /// What the batch says about [`lower`, `upper`): its live values and the keys it decides,
    /// copied out, so that an iterator keeps it while the batch goes on changing (holding the
    /// batch itself would copy all of it at the next write).
    mutating func view(from lower: [UInt8]?, to upper: [UInt8]?, now: UInt64) -> View {
        let keys = sorted ?? latest.keys.sorted(by: bytesPrecede)
        sorted = keys
        let lo = lower.map { Self.firstIndex(notBelow: $0, in: keys) } ?? 0
        var view = View()
        for key in keys[lo...] {
            if let upper, !bytesPrecede(key, upper) { break }
            view.written.append(key)
            if case .value(let v) = lookup(key, now: now) { view.live.append((key, v)) }
        }
        view.ranges = ranges.map { ($0.from, $0.end) }
        return view
    }

    /// A range of a batch, as `view(from:to:now:)` copied it.
    struct View {
        /// Live values in key order.
        var live: [(key: [UInt8], value: StoredValue)] = []
        /// Every key written in the range (deleted ones too), in order.
        var written: [[UInt8]] = []
        var ranges: [(from: [UInt8], end: [UInt8]?)] = []

        /// Whether the batch decides what `key` reads as.
        func overrides(_ key: UnsafeRawBufferPointer) -> Bool {
            func compare(_ a: [UInt8]) -> Int {
                a.withUnsafeBytes { compareBytes($0.baseAddress, $0.count, key.baseAddress, key.count) }
            }
            var lo = 0
            var hi = written.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let c = compare(written[mid])
                if c == 0 { return true }
                if c < 0 { lo = mid + 1 } else { hi = mid }
            }
            return ranges.contains { r in compare(r.from) <= 0 && (r.end.map { compare($0) > 0 } ?? true) }
        }
    }
}
