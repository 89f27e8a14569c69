/// Merges sorted input into new tables, dropping what no reader can see:
///
/// - an entry hidden by a newer entry of the same key that every snapshot sees
///   (its successor's sequence ≤ `smallestSnapshot`);
/// - a deletion that every snapshot sees, when no deeper level can hold the key
///   (`isBottommostForKey` decides, per user key);
/// - an entry covered by a range deletion that every snapshot sees;
/// - a value a compaction filter removes — the engine's own `ExpiredValueFilter` first (an
///   expired value is a deletion in all but name), then the application's
///   (`Options.compactionFilter`, offered only a key's newest value that every snapshot
///   sees): dropped when a deletion would be, else written as a deletion so that it keeps
///   hiding older versions without its bytes.
///
/// Outputs are split at `targetFileSize` and where they would overlap too much of the level
/// below the output (`grandparents`), but never between two entries of one user key: a level
/// above 0 must not spread a key over two files, or a lookup would stop at the first.
struct CompactionJob {
    let input: any InternalIterator
    let fileSystem: any FileSystem
    let directory: String
    let tableOptions: TableOptions
    let smallestSnapshot: UInt64
    /// Range deletions that may hide input entries.
    var tombstones = TombstoneIndex([])
    /// Split outputs at this size; `nil` writes one file (a flush).
    let targetFileSize: UInt64?
    let grandparents: [FileMetaData]
    let maxGrandparentOverlap: Int64
    /// True if no level below the output can contain `userKey`.
    let isBottommostForKey: (UnsafeRawBufferPointer) -> Bool
    /// Allocates a file number and protects it from obsolete-file deletion.
    let allocateFileNumber: () -> UInt64
    /// Called every few thousand entries, between user keys: the background thread flushes a
    /// waiting memtable there, so writers never wait for a whole compaction (LevelDB does
    /// the same).
    var yieldPoint: (() -> Void)?
    /// The clock reading (ms since the epoch) that decides which values have expired; 0
    /// expires nothing.
    var now: UInt64 = 0
    /// The application's filter for this compaction, if any.
    var filter: (any CompactionFilter)?

    struct Result {
        var files: [FileMetaData] = []
        var bytesWritten: Int64 = 0
        var entriesIn = 0
        var entriesDropped = 0
        /// Values a filter removed (expired ones included).
        var entriesFiltered = 0
    }

    func run() throws(KVError) -> Result {
        var result = Result()
        let expiry = ExpiredValueFilter(now: now)
        var filter = self.filter
        var builder: TableBuilder?
        var outputNumber: UInt64 = 0
        var smallest: [UInt8] = []
        var largest: [UInt8] = []
        var currentUserKey: [UInt8] = []
        var hasCurrent = false
        var lastSequenceForKey = UInt64.max
        var grandparentIndex = 0
        var overlappedBytes: Int64 = 0
        var seenKey = false
        var rewritten: [UInt8] = []  // an expired value's key, re-kinded as a deletion

        func finishOutput() throws(KVError) {
            guard let b = builder else { return }
            builder = nil
            let properties = try b.finish()
            result.files.append(FileMetaData(
                number: outputNumber, size: b.fileSize, smallest: smallest, largest: largest,
                smallestSequence: properties.smallestSequence, largestSequence: properties.largestSequence))
            result.bytesWritten += Int64(b.fileSize)
        }

        do throws(KVError) {
            input.seekToFirst()
            while input.isValid {
                let key = input.key
                let user = userKey(key)
                let t = trailer(key)
                let sequence = t >> 8
                let newUserKey = !hasCurrent
                    || compareBytes(user.baseAddress, user.count, currentUserKey, currentUserKey.count) != 0
                result.entriesIn += 1

                if newUserKey {
                    if let yieldPoint, result.entriesIn % 4096 == 0 { yieldPoint() }
                    // Only here may an output end.
                    if builder != nil, let target = targetFileSize, builder!.estimatedFileSize >= target {
                        try finishOutput()
                    }
                    if !grandparents.isEmpty {
                        while grandparentIndex < grandparents.count,
                              grandparents[grandparentIndex].largest.withUnsafeBytes({ compareInternalKeys(key, $0) > 0 })
                        {
                            if seenKey { overlappedBytes += Int64(grandparents[grandparentIndex].size) }
                            grandparentIndex += 1
                        }
                        seenKey = true
                        if overlappedBytes > maxGrandparentOverlap && builder != nil {
                            try finishOutput()
                            overlappedBytes = 0
                        }
                    }
                    currentUserKey.removeAll(keepingCapacity: true)
                    currentUserKey.append(contentsOf: user)
                    hasCurrent = true
                    lastSequenceForKey = .max
                }

                let kind = UInt8(truncatingIfNeeded: t)
                var expired = false  // removed by a filter: a deletion from here on
                if kind != ValueKind.deletion.rawValue, let (offset, e, tag) = valueParts(kind, input.value) {
                    let stored = input.value
                    let entry = CompactionEntry(
                        key: user, value: UnsafeRawBufferPointer(rebasing: stored[offset...]), expiresAt: e == 0 ? nil : e, tag: tag)
                    if expiry.decide(entry) == .remove {
                        expired = true
                    } else if filter != nil, lastSequenceForKey == .max, sequence <= smallestSnapshot, filter!.decide(entry) == .remove {
                        expired = true
                    }
                    if expired { result.entriesFiltered += 1 }
                }
                var drop = false
                if lastSequenceForKey <= smallestSnapshot {
                    drop = true  // a newer entry of this key is visible to every reader
                } else if (kind == ValueKind.deletion.rawValue || expired)
                            && sequence <= smallestSnapshot && isBottommostForKey(user) {
                    drop = true  // nothing below to hide, and every reader sees the deletion
                } else if !tombstones.isEmpty && tombstones.coveringSequence(user, atOrBelow: smallestSnapshot) > sequence {
                    drop = true  // a range deletion every reader sees hides it
                }
                lastSequenceForKey = sequence

                if drop {
                    result.entriesDropped += 1
                } else {
                    // Every reader from now on sees an expired value as absent (the clock only
                    // moves on), so a deletion at the same sequence reads the same.
                    func emit(_ outKey: UnsafeRawBufferPointer, _ outValue: UnsafeRawBufferPointer) throws(KVError) {
                        if builder == nil {
                            outputNumber = allocateFileNumber()
                            let path = Path.join(directory, FileNames.table(outputNumber))
                            builder = TableBuilder(file: try fileSystem.openWritable(path, truncate: true), options: tableOptions)
                            smallest = Array(outKey)
                        }
                        try builder!.add(outKey, outValue)
                        largest.removeAll(keepingCapacity: true)
                        largest.append(contentsOf: outKey)
                    }
                    if expired {
                        makeInternalKey(user, packTrailer(sequence, ValueKind.deletion.rawValue), into: &rewritten)
                        try rewritten.withBytes { (k) throws(KVError) in try emit(k, UnsafeRawBufferPointer(start: nil, count: 0)) }
                    } else {
                        try emit(key, input.value)
                    }
                }
                input.next()
            }
            if let e = input.error { throw e }
            try finishOutput()
        } catch {
            builder?.abandon()
            throw error
        }
        return result
    }
}
