/// What an optimistic transaction's commit must find true before its batch is written: none
/// of `keys` written after `readSequence` (its snapshot). The commit leader checks it with no
/// other group in flight, so nothing can land between the check and the write.
struct CommitCondition: Sendable {
    let readSequence: UInt64
    /// The contents the snapshot was of (`SnapshotList.contents`): a transaction that read
    /// contents since replaced conflicts, whatever the sequences say.
    let contents: UInt64
    let keys: [[UInt8]]

    /// The first key found written after `readSequence`, judged from the memtables, or nil.
    /// They hold every write since the oldest of them became active; when the snapshot is
    /// older than that, a write to a key may already be in a table, where its sequence cannot
    /// be told cheaply, and the commit conservatively conflicts (as RocksDB's optimistic
    /// transactions do).
    func conflict(in state: ReadState, snapshots: SnapshotList) -> [UInt8]? {
        if !snapshots.isCurrent(contents) { return keys.first ?? [] }
        let memtables = [state.activeMemtable] + (state.immutableMemtable.map { [$0] } ?? [])
        let oldest = memtables.last!
        if readSequence < oldest.startSequence { return keys.first ?? [] }
        for key in keys {
            let written = key.withUnsafeBytes { k -> Bool in
                let hash = hash64(k)
                for m in memtables {
                    switch m.get(k, hash: hash, sequence: maxSequenceNumber) {
                    case .found(_, let s, _, _), .deleted(let s): if s > readSequence { return true }
                    case .absent: break
                    }
                    if m.hasRangeTombstones,
                       coveringSequence(in: m.rangeTombstones.filter { $0.sequence > readSequence }, k, atOrBelow: maxSequenceNumber) > readSequence {
                        return true
                    }
                }
                return false
            }
            if written { return key }
        }
        return nil
    }
}
