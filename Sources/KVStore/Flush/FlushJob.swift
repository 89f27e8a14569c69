/// Writes a memtable out as a level-0 table: at open, for what the logs held, and on the
/// background thread, for each frozen memtable.
///
/// The memtable's range deletions go with it into the version (`edit.addedTombstones`):
/// tables hold point entries only, and the MANIFEST keeps the tombstones until compaction
/// has dropped all they cover.
struct FlushJob {
    let memtable: Memtable
    let fileSystem: any FileSystem
    let directory: String
    let tableOptions: TableOptions
    /// Entries every reader sees only the newest of (see `CompactionJob`).
    let smallestSnapshot: UInt64
    /// The clock reading that decides which values have expired (0: none).
    let now: UInt64
    let allocateFileNumber: () -> UInt64

    struct Output {
        /// Adds the tables and the memtable's range deletions; the caller adds the log number.
        var edit = VersionEdit()
        var files: [FileMetaData] = []
        var bytesWritten: Int64 = 0
    }

    /// Writes and syncs the tables and their directory entries.
    func run() throws(KVError) -> Output {
        var job = CompactionJob(
            input: MemtableIterator(memtable), fileSystem: fileSystem, directory: directory,
            tableOptions: tableOptions, smallestSnapshot: smallestSnapshot, targetFileSize: nil,
            grandparents: [], maxGrandparentOverlap: 0, isBottommostForKey: { _ in false },
            allocateFileNumber: allocateFileNumber)
        job.tombstones = TombstoneIndex(memtable.rangeTombstones)
        job.now = now
        let result = try job.run()
        try fileSystem.syncDirectory(directory)
        var output = Output(files: result.files, bytesWritten: result.bytesWritten)
        for f in result.files { output.edit.addFile(0, f) }
        output.edit.addedTombstones = memtable.rangeTombstones
        return output
    }
}
