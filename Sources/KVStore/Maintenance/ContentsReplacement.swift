/// Replaces everything a live store holds with a checkpoint's tables (`KVStore.checkpoint(to:)`
/// made it, here or on another server): what a replica does with a full synchronisation, as a
/// RocksDB user would with `IngestExternalFile` into an emptied range, but whole and atomic.
///
/// `Engine.replaceContents` prepares the ground while it holds the commit queue (no group can
/// commit until it is done): it waits out a frozen memtable's flush (its table would otherwise
/// land in the new version) and starts a new log. Then this job runs on the background thread,
/// which owns the version set and runs one job at a time, so no compaction is halfway through:
///
/// 1. each checkpoint table is hard-linked (copied across devices) into the store under a new
///    file number, protected from deletion as a job's output is; its size is checked against
///    the checkpoint's MANIFEST;
/// 2. every snapshot is marked stale (until step 4 ends, new ones are too: `SnapshotList`), and
///    a last sequence at least the checkpoint's is published (only now: had a failed
///    replacement raised it, the next write would leave a gap in the log's sequences, which
///    recovery reads as lost logs);
/// 3. one version edit deletes every live table and range tombstone, adds the linked tables at
///    the levels they had and the checkpoint's tombstones, records that last sequence, and
///    names the new log as the first to replay — the old logs hold only what is replaced;
/// 4. readers get the new version and an empty memtable in one published step.
///
/// The edit is the commit point: a crash before it is synced reopens the old contents (the
/// linked tables are orphans the next open deletes); after it, the new ones. The checkpoint's
/// entries keep their sequence numbers, all at or below the published last sequence, so every
/// later write shadows them. A snapshot taken before belongs to the old numbering: reads with
/// it throw (`SnapshotList.replaceContents`); iterators made before keep reading the old
/// contents, which they pin.
final class ContentsReplacement {
    /// The checkpoint's directory, version and last sequence (`VersionSet.recover` of it).
    let source: String
    let version: Version
    /// The log the commit queue started for the new contents.
    let logNumber: UInt64
    /// The last sequence to publish; the new empty memtable starts at it.
    let lastSequence: UInt64

    init(source: String, version: Version, logNumber: UInt64, lastSequence: UInt64) {
        self.source = source
        self.version = version
        self.logNumber = logNumber
        self.lastSequence = lastSequence
    }

    /// Steps 1–4 above, on the background thread. An error before the edit leaves the store as
    /// it was and is only thrown; one while recording the edit is recorded in `latch` too, as
    /// any failed MANIFEST write is (its state is then uncertain).
    func run(
        files: LiveFiles, snapshots: SnapshotList, options: Options, directory: String, latch: FailureLatch, infoLog: InfoLog
    ) throws(KVError) {
        let fs = options.fileSystem
        let current = files.current
        var edit = VersionEdit()
        for (level, list) in current.files.enumerated() {
            for f in list { edit.deleteFile(level, f.number) }
        }
        edit.removedTombstones = current.rangeTombstones.tombstones.map(\.sequence)
        var linked: [FileMetaData] = []
        defer { files.release(linked) }
        var bytes: UInt64 = 0
        for (level, list) in version.files.enumerated() {
            // Level 0 is in file-number order (newest last): new numbers are taken in that order.
            for f in list {
                var file = f
                file.number = files.allocateOutput()
                linked.append(file)
                let from = Path.join(source, FileNames.table(f.number))
                let to = Path.join(directory, FileNames.table(file.number))
                _ = try fs.linkOrCopy(from, to: to)
                let size = try fs.openReadable(to).size()
                guard size == Int64(f.size) else {
                    throw KVError.corruption(
                        file: from, offset: size, reason: "table is \(size) bytes; the checkpoint's MANIFEST says \(f.size)")
                }
                edit.addFile(level, file)
                bytes += f.size
            }
        }
        edit.addedTombstones = version.rangeTombstones.tombstones
        edit.logNumber = logNumber
        try fs.syncDirectory(directory)
        snapshots.beginReplacement(publishing: lastSequence)
        defer { snapshots.endReplacement() }
        do {
            try files.commit(edit, replacingActive: Memtable(writeBufferSize: options.writeBufferSize, startSequence: lastSequence))
        } catch {
            latch.record(error, while: "replacing the store's contents with \(source)")
            throw error
        }
        infoLog.log("contents replaced by \(source): \(linked.count) tables, \(bytes) bytes, last sequence \(lastSequence)")
    }
}
