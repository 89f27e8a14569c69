/// What `KVStore.checkpoint(to:)` made.
public struct CheckpointInfo: Sendable, Equatable {
    /// The checkpoint's directory: a store `KVStore.open` opens.
    public var path: String
    /// Every write up to this sequence number is in it, and none after.
    public var lastSequence: UInt64
    /// Table files in it.
    public var tables: Int
    /// How many of them are hard links to the source's (the rest were copied: another
    /// device, or no link support).
    public var linkedTables: Int
    /// Bytes of table data it names.
    public var tableBytes: Int64

    /// A description of a checkpoint (as a tool reports one made elsewhere).
    public init(path: String, lastSequence: UInt64, tables: Int, linkedTables: Int, tableBytes: Int64) {
        self.path = path
        self.lastSequence = lastSequence
        self.tables = tables
        self.linkedTables = linkedTables
        self.tableBytes = tableBytes
    }
}

/// A consistent, openable copy of a live store, as RocksDB's `Checkpoint::CreateCheckpoint`
/// makes one by default (it flushes first too, when any log is not empty):
///
/// 1. The memtable is flushed, so every write acknowledged before the call is in a table.
/// 2. The current version is taken and held: its tables cannot be deleted meanwhile, however
///    compaction moves on. Its tables hold exactly the writes up to one sequence
///    (`Engine.checkpointSource`), so the copy is the store at one moment — a prefix of its
///    history, whose last sequence the MANIFEST records.
/// 3. Its tables are hard-linked (copied where links fail) into `<target>.tmp`, with a
///    MANIFEST describing exactly that version and a CURRENT naming it; no log is needed.
///    Everything is synced, then the directory is renamed to `target` and the parent synced.
///
/// A crash at any point leaves either no `target` or a complete one: a half-made checkpoint
/// is only ever `<target>.tmp`, which the next checkpoint to that target removes. The source
/// is only read. Writes go on throughout; only the flush makes them wait, as any flush does.
enum Checkpoint {
    static func create(_ engine: Engine, to target: String) throws(KVError) -> CheckpointInfo {
        let fs = engine.options.fileSystem
        guard !fs.fileExists(target) else {
            throw KVError.invalidArgument("checkpoint target \(target) already exists")
        }
        let temp = target + ".tmp"
        if fs.fileExists(temp) { try removeTree(temp, fs) }
        try fs.createDirectory(temp)

        let (version, lastSequence, manifestNumber) = try engine.checkpointSource()
        var info = CheckpointInfo(path: target, lastSequence: lastSequence, tables: 0, linkedTables: 0, tableBytes: 0)
        for files in version.files {
            for f in files {
                let name = FileNames.table(f.number)
                if try fs.linkOrCopy(Path.join(engine.directory, name), to: Path.join(temp, name)) { info.linkedTables += 1 }
                info.tables += 1
                info.tableBytes += Int64(f.size)
            }
        }
        try VersionSet.writeStandalone(
            version, lastSequence: lastSequence, number: manifestNumber, directory: temp, fileSystem: fs)
        // Linked tables share the source's synced data; copies were synced as written.
        try fs.syncDirectory(temp)
        try fs.rename(temp, to: target)
        try fs.syncDirectory(Path.parent(target))
        withExtendedLifetime(version) {}
        engine.infoLog.log("checkpoint \(target): \(info.tables) tables (\(info.linkedTables) linked), sequence \(lastSequence)")
        return info
    }

    /// Removes a leftover `.tmp` checkpoint: plain files only (a checkpoint has no
    /// subdirectories), so a mistaken path cannot take a tree with it.
    private static func removeTree(_ path: String, _ fs: any FileSystem) throws(KVError) {
        for name in try fs.children(of: path) {
            guard FileNames.parse(name) != nil else {
                throw KVError.invalidArgument("\(path) holds \(name), which no checkpoint makes; remove it by hand")
            }
            try fs.remove(Path.join(path, name))
        }
        try fs.removeDirectory(path)
    }
}
