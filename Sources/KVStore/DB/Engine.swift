import Synchronization

/// The store's parts, wired together; `KVStore` is its public face.
///
/// ```
///   put/delete/write ──▶ GroupCommit ──(group: one record, one fdatasync)──▶ WriteAheadLog
///                            │ asks WriteController for room (slow, stop, switch memtable)
///                            │ inserts into the active memtable
///                            ▼
///   get/iterators ◀───── MemtableSet (active, frozen, version) ◀── installs ──┐
///                            │ frozen memtable                               │
///                            ▼                                               │
///                    BackgroundScheduler ── Flusher ──▶ level-0 table ──┐    │
///                            │                                          ├─▶ LiveFiles
///                            └────────────── Compactor ──▶ level N+1 ───┘  (VersionSet,
///                                                                           MANIFEST)
/// ```
///
/// Each part owns its state and says how it is locked: `GroupCommit` (the writer queue),
/// `WriteAheadLog` (the log being written and its number), `WriteController` (stall policy
/// and its settings), `MemtableSet` (what readers see, the active memtable),
/// `SnapshotList` (the last sequence and the live snapshots), `BackgroundScheduler` (requests,
/// the thread, which owns `LiveFiles`), `FailureLatch` (the first failure). The engine itself
/// holds only immutable references and `isClosed`, so it is `Sendable` as it stands.
final class Engine: Sendable {
    let directory: String
    let options: Options
    let infoLog: InfoLog
    let recoveryReport: RecoveryReport
    let statistics: EngineStatistics
    let blockCache: BlockCache
    let tableCache: TableCache
    let snapshots: SnapshotList
    let memtables: MemtableSet
    let scheduler: BackgroundScheduler
    let pointLookup: PointLookup
    private let commits: GroupCommit
    private let wal: WriteAheadLog
    private let controller: WriteController
    private let fileNumbers: FileNumbers
    private let latch: FailureLatch
    private let progress: BackgroundProgress
    /// Keeps two `setOptions` calls from interleaving their parts.
    private let optionChanges = Mutex<Void>(())
    private let lock: FileLock
    let isClosed = Atomic<Bool>(false)
    private let closing = Mutex<Bool>(false)

    private init(
        directory: String, options: Options, infoLog: InfoLog, lock: FileLock, versions: VersionSet, log: LogWriter,
        lastSequence: UInt64, report: RecoveryReport, statistics: EngineStatistics, blockCache: BlockCache,
        tableCache: TableCache
    ) {
        self.directory = directory
        self.options = options
        self.infoLog = infoLog
        self.lock = lock
        self.recoveryReport = report
        self.statistics = statistics
        self.blockCache = blockCache
        self.tableCache = tableCache
        let progress = BackgroundProgress()
        let latch = FailureLatch(infoLog: infoLog, progress: progress)
        let snapshots = SnapshotList(lastSequence: lastSequence)
        let memtables = MemtableSet(
            active: Memtable(writeBufferSize: options.writeBufferSize, startSequence: lastSequence), version: versions.current)
        let wal = WriteAheadLog(log: log, directory: directory, fileSystem: options.fileSystem, latch: latch, statistics: statistics)
        let files = LiveFiles(
            versions: versions, memtables: memtables, snapshots: snapshots, wal: wal, tableCache: tableCache,
            options: options, directory: directory, infoLog: infoLog)
        let flusher = Flusher(
            files: files, memtables: memtables, snapshots: snapshots, wal: wal, options: options, directory: directory,
            statistics: statistics, infoLog: infoLog)
        let shutdown = ShutdownFlag()
        let pointLookup = PointLookup(memtables: memtables, snapshots: snapshots, tableCache: tableCache, clock: options.clock)
        let compactor = Compactor(
            files: files, snapshots: snapshots, options: options, directory: directory, tableCache: tableCache,
            statistics: statistics, infoLog: infoLog, flusher: flusher, latch: latch, shutdown: shutdown, progress: progress,
            pointLookup: pointLookup)
        let scheduler = BackgroundScheduler(
            files: files, flusher: flusher, compactor: compactor, memtables: memtables, latch: latch, progress: progress,
            shutdown: shutdown, hold: options.compactionHold, options: options, infoLog: infoLog,
            snapshots: snapshots)
        let rotation = MemtableRotation(
            wal: wal, memtables: memtables, fileNumbers: versions.fileNumbers, scheduler: scheduler, snapshots: snapshots,
            writeBufferSize: options.writeBufferSize)
        let controller = WriteController(
            options: options, memtables: memtables, rotation: rotation, scheduler: scheduler, progress: progress,
            latch: latch, statistics: statistics)
        self.snapshots = snapshots
        self.memtables = memtables
        self.pointLookup = pointLookup
        self.latch = latch
        self.progress = progress
        self.wal = wal
        self.controller = controller
        self.scheduler = scheduler
        self.commits = GroupCommit(
            wal: wal, controller: controller, memtables: memtables, latch: latch, snapshots: snapshots, statistics: statistics)
        self.fileNumbers = versions.fileNumbers
    }

