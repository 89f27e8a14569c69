/// The read side: point lookups, snapshots, iterators and size estimates. Reads take no
/// lock but the `MemtableSet`'s, for one load of what they read.
extension Engine {
    /// The value, expiry (0 = none) and tag (0 = none) of `key` as of `sequence` (default:
    /// the latest published write), or nil when absent, deleted or expired.
    func get(
        _ key: UnsafeRawBufferPointer, sequence snapshot: UInt64? = nil, verify: Bool = true, fillCache: Bool = true,
        nonBlocking: Bool = false
    ) throws(KVError) -> (value: [UInt8], expiresAt: UInt64, tag: UInt8)? {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        var seekCompactionDue = false
        let found = try pointLookup.get(
            key, sequence: snapshot, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking,
            seekCompactionDue: &seekCompactionDue)
        if seekCompactionDue { scheduler.signalWork() }
        return found
    }

    /// `get` of each of `keys` in one pinned read state at one sequence: one consistent view
    /// (as under a snapshot) without registering a snapshot, and the state taken once rather
    /// than per key.
    func get(
        keys: [[UInt8]], sequence snapshot: UInt64? = nil, verify: Bool = true, fillCache: Bool = true, nonBlocking: Bool = false
    ) throws(KVError) -> [(value: [UInt8], expiresAt: UInt64, tag: UInt8)?] {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        let (state, sequence) = pointLookup.pin(snapshot)
        var seekCompactionDue = false
        defer { if seekCompactionDue { scheduler.signalWork() } }
        var found: [(value: [UInt8], expiresAt: UInt64, tag: UInt8)?] = []
        found.reserveCapacity(keys.count)
        for key in keys {
            found.append(try key.withBytes { (k) throws(KVError) in
                try pointLookup.get(
                    k, in: state, at: sequence, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking,
                    seekCompactionDue: &seekCompactionDue)
            })
        }
        return found
    }

    func takeSnapshot() throws(KVError) -> Snapshot {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        // Read and register in one step under the list's lock, which the background thread
        // also takes to compute its cutoff: otherwise a compaction could compute a cutoff
        // above the sequence read here before it is registered, and drop what it needs.
        let (sequence, contents) = snapshots.register()
        return Snapshot(sequence: sequence, contents: contents, list: snapshots)
    }

    func sequence(for snapshot: Snapshot?) throws(KVError) -> UInt64? {
        guard let snapshot else { return nil }
        guard snapshot.list === snapshots else { throw KVError.invalidArgument("snapshot belongs to another store") }
        guard !snapshot.isReleased else { throw KVError.invalidArgument("snapshot was released") }
        try checkStillCurrent(snapshot)
        return snapshot.sequence
    }

    /// Throws if the store's contents were replaced since `snapshot` was taken (or were being
    /// replaced when it was: see `SnapshotList`). Checked again
    /// after a read that pinned its state after the check above: the count moves before new
    /// contents are published, so a read that saw them fails here instead of returning a
    /// mixture (its sequence is from the old numbering).
    func checkStillCurrent(_ snapshot: Snapshot?) throws(KVError) {
        guard let snapshot, !snapshots.isCurrent(snapshot.contents) else { return }
        throw KVError.invalidArgument("snapshot was taken before or during a replacement of the store's contents")
    }

    func makeIterator(_ options: ReadOptions) throws(KVError) -> KVIterator {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        // State first, then the sequence (see `Engine.get`).
        let (state, latest) = memtables.withCurrent { ($0, snapshots.lastSequence) }
        let sequence = try self.sequence(for: options.snapshot) ?? latest
        var lower = options.lowerBound
        var upper = options.upperBound
        var prefixHashValue: UInt64?
        var prefixLength = 0
        if let prefix = options.prefix {
            if lower.map({ compareArrays($0, prefix) < 0 }) ?? true { lower = prefix }
            if let end = prefixSuccessor(prefix), upper.map({ compareArrays(end, $0) < 0 }) ?? true { upper = end }
            if !prefix.isEmpty {
                prefixHashValue = prefix.withUnsafeBytes { filterPrefixHash($0) }
                prefixLength = prefix.count
            }
        }
        // Sources newest first: memtables, level-0 files newest first, then one per level.
        var children: [any InternalIterator] = [MemtableIterator(state.activeMemtable)]
        if let immutableMemtable = state.immutableMemtable { children.append(MemtableIterator(immutableMemtable)) }
        let verify = options.verifyChecksums
        let fill = options.fillCache
        for f in state.version.files[0].reversed() where f.overlaps(lower, upper) {
            children.append(LevelIterator(files: [f], tableCache: tableCache, verify: verify, fillCache: fill, prefixHash: prefixHashValue, prefixLength: prefixLength))
        }
        for level in 1..<Version.levelCount {
            let files = state.version.files[level].filter { $0.overlaps(lower, upper) }
            if !files.isEmpty {
                children.append(LevelIterator(files: files, tableCache: tableCache, verify: verify, fillCache: fill, prefixHash: prefixHashValue, prefixLength: prefixLength))
            }
        }
        var tombstones = state.version.rangeTombstones.tombstones + state.activeMemtable.rangeTombstones
        if let immutableMemtable = state.immutableMemtable { tombstones += immutableMemtable.rangeTombstones }
        tombstones.removeAll { $0.sequence > sequence }
        let iterator = DBIterator(
            input: MergingIterator(children), sequence: sequence, now: self.options.clock(), tombstones: TombstoneIndex(tombstones),
            lowerBound: lower, upperBound: upper)
        return KVIterator(state: state, snapshot: options.snapshot, iterator: iterator)
    }

    /// Bytes of table data between the keys, estimated from index blocks (LevelDB's
    /// GetApproximateSizes): memtables are not counted.
    func approximateSize(from start: [UInt8]?, to end: [UInt8]?) throws(KVError) -> Int64 {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        let version = memtables.current.version
        var total: Int64 = 0
        for level in version.files {
            for f in level where f.overlaps(start, end) {
                let table = try tableCache.table(f.number, size: f.size)
                let a = start.map { offset(of: $0, in: table) } ?? 0
                let b = end.map { offset(of: $0, in: table) } ?? Int64(f.size)
                total += max(0, b - a)
            }
        }
        return total
    }

    /// Approximate file offset where `key` would be: the start of the data block holding it.
    private func offset(of key: [UInt8], in table: TableReader) -> Int64 {
        var cursor = BlockCursor(table.index)
        let target = makeInternalKey(key, maxSequenceNumber, 0xff)
        target.withUnsafeBytes { cursor.seek($0) }
        guard cursor.isValid, let handle = try? table.decodeHandle(cursor.value) else {
            return Int64(table.fileSize)
        }
        return Int64(handle.offset)
    }
}

/// The smallest key greater than every key starting with `prefix`, or nil (all 0xff). Also
/// kvctl's, to bound a prefix scan over the server.
package func prefixSuccessor(_ prefix: [UInt8]) -> [UInt8]? {
    var p = prefix
    while let last = p.last {
        if last < 0xff {
            p[p.count - 1] = last + 1
            return p
        }
        p.removeLast()
    }
    return nil
}
