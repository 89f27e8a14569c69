/// The background thread's compactions: one picked by score or seeks, a manual range pushed
/// down the levels, and the collection of range tombstones that no longer cover anything.
/// Runs on the background thread only (it uses `LiveFiles`); a failure is thrown to the
/// scheduler, which makes the store read-only.
///
/// A long merge stops between user keys every few thousand entries, and a manual compaction
/// between its steps, to let the flusher write a memtable frozen meanwhile (`yieldToFlush`),
/// so writers never wait for a whole compaction (LevelDB does the same).
final class Compactor {
    private let files: LiveFiles
    private let snapshots: SnapshotList
    private let options: Options
    private let directory: String
    private let tableCache: TableCache
    private let statistics: EngineStatistics
    private let infoLog: InfoLog
    private let flusher: Flusher
    private let latch: FailureLatch
    private let shutdown: ShutdownFlag
    private let progress: BackgroundProgress
    /// What a compaction filter reads through.
    private let pointLookup: PointLookup

    init(
        files: LiveFiles, snapshots: SnapshotList, options: Options, directory: String, tableCache: TableCache,
        statistics: EngineStatistics, infoLog: InfoLog, flusher: Flusher, latch: FailureLatch, shutdown: ShutdownFlag,
        progress: BackgroundProgress, pointLookup: PointLookup
    ) {
        self.pointLookup = pointLookup
        self.flusher = flusher
        self.latch = latch
        self.shutdown = shutdown
        self.progress = progress
        self.files = files
        self.snapshots = snapshots
        self.options = options
        self.directory = directory
        self.tableCache = tableCache
        self.statistics = statistics
        self.infoLog = infoLog
    }

    /// False once the store is shutting down or has failed: a manual compaction stops.
    private var mayContinue: Bool { !latch.isSet && !shutdown.isSet }

    /// Flushes a memtable frozen while this compaction ran, and tells the writers waiting for
    /// it. Called between user keys of a long merge and between a manual compaction's steps.
    private func yieldToFlush() {
        guard mayContinue, flusher.hasWork else { return }
        do {
            try flusher.flush()
            try afterStep()
        } catch {
            latch.record(error, while: "flushing the memtable")
        }
        progress.advance()
    }

    /// The compaction the current version needs most, if any.
    func pick() -> Compaction? {
        Compaction.pick(files.current, compactPointers: files.versions.compactPointers, options: options)
    }

    /// Runs one compaction: a trivial move when the input can go down a level as it is,
    /// else a merge into new tables.
    func run(_ c: Compaction) throws(KVError) {
        if c.seekTriggered {
            statistics.seekCompactions.add(1, ordering: .relaxed)
            infoLog.log("seek compaction of \(c.inputs.map { FileNames.table($0.number) }.joined(separator: ", ")) at level \(c.level)")
        }
        let maxOverlap = Int64(10 * options.targetFileSize)
        var edit = VersionEdit()
        if c.isTrivialMove(maxGrandparentOverlap: maxOverlap) {
            let f = c.inputs[0]
            edit.deleteFile(c.level, f.number)
            edit.addFile(c.outputLevel, f)
            edit.compactPointers.append((c.level, f.largest))
            try files.commit(edit)
            statistics.trivialMoves.add(1, ordering: .relaxed)
            infoLog.log("moved \(FileNames.table(f.number)) from level \(c.level) to \(c.outputLevel)")
            return
        }
        let started = ContinuousClock.now
        var outputs: [FileMetaData] = []
        defer { files.release(outputs) }
        var children: [any InternalIterator] = []
        for f in c.allInputs {
            children.append(try tableCache.table(f.number, size: f.size).makeIterator(verify: true, fillCache: false, mapped: false))
        }
        let checker = BottommostChecker(levels: c.deeperLevels)
        let cutoff = snapshots.oldest()
        var job = CompactionJob(
            input: MergingIterator(children), fileSystem: options.fileSystem, directory: directory,
            tableOptions: TableOptions(options), smallestSnapshot: cutoff,
            targetFileSize: UInt64(options.targetFileSize), grandparents: c.grandparents,
            maxGrandparentOverlap: maxOverlap, isBottommostForKey: { checker.isBottommost($0) },
            allocateFileNumber: { self.files.allocateOutput() })
        job.tombstones = files.current.rangeTombstones
        job.now = options.clock()
        job.filter = options.compactionFilter?(CompactionContext(lookup: pointLookup, sequence: cutoff))
        job.yieldPoint = { [unowned self] in self.yieldToFlush() }
        let result = try job.run()
        try options.fileSystem.syncDirectory(directory)
        outputs = result.files
        statistics.compactions.add(1, ordering: .relaxed)
        statistics.compactionEntriesFiltered.add(result.entriesFiltered, ordering: .relaxed)
        statistics.compactionBytesRead.add(Int(c.inputBytes), ordering: .relaxed)
        statistics.compactionBytesWritten.add(Int(result.bytesWritten), ordering: .relaxed)
        for f in c.inputs { edit.deleteFile(c.level, f.number) }
        for f in c.nextInputs { edit.deleteFile(c.outputLevel, f.number) }
        for f in outputs { edit.addFile(c.outputLevel, f) }
        if let largest = c.inputs.map(\.largest).max(by: { compareInternalArrays($0, $1) < 0 }) {
            edit.compactPointers.append((c.level, largest))
        }
        try files.commit(edit)
        infoLog.log("compacted \(c.inputs.count)+\(c.nextInputs.count) files at levels \(c.level)+\(c.outputLevel) (\(c.inputBytes) bytes) into \(outputs.count) files in \(ContinuousClock.now - started)")
    }

