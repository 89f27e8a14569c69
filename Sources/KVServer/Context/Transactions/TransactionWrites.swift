import KVStore

/// The writes of one EXEC, gathered while its commands run: later commands of the same
/// transaction read them (`SET a 1; INCR a` answers 2), and EXEC commits all of them as one
/// engine batch, so the transaction is applied whole or not at all, also across a crash.
struct TransactionWrites: Sendable {
    /// What this transaction has written to a key: a value (with its expiry) or a deletion.
    private var latest: [[UInt8]: StoredValue?] = [:]
    /// Ranges deleted by this transaction (FLUSHDB, DELRANGE), in order.
    private var deletedRanges: [DeletedRange] = []

    private struct DeletedRange: Sendable {
        let from: [UInt8]
        /// Nil: every key from `from` on.
        let end: [UInt8]?

        func contains(_ key: [UInt8]) -> Bool {
            guard !key.lexicographicallyPrecedes(from) else { return false }
            return end.map { key.lexicographicallyPrecedes($0) } ?? true
        }
    }
    private(set) var batch = WriteBatch()
    /// Keys whose watchers must learn of the commit (every key written, and the watched keys
    /// a range deletion removed).
    private(set) var touched: [[UInt8]] = []

    /// What this transaction says about `key`: `.some(nil)` when it deleted it, nil when it
    /// has not touched it (read the store).
    func lookup(_ key: [UInt8], now: UInt64) -> StoredValue?? {
        if let entry = latest[key] {
            guard let v = entry, v.expiresAt.map({ $0 > now }) ?? true else { return .some(nil) }
            return .some(v)
        }
        for r in deletedRanges where r.contains(key) { return .some(nil) }
        return nil
    }

    mutating func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) {
        if let e = expiresAt { batch.put(key, value, expiresAt: e) } else { batch.put(key, value) }
        latest[key] = StoredValue(value: value, expiresAt: expiresAt)
        touched.append(key)
    }

    mutating func delete(_ key: [UInt8]) {
        batch.delete(key)
        latest[key] = .some(nil)
        touched.append(key)
    }

    /// Deletes [from, end) — every key from `from` on when `end` is nil — and with it this
    /// transaction's earlier writes in the range. `watchedAndLive` are the watched keys the
    /// deletion removes.
    mutating func deleteRange(from: [UInt8], to end: [UInt8]?, watchedAndLive: [[UInt8]]) {
        let range = DeletedRange(from: from, end: end)
        if end.map({ from.lexicographicallyPrecedes($0) }) ?? true { batch.deleteRange(from: from, to: end) }
        for key in latest.keys where range.contains(key) { latest[key] = .some(nil) }
        deletedRanges.append(range)
        touched.append(contentsOf: watchedAndLive)
    }

    /// Whether the transaction has written, deleted or range-deleted `key` (its stored value,
    /// if any, is no longer what a read of this transaction sees).
    func overrides(_ key: [UInt8]) -> Bool {
        latest.index(forKey: key) != nil || deletedRanges.contains { $0.contains(key) }
    }

    /// The values this transaction wrote and has not deleted since, unexpired, in key order.
    func liveEntries(now: UInt64) -> [(key: [UInt8], value: [UInt8])] {
        var entries: [(key: [UInt8], value: [UInt8])] = []
        for (key, stored) in latest {
            guard let v = stored, v.expiresAt.map({ $0 > now }) ?? true else { continue }
            entries.append((key, v.value))
        }
        return entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    var isEmpty: Bool { latest.isEmpty && deletedRanges.isEmpty }

    /// The greatest key this transaction has written a live value to, at or after `from`.
}