    /// The live options, each from its owner: the block cache's budget, the controller's
    /// stall settings.
    var liveOptions: LiveOptions {
        var live = LiveOptions(options)
        live.blockCacheCapacity = blockCache.capacity
        live.rowCacheCapacity = tableCache.rowCache.capacity
        let stall = controller.settings
        live.level0SlowdownTrigger = stall.slowdownTrigger
        live.level0StopTrigger = stall.stopTrigger
        live.delayedWriteRate = stall.delayedWriteRate
        return live
    }

    /// Checks `new` with the fixed options (as `open` would), then applies it.
    func setOptions(_ new: LiveOptions) throws(KVError) {
        try new.applied(to: options).validate()
        try optionChanges.locked { (_) throws(KVError) in
            if isClosed.load(ordering: .acquiring) { throw KVError.closed }
            if new.blockCacheCapacity != blockCache.capacity { blockCache.setCapacity(new.blockCacheCapacity) }
            if new.rowCacheCapacity != tableCache.rowCache.capacity { tableCache.rowCache.setCapacity(new.rowCacheCapacity) }
            controller.setSettings(.init(
                slowdownTrigger: new.level0SlowdownTrigger, stopTrigger: new.level0StopTrigger,
                delayedWriteRate: new.delayedWriteRate))
            infoLog.log("options changed: block cache \(new.blockCacheCapacity) bytes, row cache \(new.rowCacheCapacity) bytes, level-0 slowdown/stop \(new.level0SlowdownTrigger)/\(new.level0StopTrigger), delayed write rate \(new.delayedWriteRate) B/s")
        }
    }

    /// Locks the directory, recovers the MANIFEST and the logs, writes what the logs held to a
    /// level-0 table, starts a fresh log and MANIFEST, and starts the background thread.
    static func open(directory: String, options: Options) throws(KVError) -> Engine {
        try options.validate()
        let fs = options.fileSystem
        if !fs.fileExists(directory) {
            guard options.createIfMissing else { throw KVError.notFound(path: directory) }
            try fs.createDirectory(directory)
        }
        let lock = try fs.lock(Path.join(directory, FileNames.lock))
        do {
            let infoLog = InfoLog(fileSystem: fs, directory: directory)
            let statistics = EngineStatistics()
            let blockCache = BlockCache.make(capacity: options.blockCacheCapacity)
            let tableCache = TableCache(
                directory: directory, fileSystem: fs, maxOpenFiles: options.maxOpenFiles,
                memoryMapped: options.memoryMappedReads, blockCache: blockCache,
                rowCache: RowCache.make(capacity: options.rowCacheCapacity), statistics: statistics)
            let versions = VersionSet(directory: directory, options: options)
            var recovery = try Recovery(directory: directory, options: options, infoLog: infoLog, versions: versions)
            try recovery.run()
            let lastSequence = recovery.lastSequence

            // What the logs held becomes a level-0 table, so the old logs can go.
            var edit = VersionEdit()
            if !recovery.memtable.isEmpty {
                let output = try FlushJob(
                    memtable: recovery.memtable, fileSystem: fs, directory: directory, tableOptions: TableOptions(options),
                    smallestSnapshot: lastSequence, now: 0, allocateFileNumber: { versions.newFileNumber() }
                ).run()
                edit = output.edit
                statistics.flushes.add(1, ordering: .relaxed)
                statistics.flushBytesWritten.add(Int(output.bytesWritten), ordering: .relaxed)
            }
            let logNumber = versions.newFileNumber()
            let logPath = Path.join(directory, FileNames.log(logNumber))
            let log = try LogWriter(file: fs.createLog(logPath), fileNumber: logNumber, purpose: .writeAheadLog)
            // The new log's directory entry must be durable before a synced write in it counts.
            try fs.syncDirectory(directory)
            edit.logNumber = logNumber
            try versions.writeNewManifest(applying: edit, lastSequence: lastSequence)
            infoLog.log(
                "opened \(directory): replayed \(recovery.report.logsReplayed) logs, "
                    + "\(recovery.report.operationsReplayed) operations, last sequence \(lastSequence); "
                    + "writing \(FileNames.log(logNumber)), \(FileNames.manifest(versions.manifestNumber))")
            let engine = Engine(
                directory: directory, options: options, infoLog: infoLog, lock: lock, versions: versions, log: log,
                lastSequence: lastSequence, report: recovery.report, statistics: statistics, blockCache: blockCache,
                tableCache: tableCache)
            engine.scheduler.start()
            return engine
        } catch {
            lock.unlock()
            throw error
        }
    }