    /// Pushes everything in [`begin`, `end`] down to the deepest level that has data there,
    /// then rewrites that level's files in place, so overwritten and deleted entries (and
    /// range deletions) are dropped everywhere, as RocksDB's CompactRange with bottommost
    /// compaction. Stops early (without error) once the store shuts down or fails.
    func compactRange(begin: [UInt8]?, end: [UInt8]?) throws(KVError) {
        var deepest = 0
        for level in 0..<Version.levelCount where !files.current.overlappingFiles(level, begin, end).isEmpty {
            deepest = level
        }
        let chunkBytes = Int64(25 * options.targetFileSize)
        func chunk(_ files: [FileMetaData]) -> [FileMetaData] {
            var bytes: Int64 = 0
            var take = 0
            while take < files.count && (take == 0 || bytes < chunkBytes) {
                bytes += Int64(files[take].size)
                take += 1
            }
            return Array(files.prefix(take))
        }
        for level in 0..<deepest {
            while mayContinue {
                var inputs = files.current.overlappingFiles(level, begin, end)
                if inputs.isEmpty { break }
                if level > 0 { inputs = chunk(inputs) }  // bounded steps, not a whole level at once
                var c = Compaction.make(files.current, level: level, inputs: inputs)
                c.allowTrivialMove = false
                try run(c)
                try afterStep()
                yieldToFlush()  // a flush waiting meanwhile goes first
            }
        }
        // The deepest level in place: only the files there now, each rewritten once.
        var pending = Set(files.current.overlappingFiles(deepest, begin, end).map(\.number))
        while mayContinue && !pending.isEmpty {
            let candidates = files.current.files[deepest].filter { pending.contains($0.number) }
            if candidates.isEmpty { break }
            let inputs = deepest == 0 ? files.current.overlappingFiles(0, begin, end) : chunk(candidates)
            for f in inputs { pending.remove(f.number) }
            if deepest == 0 {
                // Level 0 only: merge it into level 1 rather than rewrite overlapping files.
                var c = Compaction.make(files.current, level: 0, inputs: inputs)
                c.allowTrivialMove = false
                try run(c)
            } else {
                try run(Compaction.inPlace(files.current, level: deepest, inputs: inputs))
            }
            try afterStep()
            yieldToFlush()
        }
    }

    /// What follows every finished compaction: obsolete files go, and tombstones that cover
    /// nothing any more.
    func afterStep() throws(KVError) {
        // After a failure the MANIFEST's state is uncertain: delete nothing (reopening does it).
        guard mayContinue else { return }
        files.deleteObsoleteFiles()
        try collectRangeTombstones()
    }

    /// Removes range tombstones that every reader sees and that no longer cover any entry
    /// (compaction dropped what they hid). An unreadable table keeps them.
    private func collectRangeTombstones() throws(KVError) {
        let version = files.current
        guard !version.rangeTombstones.isEmpty else { return }
        let snapshot = snapshots.oldest()
        let candidates = version.rangeTombstones.tombstones.filter { $0.sequence <= snapshot }
        guard !candidates.isEmpty else { return }
        var removable: [UInt64] = []
        for t in candidates where !covers(t, in: version) {
            removable.append(t.sequence)
        }
        guard !removable.isEmpty else { return }
        var edit = VersionEdit()
        edit.removedTombstones = removable
        try files.commit(edit)
        infoLog.log("dropped \(removable.count) range tombstones that no longer cover anything")
    }

    /// Whether some table still holds an entry `t` hides (or cannot be read to tell).
    private func covers(_ t: RangeTombstone, in version: Version) -> Bool {
        for level in version.files {
            for f in level where f.smallestSequence < t.sequence && f.overlaps(t.start, t.end) {
                guard let table = try? tableCache.table(f.number, size: f.size) else { return true }
                let it = table.makeIterator(verify: true, fillCache: false)
                makeInternalKey(t.start, maxSequenceNumber, 0xff).withUnsafeBytes { it.seek($0) }
                while it.isValid {
                    let u = userKey(it.key)
                    if let end = t.end, end.withUnsafeBytes({ compareBytes(u.baseAddress, u.count, $0.baseAddress, $0.count) }) >= 0 { break }
                    if trailer(it.key) >> 8 < t.sequence { return true }
                    it.next()
                }
                if it.error != nil { return true }
            }
        }
        return false
    }
}

/// Answers "can any level below the output hold this user key?" for a compaction's keys,
/// which arrive in ascending order, so one pointer per level only moves forward.
private final class BottommostChecker {
    private let files: [[FileMetaData]]
    private var positions: [Int]

    init(levels: [[FileMetaData]]) {
        files = levels
        positions = Array(repeating: 0, count: files.count)
    }

    func isBottommost(_ key: UnsafeRawBufferPointer) -> Bool {
        for (l, level) in files.enumerated() {
            while positions[l] < level.count {
                let f = level[positions[l]]
                let beyond = f.largest.withUnsafeBytes { lg -> Bool in
                    let lu = userKey(lg)
                    return compareBytes(key.baseAddress, key.count, lu.baseAddress, lu.count) > 0
                }
                if !beyond {
                    if f.contains(userKey: key) { return false }
                    break
                }
                positions[l] += 1
            }
        }
        return true
    }
}
