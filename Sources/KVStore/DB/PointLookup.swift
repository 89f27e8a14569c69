/// One point read over the memtables and tables as one `ReadState` shows them: the newest
/// entry of a key at or below a sequence, hidden when it has expired or a range deletion
/// newer than it covers it. `Engine.get` reads through it at the latest or a snapshot's
/// sequence; a compaction filter reads through it at the compaction's oldest snapshot.
///
/// Holds only immutable references (each part locks itself).
struct PointLookup: Sendable {
    let memtables: MemtableSet
    let snapshots: SnapshotList
    let tableCache: TableCache
    let clock: @Sendable () -> UInt64

    /// The value, expiry (0 = none) and tag (0 = none) of `key` as of `sequence` (nil: the
    /// latest published write), or nil when absent, deleted or expired. `seekCompactionDue`
    /// is set when the read consulted a file past its seek budget.
    func get(
        _ key: UnsafeRawBufferPointer, sequence snapshot: UInt64?, verify: Bool, fillCache: Bool, nonBlocking: Bool,
        seekCompactionDue: inout Bool
    ) throws(KVError) -> (value: [UInt8], expiresAt: UInt64, tag: UInt8)? {
        let (state, sequence) = pin(snapshot)
        return try get(key, in: state, at: sequence, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking,
                       seekCompactionDue: &seekCompactionDue)
    }

    /// The read state and the sequence a read (or a multi-get's reads) sees: the snapshot's
    /// sequence, or the latest.
    func pin(_ snapshot: UInt64?) -> (state: ReadState, sequence: UInt64) {
        // State first, then the sequence: the state's memtables and files are pinned, so
        // nothing at or below the sequence can be compacted away under this read. (Sequence
        // first would let a flush drop a version the read needs before it takes the state.)
        let (state, latest) = memtables.withCurrent { ($0, snapshots.lastSequence) }
        return (state, snapshot ?? latest)
    }

    /// `get` within a pinned state: every key of a multi-get is read in the same state at the
    /// same sequence, so together they are one consistent view (as under a snapshot).
    func get(
        _ key: UnsafeRawBufferPointer, in state: ReadState, at sequence: UInt64, verify: Bool, fillCache: Bool,
        nonBlocking: Bool, seekCompactionDue: inout Bool
    ) throws(KVError) -> (value: [UInt8], expiresAt: UInt64, tag: UInt8)? {
        let hash = hash64(key)
        var result = state.activeMemtable.get(key, hash: hash, sequence: sequence)
        if case .absent = result, let immutableMemtable = state.immutableMemtable {
            result = immutableMemtable.get(key, hash: hash, sequence: sequence)
        }
        if case .absent = result {
            let count = key.count + 8
            var due = false
            // The allocation's closure is `rethrows` (untyped): the error leaves it by hand.
            var failure: KVError?
            result = withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { buffer in
                if let base = key.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: key.count) }
                storeFixed64(buffer.baseAddress! + key.count, seekTrailer(sequence))
                do throws(KVError) {
                    return try state.version.get(
                        UnsafeRawBufferPointer(buffer), userKeyHash: hash, tableCache: tableCache, verify: verify, fillCache: fillCache,
                        nonBlocking: nonBlocking, seekCompactionDue: &due)
                } catch {
                    failure = error
                    return .absent
                }
            }
            if let failure { throw failure }
            if due { seekCompactionDue = true }
        }
        guard case let .found(value, found, expiresAt, tag) = result else { return nil }
        // An expired value is the key's newest version, so it hides the older ones: nil.
        if expiresAt != 0 && expiresAt <= clock() { return nil }
        // A range deletion newer than the entry (and visible to this read) hides it.
        if state.activeMemtable.hasRangeTombstones || state.immutableMemtable?.hasRangeTombstones == true || !state.version.rangeTombstones.isEmpty {
            var cover = state.version.rangeTombstones.coveringSequence(key, atOrBelow: sequence)
            cover = max(cover, coveringSequence(in: state.activeMemtable.rangeTombstones, key, atOrBelow: sequence))
            if let immutableMemtable = state.immutableMemtable { cover = max(cover, coveringSequence(in: immutableMemtable.rangeTombstones, key, atOrBelow: sequence)) }
            if cover > found { return nil }
        }
        return (value, expiresAt, tag)
    }
}