    // MARK: Writes and maintenance

    /// Commits `batch`; with a `condition` (an optimistic transaction's), only if it holds.
    func write(_ batch: WriteBatch, sync: Bool, nonBlocking: Bool, condition: CommitCondition? = nil) throws(KVError) {
        try commits.write(batch, sync: sync, nonBlocking: nonBlocking, condition: condition)
    }

    func observeCommits(_ observe: CommitObserver?) {
        commits.observeCommits(observe)
    }

    func syncLogConcurrently() throws(KVError) {
        if isClosed.load(ordering: .acquiring) { throw KVError.closed }
        try wal.syncConcurrently()
    }

    /// Freezes the memtable (if it holds anything) and waits until it is a table.
    func flushMemtable() throws(KVError) {
        try commits.write(nil, sync: false)
        try awaitNoFrozenMemtable()
    }

    /// Waits until no frozen memtable waits to be flushed (throws if the store fails or closes).
    private func awaitNoFrozenMemtable() throws(KVError) {
        while true {
            let epoch = progress.epoch
            if let error = latch.readOnlyError { throw error }
            if !memtables.hasImmutable { return }
            if isClosed.load(ordering: .acquiring) { throw .closed }
            progress.wait(after: epoch)
        }
    }

    /// What a checkpoint copies: every write acknowledged before the call is flushed into a
    /// table, then the current version (which pins its tables) and a sequence at least that of
    /// every entry they hold, and a file number above every file the store has.
    ///
    /// The sequence is exact: the tables hold every write at or below it and none above. The
    /// oldest unflushed memtable started at it (each memtable starts at the last sequence
    /// when it became active, and every earlier write was flushed before its predecessor was
    /// retired), and memtable, frozen memtable and version are read as one state. (A sequence
    /// read after the version could be higher than what its tables hold, when writes land
    /// after the flush; a replica that skips the stream up to it would miss them.)
    func checkpointSource() throws(KVError) -> (version: Version, lastSequence: UInt64, freeFileNumber: UInt64) {
        try flushMemtable()
        let state = memtables.current
        return (state.version, (state.immutableMemtable ?? state.activeMemtable).startSequence, fileNumbers.peek)
    }

    /// Replaces everything the store holds with the checkpoint in `source` (see
    /// `ContentsReplacement`), if its last sequence is `expected` (when given); returns that
    /// sequence.
    func replaceContents(withCheckpointAt source: String, expecting expected: UInt64?) throws(KVError) -> UInt64 {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        let checkpoint = VersionSet(directory: source, options: options)
        let sourceSequence = try checkpoint.recover()
        if let expected, expected != sourceSequence {
            throw KVError.corruption(
                file: Path.join(source, FileNames.manifest(checkpoint.manifestNumber)), offset: 0,
                reason: "the checkpoint holds sequence \(sourceSequence), not the \(expected) expected")
        }
        let version = checkpoint.current
        // Writers queue behind the replacement: wait for a frozen memtable's flush before
        // holding them (inside, one can only be left over from a write just before).
        try awaitNoFrozenMemtable()
        try commits.exclusively { () throws(KVError) in
            // A frozen memtable's flush would put its table into the new version. (None can
            // be frozen meanwhile: this is the commit leader.)
            try awaitNoFrozenMemtable()
            let logNumber = fileNumbers.allocate()
            try wal.rotate(to: logNumber)
            let last = max(snapshots.lastSequence, sourceSequence)
            try scheduler.replaceContents(
                ContentsReplacement(source: source, version: version, logNumber: logNumber, lastSequence: last))
        }
        return sourceSequence
    }

    /// Flushes, then compacts every level's files overlapping [begin, end] down the levels,
    /// as LevelDB's CompactRange (see `Compactor.compactRange`).
    func compactRange(begin: [UInt8]?, end: [UInt8]?) throws(KVError) {
        try flushMemtable()
        try scheduler.compactRange(begin: begin, end: end)
    }

    /// Blocks until no flush or compaction is due (tests and benchmarks use it).
    func waitForBackgroundWork() {
        scheduler.waitUntilIdle()
    }

