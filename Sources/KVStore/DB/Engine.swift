import Foundation
import Synchronization

/// The store's state and the code that changes it. `KVStore` is its public face.
///
/// Locking (why `@unchecked Sendable` is sound):
/// - `mutex` guards `writers`, `stickyError`, `closed`, `activeMemtable`/`immutableMemtable`, `versions`,
///   `pendingOutputs`, `manualCompaction` and the background thread's flags.
/// - Only the current commit leader (the head of `writers`) touches `log` and inserts into
///   `activeMemtable`, partly with `mutex` released; leadership passes under the lock, so those
///   accesses are serialized.
/// - `lastSequence` is atomic: readers load it without the lock to pick their snapshot.
/// - `readState` has its own small lock so readers never wait on `mutex`.
/// - Memtables are read lock-free (see `SkipList`); versions and tables are immutable.
final class Engine: @unchecked Sendable {
    let directory: String
    let options: Options
    let fileSystem: any FileSystem
    let infoLog: InfoLog
    let recoveryReport: RecoveryReport
    let statistics: EngineStatistics
    let blockCache: BlockCache
    let tableCache: TableCache

    let mutex = ConditionMutex()
    /// Broadcast when `writers` becomes empty (close waits for it).
    let queueDrained: ConditionMutex.Condition
    /// Signalled when there may be background work.
    let backgroundWork: ConditionMutex.Condition
    /// Broadcast when the background thread finished a unit of work (stalled writers wait).
    let backgroundDone: ConditionMutex.Condition

    var writers: [PendingWrite] = []
    /// A commit leader is at work. Usually that is the head of `writers`, but a leader may go
    /// on to lead the next group on its head's behalf, so the head must not lead meanwhile.
    var leading = false
    /// Writers in the last synced group (guarded by `mutex`): a sync leader that sees fewer
    /// queued behind it yields once, so writers just woken from that group can rejoin.
    var lastSyncGroupSize = 0
    /// The commit leader's scratch for sorting a group before the memtable insert (only the
    /// leader touches it, outside the lock: leaders are serialized by `leading`).
    @exclusivity(unchecked) var insertScratch: [Memtable.SortedEntry] = []
    /// The delayed-write rate while compaction is behind (guarded by `mutex`).
    var writeController: WriteController
    /// `syncLogConcurrently` calls in flight (guarded by `mutex`); the log is not closed
    /// under them.
    var externalSyncs = 0
    let externalSyncsDone: ConditionMutex.Condition
    var stickyError: KVError?
    var closed = false
    let isClosed = Atomic<Bool>(false)

    var activeMemtable: Memtable
    var immutableMemtable: Memtable?
    var log: LogWriter
    var logNumber: UInt64
    let versions: VersionSet
    var pendingOutputs: Set<UInt64> = []
    var manualCompaction: ManualCompaction?
    var shuttingDown = false
    var backgroundRunning = false

    let lastSequence: Atomic<UInt64>
    let readState: Mutex<ReadState>
    let snapshots = SnapshotList()
    private let lock: FileLock

    private init(
        directory: String, options: Options, infoLog: InfoLog, lock: FileLock, versions: VersionSet,
        log: LogWriter, logNumber: UInt64, lastSequence: UInt64, report: RecoveryReport,
        statistics: EngineStatistics, blockCache: BlockCache, tableCache: TableCache
    ) {
        self.directory = directory
        self.options = options
        self.fileSystem = options.fileSystem
        self.infoLog = infoLog
        self.lock = lock
        self.versions = versions
        self.log = log
        self.logNumber = logNumber
        self.lastSequence = Atomic(lastSequence)
        self.recoveryReport = report
        self.statistics = statistics
        self.blockCache = blockCache
        self.tableCache = tableCache
        let activeMemtable = Memtable(writeBufferSize: options.writeBufferSize)
        self.activeMemtable = activeMemtable
        self.readState = Mutex(ReadState(activeMemtable: activeMemtable, immutableMemtable: nil, version: versions.current))
        self.queueDrained = ConditionMutex.Condition(mutex)
        self.backgroundWork = ConditionMutex.Condition(mutex)
        self.backgroundDone = ConditionMutex.Condition(mutex)
        self.externalSyncsDone = ConditionMutex.Condition(mutex)
        self.writeController = WriteController(maxRate: options.delayedWriteRate)
    }

    /// Locks the directory, recovers the MANIFEST and the logs, writes what the logs held to a
    /// level-0 table, starts a fresh log and MANIFEST, and starts the background thread.
    static func open(directory: String, options: Options) throws -> Engine {
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
                memoryMapped: options.memoryMappedReads, blockCache: blockCache, statistics: statistics)
            let versions = VersionSet(directory: directory, options: options)
            var recovery = try Recovery(directory: directory, options: options, infoLog: infoLog, versions: versions)
            try recovery.run()

