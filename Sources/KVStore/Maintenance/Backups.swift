/// One backup in a backup directory.
package struct BackupInfo: Sendable, Equatable {
    package var id: Int
    package var createdMillis: UInt64
    package var lastSequence: UInt64
    /// Every file the backup needs (paths relative to the backup directory), with its size
    /// and CRC32C.
    package var files: [BackupFile]
    /// Of those, the ones this backup copied; the rest it shared with earlier backups.
    package var copiedFiles = 0
    package var copiedBytes: Int64 = 0

    package var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }
}

package struct BackupFile: Sendable, Equatable {
    package var path: String
    package var size: Int64
    package var crc32c: UInt32
}

/// Incremental backups of checkpoints, in the layout of RocksDB's BackupEngine with
/// checksummed shared files:
///
/// ```
/// BACKUPS/shared/<table>_<crc32c>_<size>.sst   tables, shared by every backup naming them
/// BACKUPS/private/<id>/MANIFEST-…, CURRENT     each backup's own metadata
/// BACKUPS/meta/<id>                            the list: path, size, CRC32C of each file
/// ```
///
/// A table is immutable once written, so a table whose name, size and checksum are already
/// in `shared/` is not copied again: a backup of a store that changed copies only its new
/// tables. Every copy is checksummed as it is read and again as written (`verify` repeats the
/// second). A backup becomes visible only when its `meta` file is renamed into place, after
/// every file it lists is synced; a crash midway leaves unlisted files that the next backup
/// reuses or overwrites.
package enum Backups {
    static let metaHeader = "kvstore-backup 1"

    /// Backs up `checkpoint` (a checkpoint directory, or a store no process has open) into
    /// `backupDirectory` (created if missing) as the next id.
    package static func create(
        from checkpoint: String, into backupDirectory: String, createdMillis: UInt64,
        fileSystem fs: any FileSystem = PosixFileSystem()
    ) throws(KVError) -> BackupInfo {
        for sub in ["", "/shared", "/private", "/meta"] { try fs.createDirectory(backupDirectory + sub) }
        let id = (try list(backupDirectory, fileSystem: fs).map(\.id).max() ?? 0) + 1
        let privateDir = "private/\(id)"
        if fs.fileExists(Path.join(backupDirectory, privateDir)) {
            // Left by a backup that crashed before its meta file: never listed, so unused.
            for name in try fs.children(of: Path.join(backupDirectory, privateDir)) {
                try fs.remove(Path.join(backupDirectory, privateDir + "/" + name))
            }
        } else {
            try fs.createDirectory(Path.join(backupDirectory, privateDir))
        }
        var info = BackupInfo(id: id, createdMillis: createdMillis, lastSequence: 0, files: [])
        let names = try fs.children(of: checkpoint).sorted()
        let shared = Set(try fs.children(of: backupDirectory + "/shared"))
        for name in names {
            let source = Path.join(checkpoint, name)
            switch FileNames.parse(name) {
            case .table(let number)?:
                let crc = try checksum(source, fs)
                let size = try fs.fileSize(source)
                let sharedName = "\(FileNames.table(number).dropLast(4))_\(crc)_\(size).sst"
                let relative = "shared/" + sharedName
                if !shared.contains(sharedName) {
                    try copyVerified(source, to: Path.join(backupDirectory, relative), expecting: crc, fs)
                    info.copiedFiles += 1
                    info.copiedBytes += size
                }
                info.files.append(BackupFile(path: relative, size: size, crc32c: crc))
            case .manifest?, .current?:
                let relative = privateDir + "/" + name
                let crc = try checksum(source, fs)
                try copyVerified(source, to: Path.join(backupDirectory, relative), expecting: crc, fs)
                let size = try fs.fileSize(source)
                info.copiedFiles += 1
                info.copiedBytes += size
                info.files.append(BackupFile(path: relative, size: size, crc32c: crc))
            case .log?:
                // A checkpoint has none; a closed store's logs hold only what its tables do
                // once it was closed cleanly — but a crashed one's may not: refuse.
                if try fs.fileSize(source) > 0 {
                    throw KVError.invalidArgument("\(source): back up a checkpoint (kvctl checkpoint), not a store with a non-empty log")
                }
            default:
                continue
            }
        }
        guard info.files.contains(where: { $0.path.hasSuffix("/" + FileNames.current) }) else {
            throw KVError.invalidArgument("\(checkpoint) has no CURRENT: not a store or checkpoint")
        }
        info.lastSequence = try lastSequence(of: checkpoint, fs)
        try fs.syncDirectory(backupDirectory + "/shared")
        try fs.syncDirectory(Path.join(backupDirectory, privateDir))
        try writeMeta(info, backupDirectory, fs)
        return info
    }

    /// Every complete backup, oldest first.
    package static func list(_ backupDirectory: String, fileSystem fs: any FileSystem = PosixFileSystem()) throws(KVError) -> [BackupInfo] {
        let metaDir = backupDirectory + "/meta"
        guard fs.fileExists(metaDir) else { return [] }
        var all: [BackupInfo] = []
        for name in try fs.children(of: metaDir) {
            guard let id = Int(name), id > 0 else { continue }
            all.append(try readMeta(id, backupDirectory, fs))
        }
        return all.sorted { $0.id < $1.id }
    }

    /// Problems found re-reading every file of backup `id`: missing, wrong size, wrong
    /// checksum. Empty: intact.
    package static func verify(_ backupDirectory: String, id: Int, fileSystem fs: any FileSystem = PosixFileSystem()) throws(KVError) -> [String] {
        let info = try readMeta(id, backupDirectory, fs)
        var problems: [String] = []
        for f in info.files {
            let path = Path.join(backupDirectory, f.path)
            guard fs.fileExists(path) else {
                problems.append("\(path): missing")
                continue
            }
            let size = try fs.fileSize(path)
            if size != f.size {
                problems.append("\(path): \(size) bytes where the backup recorded \(f.size)")
                continue
            }
            let crc = try checksum(path, fs)
            if crc != f.crc32c { problems.append("\(path): CRC32C \(crc) where the backup recorded \(f.crc32c)") }
        }
        return problems
    }

    /// Restores backup `id` into `target` (which must not exist): every file copied and
    /// checked against the backup's checksums into `target.tmp`, synced, then renamed.
    package static func restore(
        _ backupDirectory: String, id: Int, to target: String, fileSystem fs: any FileSystem = PosixFileSystem()
    ) throws(KVError) -> BackupInfo {
        guard !fs.fileExists(target) else { throw KVError.invalidArgument("restore target \(target) already exists") }
        let info = try readMeta(id, backupDirectory, fs)
        let temp = target + ".tmp"
        if fs.fileExists(temp) {
            for name in try fs.children(of: temp) { try fs.remove(Path.join(temp, name)) }
        } else {
            try fs.createDirectory(temp)
        }
        for f in info.files {
            var name = Path.name(f.path)
            if f.path.hasPrefix("shared/") {
                // <number>_<crc>_<size>.sst back to <number>.sst
                name = String(name.prefix { $0 != "_" }) + ".sst"
            }
            try copyVerified(Path.join(backupDirectory, f.path), to: Path.join(temp, name), expecting: f.crc32c, fs)
        }
        try fs.syncDirectory(temp)
        try fs.rename(temp, to: target)
        try fs.syncDirectory(Path.parent(target))
        return info
    }

    // MARK: Files

    static func checksum(_ path: String, _ fs: any FileSystem) throws(KVError) -> UInt32 {
        let file = try fs.openReadable(path)
        let size = try file.size()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var crc: UInt32 = 0
        var offset: Int64 = 0
        while offset < size {
            let want = Int(min(Int64(buffer.count), size - offset))
            let n = try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            guard n > 0 else { throw KVError.corruption(file: path, offset: offset, reason: "file ended at \(offset) of \(size) bytes") }
            crc = CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += Int64(n)
        }
        return crc
    }

    /// Copies, then checks the copy's checksum against `crc` (the source's, computed before).
    private static func copyVerified(_ from: String, to: String, expecting crc: UInt32, _ fs: any FileSystem) throws(KVError) {
        try fs.copy(from, to: to)
        let copied = try checksum(to, fs)
        guard copied == crc else {
            throw KVError.corruption(file: to, offset: 0, reason: "copy of \(from) has CRC32C \(copied), the source had \(crc)")
        }
    }

    private static func lastSequence(of directory: String, _ fs: any FileSystem) throws(KVError) -> UInt64 {
        let current = String(decoding: try fs.openReadable(Path.join(directory, FileNames.current)).readAll(), as: UTF8.self)
        let manifest = Path.join(directory, current.trimmingSuffixNewlines())
        var reader = try LogReader(file: fs.openReadable(manifest), purpose: .manifest)
        var last: UInt64 = 0
        while let (offset, record) = try reader.next() {
            let edit = try VersionEdit.decode(record, file: manifest, offset: offset)
            if let s = edit.lastSequence { last = s }
        }
        return last
    }

    private static func writeMeta(_ info: BackupInfo, _ backupDirectory: String, _ fs: any FileSystem) throws(KVError) {
        var text = Self.metaHeader + "\n"
        text += "created \(info.createdMillis)\nsequence \(info.lastSequence)\n"
        for f in info.files { text += "file \(f.path) \(f.size) \(f.crc32c)\n" }
        let path = backupDirectory + "/meta/\(info.id)"
        let temp = path + ".tmp"
        let file = try fs.openWritable(temp, truncate: true)
        try Array(text.utf8).withBytes { (bytes) throws(KVError) in try file.append(bytes) }
        try file.sync()
        try file.close()
        try fs.rename(temp, to: path)
        try fs.syncDirectory(backupDirectory + "/meta")
    }

    private static func readMeta(_ id: Int, _ backupDirectory: String, _ fs: any FileSystem) throws(KVError) -> BackupInfo {
        let path = backupDirectory + "/meta/\(id)"
        guard fs.fileExists(path) else { throw KVError.notFound(path: path) }
        let text = String(decoding: try fs.openReadable(path).readAll(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        guard lines.first.map(String.init) == Self.metaHeader else {
            throw KVError.corruption(file: path, offset: 0, reason: "not a kvstore backup list (first line '\(lines.first ?? "")')")
        }
        var info = BackupInfo(id: id, createdMillis: 0, lastSequence: 0, files: [])
        var offset = Int64(lines[0].utf8.count + 1)
        for line in lines.dropFirst() {
            let f = line.split(separator: " ")
            switch (f.first, f.count) {
            case ("created"?, 2): info.createdMillis = UInt64(f[1]) ?? 0
            case ("sequence"?, 2): info.lastSequence = UInt64(f[1]) ?? 0
            case ("file"?, 4):
                guard let size = Int64(f[2]), let crc = UInt32(f[3]), !f[1].contains("..") else { fallthrough }
                info.files.append(BackupFile(path: String(f[1]), size: size, crc32c: crc))
            default:
                throw KVError.corruption(file: path, offset: offset, reason: "unreadable line '\(line)'")
            }
            offset += Int64(line.utf8.count + 1)
        }
        return info
    }
}

extension String {
    fileprivate func trimmingSuffixNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
