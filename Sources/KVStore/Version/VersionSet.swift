import Synchronization

/// File numbers for new logs, tables and MANIFESTs. Shared: the write leader takes log
/// numbers while the background thread takes table numbers, so it is an atomic counter.
final class FileNumbers: Sendable {
    private let next = Atomic<UInt64>(2)

    /// A number no file has had.
    func allocate() -> UInt64 { next.add(1, ordering: .relaxed).oldValue }

    /// The next number `allocate` would hand out (recorded in the MANIFEST).
    var peek: UInt64 { next.load(ordering: .relaxed) }

    /// Never hand out `n` or anything below it (recovery: numbers files already have).
    func markUsed(_ n: UInt64) {
        var current = next.load(ordering: .relaxed)
        while current <= n {
            let (exchanged, original) = next.compareExchange(expected: current, desired: n + 1, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// The history of the live file set: the current `Version`, the counters that go with it,
/// and the MANIFEST that makes them durable. Every MANIFEST and CURRENT the engine writes is
/// written here (a checkpoint's too, through `writeStandalone`).
///
/// No locking of its own: `open` uses it before the background thread starts, and from
/// then on only the background thread does (through `LiveFiles`). Other threads read the
/// published `Version` (`MemtableSet`), never this object; file numbers are the shared
/// `FileNumbers` counter.
final class VersionSet {
    let directory: String
    let options: Options
    private var fs: any FileSystem { options.fileSystem }

    private(set) var current: Version
    let fileNumbers = FileNumbers()
    /// The MANIFEST's log number: logs numbered below it hold nothing that is not in tables.
    /// (The log being written is `WriteAheadLog`'s; while a frozen memtable waits, it is above
    /// this one.)
    private(set) var firstUnflushedLog: UInt64 = 0
    private(set) var manifestNumber: UInt64 = 0
    private var manifest: LogWriter?
    /// Per level, the largest key of the last compaction there (round-robin picking).
    private(set) var compactPointers: [[UInt8]] = Array(repeating: [], count: Version.levelCount)
    /// Versions handed out; weakly held, so their files stay until the last reader lets go.
    private var handedOut: [WeakVersion] = []

    private struct WeakVersion {
        weak var version: Version?
    }

    init(directory: String, options: Options) {
        self.directory = directory
        self.options = options
        current = Version.empty(options)
    }

    func newFileNumber() -> UInt64 { fileNumbers.allocate() }

    func markFileNumberUsed(_ n: UInt64) { fileNumbers.markUsed(n) }

    // MARK: Recovery

    var currentPath: String { Path.join(directory, FileNames.current) }

    /// Loads CURRENT and its MANIFEST; returns the last sequence it records. A torn last edit
    /// (a crash mid-append) is dropped: it was never acknowledged, since an edit takes effect
    /// only after its sync.
    func recover() throws(KVError) -> UInt64 {
        let current = try fs.openReadable(currentPath).readAll()
        let text = String(decoding: current, as: UTF8.self)
        guard text.hasSuffix("\n"), case let .manifest(number)? = FileNames.parse(String(text.dropLast())) else {
            throw KVError.corruption(file: currentPath, offset: 0, reason: "CURRENT does not name a MANIFEST: \(text.debugDescription.prefix(80))")
        }
        let path = Path.join(directory, FileNames.manifest(number))
        guard fs.fileExists(path) else {
            throw KVError.corruption(file: currentPath, offset: 0, reason: "CURRENT names \(FileNames.manifest(number)), which does not exist")
        }
        var reader = try LogReader(file: fs.openReadable(path), purpose: .manifest)
        var files: [[FileMetaData]] = Array(repeating: [], count: Version.levelCount)
        var tombstones: [RangeTombstone] = []
        var sawLog = false, sawNext = false, sawSequence = false
        var lastSequence: UInt64 = 0
        while let (offset, record) = try reader.next() {
            let edit = try VersionEdit.decode(record, file: path, offset: offset)
            try apply(edit, to: &files, tombstones: &tombstones, file: path, offset: offset)
            if let v = edit.logNumber { firstUnflushedLog = v; sawLog = true }
            if let v = edit.nextFileNumber { if v > 0 { markFileNumberUsed(v - 1) }; sawNext = true }
            if let v = edit.lastSequence { lastSequence = v; sawSequence = true }
            for p in edit.compactPointers { compactPointers[p.level] = p.key }
        }
        if let named = reader.fileNumber, named != number {
            throw KVError.corruption(file: path, offset: 0, reason: "MANIFEST header names file \(named)")
        }
        guard sawLog && sawNext && sawSequence else {
            throw KVError.corruption(file: path, offset: reader.validLength, reason: "MANIFEST lacks log number, next file number or last sequence")
        }
        manifestNumber = number
        markFileNumberUsed(number)
        install(Version(files: files, tombstones: tombstones, options: options))
        return lastSequence
    }

    private func apply(
        _ edit: VersionEdit, to files: inout [[FileMetaData]], tombstones: inout [RangeTombstone], file: String, offset: Int64
    ) throws(KVError) {
        if !edit.removedTombstones.isEmpty {
            let removed = Set(edit.removedTombstones)
            tombstones.removeAll { removed.contains($0.sequence) }
        }
        tombstones.append(contentsOf: edit.addedTombstones)
        for d in edit.deletedFiles {
            guard let i = files[d.level].firstIndex(where: { $0.number == d.number }) else {
                throw KVError.corruption(file: file, offset: offset, reason: "edit deletes file \(d.number), not live at level \(d.level)")
            }
            files[d.level].remove(at: i)
        }
        for n in edit.newFiles {
            files[n.level].append(n.file)
        }
        files[0].sort { $0.number < $1.number }
        for level in 1..<Version.levelCount {
            files[level].sort { compareInternalArrays($0.smallest, $1.smallest) < 0 }
        }
    }

    // MARK: Changes

    /// Writes a fresh MANIFEST holding the whole current state plus `edit`, then points
    /// CURRENT at it. Used at open (and by repair).
    func writeNewManifest(applying edit: VersionEdit, lastSequence: UInt64) throws(KVError) {
        var files = current.files
        var tombstones = current.rangeTombstones.tombstones
        try apply(edit, to: &files, tombstones: &tombstones, file: "<new manifest>", offset: 0)
        if let v = edit.logNumber { firstUnflushedLog = v }
        let number = newFileNumber()
        var whole = Self.wholeState(files: files, tombstones: tombstones, lastSequence: lastSequence)
        whole.logNumber = firstUnflushedLog
        whole.nextFileNumber = fileNumbers.peek
        for (level, key) in compactPointers.enumerated() where !key.isEmpty {
            whole.compactPointers.append((level, key))
        }
        let writer = try Self.writeManifest(whole, number: number, directory: directory, fileSystem: fs)
        try manifest?.close()
        manifest = writer
        manifestNumber = number
        install(Version(files: files, tombstones: tombstones, options: options))
    }

    /// Writes, in another directory, a MANIFEST numbered `number` holding exactly `version` and
    /// a CURRENT naming it — a store with no log to replay (a checkpoint). Everything synced;
    /// the caller syncs the directory.
    static func writeStandalone(
        _ version: Version, lastSequence: UInt64, number: UInt64, directory: String, fileSystem: any FileSystem
    ) throws(KVError) {
        var whole = wholeState(files: version.files, tombstones: version.rangeTombstones.tombstones, lastSequence: lastSequence)
        // Numbers above every table; the log number says no log below it holds anything, so
        // opening replays nothing and starts a fresh log.
        whole.nextFileNumber = number + 1
        whole.logNumber = number + 1
        try writeManifest(whole, number: number, directory: directory, fileSystem: fileSystem).close()
    }

    /// One edit describing a whole state: every file and tombstone, and the last sequence.
    private static func wholeState(files: [[FileMetaData]], tombstones: [RangeTombstone], lastSequence: UInt64) -> VersionEdit {
        var edit = VersionEdit()
        edit.lastSequence = lastSequence
        for (level, list) in files.enumerated() {
            for f in list { edit.addFile(level, f) }
        }
        edit.addedTombstones = tombstones
        return edit
    }

    /// MANIFEST-`number` holding `edit`, synced, then CURRENT pointed at it (temp file, fsync,
    /// rename, fsync directory). Returns the MANIFEST's writer, open for further edits.
    private static func writeManifest(
        _ edit: VersionEdit, number: UInt64, directory: String, fileSystem fs: any FileSystem
    ) throws(KVError) -> LogWriter {
        let path = Path.join(directory, FileNames.manifest(number))
        let writer = try LogWriter(file: fs.openWritable(path, truncate: true), fileNumber: number, purpose: .manifest)
        try writer.add(edit.encode())
        try writer.sync()
        try fs.syncDirectory(directory)
        let temp = Path.join(directory, FileNames.temp(number))
        let file = try fs.openWritable(temp, truncate: true)
        try Array((FileNames.manifest(number) + "\n").utf8).withBytes { (bytes) throws(KVError) in try file.append(bytes) }
        try file.sync()
        try file.close()
        try fs.rename(temp, to: Path.join(directory, FileNames.current))
        try fs.syncDirectory(directory)
        return writer
    }

    /// Records `edit` durably in the MANIFEST, with `lastSequence` (the live figure, whose
    /// owner is the snapshot list) and the next file number, and makes the result current;
    /// returns it, for the caller to publish to readers.
    func logAndApply(_ edit: VersionEdit, lastSequence: UInt64) throws(KVError) -> Version {
        var edit = edit
        if let v = edit.logNumber { precondition(v >= firstUnflushedLog) }
        edit.nextFileNumber = fileNumbers.peek
        edit.lastSequence = lastSequence
        var files = current.files
        var tombstones = current.rangeTombstones.tombstones
        try apply(edit, to: &files, tombstones: &tombstones, file: "<edit>", offset: 0)
        let next = Version(files: files, tombstones: tombstones, options: options)
        guard let manifest else { throw KVError.closed }
        try manifest.add(edit.encode())
        try manifest.sync()
        if let v = edit.logNumber { firstUnflushedLog = v }
        for p in edit.compactPointers { compactPointers[p.level] = p.key }
        install(next)
        return next
    }

    private func install(_ version: Version) {
        current = version
        handedOut.removeAll { $0.version == nil }
        handedOut.append(WeakVersion(version: version))
    }

    /// Table numbers any live version (current, or held by a reader) refers to.
    func liveTableNumbers() -> Set<UInt64> {
        handedOut.removeAll { $0.version == nil }
        var live = Set(current.allFileNumbers)
        for w in handedOut {
            if let v = w.version { live.formUnion(v.allFileNumbers) }
        }
        return live
    }

    func closeManifest() {
        try? manifest?.close()
        manifest = nil
    }
}