            // What the logs held becomes a level-0 table, so the old logs can go.
            var edit = VersionEdit()
            if !recovery.memtable.isEmpty {
                var job = CompactionJob(
                    input: MemtableIterator(recovery.memtable), fileSystem: fs, directory: directory,
                    tableOptions: TableOptions(options), smallestSnapshot: versions.lastSequence,
                    targetFileSize: nil, grandparents: [], maxGrandparentOverlap: 0,
                    isBottommostForKey: { _ in false }, allocateFileNumber: { versions.newFileNumber() })
                job.tombstones = TombstoneIndex(recovery.memtable.rangeTombstones)
                let result = try job.run()
                edit.addedTombstones = recovery.memtable.rangeTombstones
                try fs.syncDirectory(directory)
                for f in result.files { edit.addFile(0, f) }
                statistics.flushes.add(1, ordering: .relaxed)
                statistics.flushBytesWritten.add(Int(result.bytesWritten), ordering: .relaxed)
            }
            let logNumber = versions.newFileNumber()
            let logPath = Path.join(directory, FileNames.log(logNumber))
            let log = try LogWriter(file: fs.createLog(logPath), fileNumber: logNumber, purpose: .writeAheadLog)
            // The new log's directory entry must be durable before a synced write in it counts.
            try fs.syncDirectory(directory)
            edit.logNumber = logNumber
            try versions.writeNewManifest(applying: edit)
            infoLog.log(
                "opened \(directory): replayed \(recovery.report.logsReplayed) logs, "
                    + "\(recovery.report.operationsReplayed) operations, last sequence \(versions.lastSequence); "
                    + "writing \(FileNames.log(logNumber)), \(FileNames.manifest(versions.manifestNumber))")
            let engine = Engine(
                directory: directory, options: options, infoLog: infoLog, lock: lock, versions: versions,
                log: log, logNumber: logNumber, lastSequence: versions.lastSequence, report: recovery.report,
                statistics: statistics, blockCache: blockCache, tableCache: tableCache)
            engine.mutex.withLock { engine.deleteObsoleteFiles() }
            engine.startBackgroundThread()
            return engine
        } catch {
            lock.unlock()
            throw error
        }
    }

    /// Replaces the read state after `activeMemtable`, `immutableMemtable` or the version changed. ConditionMutex held.
    func publishReadState() {
        let state = ReadState(activeMemtable: activeMemtable, immutableMemtable: immutableMemtable, version: versions.current)
        readState.locked { $0 = state }
    }

    // MARK: Reads

    /// The value of `key` as of `sequence` (default: the latest published write).
    /// The value and expiry (0 = none) of `key`, or nil when absent, deleted or expired.
    func get(
        _ key: UnsafeRawBufferPointer, sequence snapshot: UInt64? = nil, verify: Bool = true, fillCache: Bool = true,
        nonBlocking: Bool = false
    ) throws -> (value: [UInt8], expiresAt: UInt64)? {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        // State first, then the sequence: the state's memtables and files are pinned, so
        // nothing at or below the sequence can be compacted away under this read. (Sequence
        // first would let a flush drop a version the read needs before it takes the state.)
        let (state, latest) = readState.locked { ($0, lastSequence.load(ordering: .acquiring)) }
        let sequence = snapshot ?? latest
        let hash = hash64(key)
        var result = state.activeMemtable.get(key, hash: hash, sequence: sequence)
        if case .absent = result, let immutableMemtable = state.immutableMemtable {
            result = immutableMemtable.get(key, hash: hash, sequence: sequence)
        }
        if case .absent = result {
            let count = key.count + 8
            var seekCompactionDue = false
            result = try withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { buffer in
                if let base = key.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: key.count) }
                storeFixed64(buffer.baseAddress! + key.count, seekTrailer(sequence))
                return try state.version.get(
                    UnsafeRawBufferPointer(buffer), userKeyHash: hash, tableCache: tableCache, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking,
                    seekCompactionDue: &seekCompactionDue)
            }
            if seekCompactionDue { mutex.withLock { backgroundWork.signal() } }
        }
        guard case let .found(value, found, expiresAt) = result else { return nil }
        // An expired value is the key's newest version, so it hides the older ones: nil.
        if expiresAt != 0 && expiresAt <= options.clock() { return nil }
        // A range deletion newer than the entry (and visible to this read) hides it.
        if state.activeMemtable.hasRangeTombstones || state.immutableMemtable?.hasRangeTombstones == true || !state.version.rangeTombstones.isEmpty {
            var cover = state.version.rangeTombstones.coveringSequence(key, atOrBelow: sequence)
            cover = max(cover, coveringSequence(in: state.activeMemtable.rangeTombstones, key, atOrBelow: sequence))
            if let immutableMemtable = state.immutableMemtable { cover = max(cover, coveringSequence(in: immutableMemtable.rangeTombstones, key, atOrBelow: sequence)) }
            if cover > found { return nil }
        }
        return (value, expiresAt)
    }

    // MARK: Close

    func close() throws {
        mutex.lock()
        if closed {
            mutex.unlock()
            return
        }
        closed = true
        isClosed.store(true, ordering: .releasing)
        // Let queued writers finish: they were accepted before close began; and syncs in
        // flight, which use the log.
        while !writers.isEmpty || leading { queueDrained.wait() }
        while externalSyncs > 0 { externalSyncsDone.wait() }
        shuttingDown = true
        backgroundWork.broadcast()
        while backgroundRunning { backgroundDone.wait() }
        let failed = stickyError
        mutex.unlock()

        defer {
            versions.closeManifest()
            infoLog.log("closed")
            infoLog.close()
            lock.unlock()
        }
        defer { try? log.close() }
        if failed == nil {
            try log.sync()
        }
    }
}
