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

    init(
        files: LiveFiles, memtables: MemtableSet, snapshots: SnapshotList, options: Options, directory: String,
        statistics: EngineStatistics, infoLog: InfoLog
    ) {
        self.files = files
        self.memtables = memtables
        self.snapshots = snapshots
        self.options = options
        self.directory = directory
        self.statistics = statistics
        self.infoLog = infoLog
    }

    /// Flushes the frozen memtable, if there is one.
    func flush() throws(KVError) {
        let state = memtables.current
        guard let memtable = state.immutableMemtable else { return }
        // No new memtable is frozen until this one is retired, so the active memtable's log
        // is still the one that follows it: every log below holds only flushed writes.
        let retiredBelow = memtables.activeLogNumber
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
        files.versions.lastSequence = snapshots.lastSequence
        try files.commit(output.edit, retiringImmutable: true)
        infoLog.log("flushed memtable to \(outputs.map { FileNames.table($0.number) }) (\(output.bytesWritten) bytes) in \(ContinuousClock.now - started)")
    }
}
