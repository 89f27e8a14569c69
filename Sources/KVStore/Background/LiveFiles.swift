/// The background thread's own state: the version set (and its MANIFEST), the numbers of
/// tables being written, and the deletion of files no one needs any more.
///
/// Confined to the background thread (after `Engine.open` hands it over), so it needs no
/// lock. What other threads see of it is what `commit` publishes through the `MemtableSet`.
final class LiveFiles {
    let versions: VersionSet
    private let memtables: MemtableSet
    private let snapshots: SnapshotList
    private let wal: WriteAheadLog
    private let tableCache: TableCache
    private let fileSystem: any FileSystem
    let directory: String
    private let infoLog: InfoLog
    /// Tables being written by a running job: not in any version yet, but not obsolete.
    private var pendingOutputs: Set<UInt64> = []

    init(
        versions: VersionSet, memtables: MemtableSet, snapshots: SnapshotList, wal: WriteAheadLog, tableCache: TableCache,
        options: Options, directory: String, infoLog: InfoLog
    ) {
        self.versions = versions
        self.memtables = memtables
        self.snapshots = snapshots
        self.wal = wal
        self.tableCache = tableCache
        self.fileSystem = options.fileSystem
        self.directory = directory
        self.infoLog = infoLog
    }

    var current: Version { versions.current }

    /// A number for a job's output table, protected from deletion until `release`.
    func allocateOutput() -> UInt64 {
        let n = versions.newFileNumber()
        pendingOutputs.insert(n)
        return n
    }

    /// A job's outputs are in a version now (or abandoned): they follow the usual rules.
    func release(_ outputs: [FileMetaData]) {
        for f in outputs { pendingOutputs.remove(f.number) }
    }

    /// Records `edit` in the MANIFEST and shows the new version to readers. A flush passes
    /// `retiringImmutable`, which makes readers drop the frozen memtable in the same step.
    func commit(_ edit: VersionEdit, retiringImmutable: Bool = false) throws(KVError) {
        let version = try versions.logAndApply(edit, lastSequence: snapshots.lastSequence)
        if retiringImmutable {
            memtables.retireImmutable(installing: version)
        } else {
            memtables.install(version)
        }
    }

    /// Records `edit` (a contents replacement's) and shows readers its version with `active`,
    /// an empty memtable, in place of both memtables (`ContentsReplacement`).
    func commit(_ edit: VersionEdit, replacingActive active: Memtable) throws(KVError) {
        let version = try versions.logAndApply(edit, lastSequence: snapshots.lastSequence)
        memtables.replaceAll(active: active, version: version)
    }

    /// Deletes logs, tables, MANIFESTs and temp files no live version, reader or running
    /// job needs.
    func deleteObsoleteFiles() {
        guard let names = try? fileSystem.children(of: directory) else { return }
        let live = versions.liveTableNumbers().union(pendingOutputs)
        // Read after listing: a log the commit leader creates after this is numbered above
        // every log listed, and above `versions.firstUnflushedLog`.
        let activeLog = wal.currentNumber
        for name in names {
            var table: UInt64?
            switch FileNames.parse(name) {
            case let .log(n)? where n < versions.firstUnflushedLog && n != activeLog:
                break
            case let .table(n)? where !live.contains(n):
                table = n
            case let .manifest(n)? where n < versions.manifestNumber:
                break
            case .temp?:
                break
            default:
                continue
            }
            if let table { tableCache.evict(table) }
            do {
                try fileSystem.remove(Path.join(directory, name))
            } catch {
                infoLog.log("could not delete obsolete \(name): \(error)")
            }
        }
    }

    /// The thread is ending: the MANIFEST is closed (its last edit was synced when made).
    func close() {
        versions.closeManifest()
    }
}
