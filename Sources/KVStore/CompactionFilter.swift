/// What a compaction filter decides about one entry.
public enum CompactionDecision: Sendable {
    /// Write the entry as it is.
    case keep
    /// Drop it: from then on its key reads as deleted, exactly as if it had been deleted at
    /// the moment this version was written (older versions stay hidden). The space comes back
    /// once the deletion reaches the deepest level holding the key (a full `compactRange`
    /// gets it there).
    case remove
}

/// One value a compaction is about to write, as a filter sees it. The key and value views
/// are valid only during the call: copy what must outlive it.
public struct CompactionEntry {
    /// The user key.
    public let key: UnsafeRawBufferPointer
    /// The value's bytes (without the expiry or tag the engine stores beside them).
    public let value: UnsafeRawBufferPointer
    /// When it expires, if it was written with an expiry (it has not expired: expired values
    /// are dropped before a filter sees them).
    public let expiresAt: UInt64?
    /// Its tag (`WriteBatch.put(_:_:expiresAt:tag:)`), 0 for none.
    public let tag: UInt8
}

/// Decides, entry by entry, what a compaction keeps, as RocksDB's `CompactionFilter`: the hook
/// through which data that has become garbage by the application's own rules — the elements
/// of a collection whose metadata is gone, say — is dropped in the background instead of by
/// one delete per entry. The engine's own expiry goes through the same hook first.
///
/// `Options.compactionFilter` makes one per compaction; it is called on the compaction's
/// thread, one entry at a time, in key order. It is offered only values that are the newest
/// version of their key in the compaction and that every reader sees (no snapshot is older
/// than them), so removing one can change only what every reader sees, in the way the filter
/// intends. Deletions are never offered. A filter must not write to the store; it may read it
/// through its `CompactionContext`.
public protocol CompactionFilter {
    /// Keep or remove `entry`.
    mutating func decide(_ entry: CompactionEntry) -> CompactionDecision
}

/// What a compaction filter may read: the store as of the compaction's cut-off — its oldest
/// live snapshot, or the last write when it began if there is none — which is how every
/// reader that can still see the filtered entries sees the store.
public struct CompactionContext: Sendable {
    let lookup: PointLookup
    let sequence: UInt64

    /// The value of `key` at the cut-off, or nil when it is absent, deleted or expired.
    public func lookup(_ key: [UInt8]) throws(KVError) -> StoredValue? {
        var unused = false
        let found = try key.withBytes { (k) throws(KVError) in
            try lookup.get(k, sequence: sequence, verify: true, fillCache: false, nonBlocking: false, seekCompactionDue: &unused)
        }
        guard let (value, expiresAt, tag) = found else { return nil }
        return StoredValue(value: value, expiresAt: expiresAt == 0 ? nil : expiresAt, tag: tag)
    }
}

/// The engine's own filter, run before the application's on every value: a value whose
/// expiry has passed is removed (every reader from then on sees it as absent — the clock only
/// moves on — so a deletion at the same sequence reads the same).
struct ExpiredValueFilter: CompactionFilter {
    /// The clock reading (ms since the epoch) that decides; 0 expires nothing.
    let now: UInt64

    func decide(_ entry: CompactionEntry) -> CompactionDecision {
        if let e = entry.expiresAt, now != 0, e <= now { return .remove }
        return .keep
    }
}