    // MARK: Close

    /// Lets queued writes finish, stops the background thread, syncs and closes the log and
    /// the MANIFEST, and releases the directory. A second call does nothing.
    func close() throws(KVError) {
        guard !closing.locked({ c in defer { c = true }; return c }) else { return }
        isClosed.store(true, ordering: .releasing)
        commits.stopAccepting()
        scheduler.shutdown()  // the background thread closes the MANIFEST as it ends
        defer {
            infoLog.log("closed")
            infoLog.close()
            lock.unlock()
        }
        try wal.close()
    }

    // MARK: Figures

    func statisticsSnapshot() -> Statistics {
        var s = Statistics()
        let state = memtables.current
        let v = state.version
        for level in 0..<Version.levelCount {
            let files = v.files[level]
            let bytes = Version.bytes(files)
            let target = level == 0 ? Int64(options.level0CompactionTrigger * options.writeBufferSize) : Version.maxBytes(level, options)
            let score = level == 0 ? Double(files.count) / Double(options.level0CompactionTrigger) : Double(bytes) / Double(target)
            s.levels.append(.init(level: level, files: files.count, bytes: bytes, targetBytes: target, score: score))
            if level == 0 ? files.count >= options.level0CompactionTrigger : bytes > target {
                s.pendingCompactionBytes += level == 0 ? bytes : bytes - target
            }
        }
        s.memtableBytes = Int64(state.activeMemtable.reservedBytes + (state.immutableMemtable?.reservedBytes ?? 0))
        let st = statistics
        s.userBytesWritten = Int64(st.userBytesWritten.load(ordering: .relaxed))
        s.walBytesWritten = Int64(st.walBytesWritten.load(ordering: .relaxed))
        s.walSyncs = Int64(st.walSyncs.load(ordering: .relaxed))
        s.flushes = Int64(st.flushes.load(ordering: .relaxed))
        s.flushBytesWritten = Int64(st.flushBytesWritten.load(ordering: .relaxed))
        s.compactions = Int64(st.compactions.load(ordering: .relaxed))
        s.trivialMoves = Int64(st.trivialMoves.load(ordering: .relaxed))
        s.seekCompactions = Int64(st.seekCompactions.load(ordering: .relaxed))
        s.compactionBytesRead = Int64(st.compactionBytesRead.load(ordering: .relaxed))
        s.compactionBytesWritten = Int64(st.compactionBytesWritten.load(ordering: .relaxed))
        s.compactionEntriesFiltered = Int64(st.compactionEntriesFiltered.load(ordering: .relaxed))
        if s.userBytesWritten > 0 {
            s.writeAmplification = Double(s.flushBytesWritten + s.compactionBytesWritten) / Double(s.userBytesWritten)
        }
        s.slowdowns = Int64(st.slowdowns.load(ordering: .relaxed))
        s.delayedWriteRate = Int64(st.delayedRate.load(ordering: .relaxed))
        s.writesWouldBlock = Int64(st.writesWouldBlock.load(ordering: .relaxed))
        s.stops = Int64(st.stops.load(ordering: .relaxed))
        s.stallSeconds = Double(st.stallMicros.load(ordering: .relaxed)) / 1e6
        s.slowdownSeconds = Double(st.delayMicros.load(ordering: .relaxed)) / 1e6
        s.memtableStopSeconds = Double(st.memtableStopMicros.load(ordering: .relaxed)) / 1e6
        s.level0StopSeconds = Double(st.level0StopMicros.load(ordering: .relaxed)) / 1e6
        s.isStalled = st.stalledNow.load(ordering: .relaxed)
        s.writersQueued = st.writersQueued.load(ordering: .relaxed)
        s.lastStallReason = st.lastStallReason.locked { $0 }
        s.blockCacheHits = Int64(blockCache.hitCount)
        s.blockCacheMisses = Int64(blockCache.missCount)
        s.blockCacheBytes = Int64(blockCache.usage)
        s.rowCacheHits = Int64(tableCache.rowCache.hitCount)
        s.rowCacheMisses = Int64(tableCache.rowCache.missCount)
        s.rowCacheBytes = Int64(tableCache.rowCache.usage)
        s.bloomNegatives = Int64(st.bloomNegatives.load(ordering: .relaxed))
        s.bloomFalsePositives = Int64(st.bloomFalsePositives.load(ordering: .relaxed))
        s.tableReaderBytes = Int64(tableCache.readerMemory)
        s.openTables = tableCache.openTables
        s.lastSequence = snapshots.lastSequence
        return s
    }
}
