/// Hands a full memtable to the background thread: the log is rotated (the old one synced,
/// the new one created and its directory entry synced), the active memtable is frozen, a
/// fresh one takes its place, and the background thread is told there is a flush to do.
///
/// The commit leader's, called from `WriteController.makeRoom`: leaders are serialized, so
/// two switches never overlap, and a switch happens only once the previous frozen memtable is
/// gone (the controller waits for that first). Holds no state of its own.
struct MemtableRotation: Sendable {
    let wal: WriteAheadLog
    let memtables: MemtableSet
    let fileNumbers: FileNumbers
    let scheduler: BackgroundScheduler
    let snapshots: SnapshotList
    let writeBufferSize: Int

    /// Freezes the active memtable behind a new log; returns the fresh active memtable.
    func switchMemtable() throws(KVError) -> Memtable {
        try wal.rotate(to: fileNumbers.allocate())
        // No group is in flight (the caller leads), so every write so far is published.
        let fresh = Memtable(writeBufferSize: writeBufferSize, startSequence: snapshots.lastSequence)
        memtables.freeze(replacingWith: fresh)
        scheduler.signalWork()
        return fresh
    }
}
