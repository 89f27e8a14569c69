/// The background thread's flush: the frozen memtable becomes a level-0 table, the MANIFEST
/// records it with the log that follows it, and readers stop reading the memtable, all in
/// one published step. Runs on the background thread only (it uses `LiveFiles`).
final class Flusher {
    private let files: LiveFiles
    private let memtables: MemtableSet
    private let snapshots: SnapshotList
    private let options: Options
    private let directory: String
    private let statistics: EngineStatistics
    private let infoLog: InfoLog
    private let wal: WriteAheadLog

    init(
        files: LiveFiles, memtables: MemtableSet, snapshots: SnapshotList, wal: WriteAheadLog, options: Options,
        directory: String, statistics: EngineStatistics, infoLog: InfoLog
    ) {
        self.wal = wal
        self.files = files
        self.memtables = memtables
        self.snapshots = snapshots
        self.options = options
        self.directory = directory
        self.statistics = statistics
        self.infoLog = infoLog
    }

    /// A frozen memtable waits to be flushed.
    var hasWork: Bool { memtables.hasImmutable }

    /// Flushes the frozen memtable, if there is one.
    func flush() throws(KVError) {
        let state = memtables.current
        guard let memtable = state.immutableMemtable else { return }
        // No new memtable is frozen (nor a new log started) until this one is retired, so the
        // log being written is still the one that follows it: every log below holds only
        // flushed writes.
        let retiredBelow = wal.currentNumber
        let started = ContinuousClock.now
        var outputs: [FileMetaData] = []
        defer { files.release(outputs) }
        let job = FlushJob(
            memtable: memtable, fileSystem: options.fileSystem, directory: directory, tableOptions: TableOptions(options),
            smallestSnapshot: snapshots.oldest(), now: options.clock(), allocateFileNumber: { self.files.allocateOutput() })
        var output = try job.run()
        outputs = output.files
        statistics.flushes.add(1, ordering: .relaxed)
        statistics.flushBytesWritten.add(Int(output.bytesWritten), ordering: .relaxed)
        output.edit.logNumber = retiredBelow
        try files.commit(output.edit, retiringImmutable: true)
        infoLog.log("flushed memtable to \(outputs.map { FileNames.table($0.number) }) (\(output.bytesWritten) bytes) in \(ContinuousClock.now - started)")
    }
}
