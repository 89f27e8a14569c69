/// What `repair` did and what could not be saved.
package struct RepairReport: Sendable {
    package var tablesKept: [String] = []
    /// Tables with damaged blocks: the readable entries were copied to a new table.
    package var tablesSalvaged: [(file: String, entriesKept: Int, blocksLost: Int)] = []
    /// Tables that could not be read at all (footer or index damaged), moved to `lost/`.
    package var tablesLost: [(file: String, reason: String)] = []
    /// Logs replayed into new tables (then moved to `lost/`), with what ended them early.
    package var logsConverted: [(file: String, operations: Int, problem: String?)] = []
    package var rangeDeletionsRecovered = 0
    /// MANIFESTs that could not be read to their end: range deletions recorded after the
    /// damage are lost, and the keys they deleted may reappear.
    package var manifestProblems: [String] = []
    package var lastSequence: UInt64 = 0
    package var entriesAfterRepair = 0
}

/// Rebuilds a store's MANIFEST from whatever tables and logs can be read, as LevelDB's
/// RepairDB does: every readable table is kept (damaged ones are salvaged block by block),
/// every log is replayed into a new table, range deletions are recovered from any readable
/// MANIFEST records, and a fresh MANIFEST lists it all at level 0. The store is then opened
/// and fully compacted, which orders every key's versions by sequence number again (tables
/// from different levels can overlap in level 0) and rebuilds the levels.
package enum Repairer {
    package static func repair(directory: String, options: Options = Options()) throws(KVError) -> RepairReport {
        let fs = options.fileSystem
        var report = RepairReport()
        do {
            let lock = try fs.lock(Path.join(directory, FileNames.lock))
            defer { lock.unlock() }
            try rebuild(directory: directory, options: options, fs: fs, report: &report)
        }
        // Compaction merges by sequence: after it, reads see the newest version of every key.
        let store = try KVStore.open(at: directory, options: options)
        try store.compactRange()
        report.entriesAfterRepair = try store.count()
        try store.close()
        return report
    }

    private static func rebuild(directory: String, options: Options, fs: any FileSystem, report: inout RepairReport) throws(KVError) {
        func path(_ name: String) -> String { Path.join(directory, name) }
        let names = try fs.children(of: directory).sorted()
        var tables: [UInt64] = []
        var logs: [UInt64] = []
        var manifests: [UInt64] = []
        var maxNumber: UInt64 = 1
        for name in names {
            switch FileNames.parse(name) {
            case let .table(n)?: tables.append(n); maxNumber = max(maxNumber, n)
            case let .log(n)?: logs.append(n); maxNumber = max(maxNumber, n)
            case let .manifest(n)?: manifests.append(n); maxNumber = max(maxNumber, n)
            case let .temp(n)?: maxNumber = max(maxNumber, n)
            default: break
            }
        }
        var nextNumber = maxNumber + 1
        func allocate() -> UInt64 {
            defer { nextNumber += 1 }
            return nextNumber
        }
        let lost = path(FileNames.lostDirectory)
        func setAside(_ name: String) throws(KVError) {
            if !fs.fileExists(lost) { try fs.createDirectory(lost) }
            try fs.rename(path(name), to: Path.join(lost, name))
        }

        // Range deletions live in the MANIFEST: recover those of every readable record.
        var tombstones: [RangeTombstone] = []
        var lastSequence: UInt64 = 0
        for n in manifests.sorted() {
            let m = try Inspection.manifest(path(FileNames.manifest(n)), fileSystem: fs)
            for edit in m.edits {
                let removed = Set(edit.removedRangeDeletions)
                tombstones.removeAll { removed.contains($0.sequence) }
                tombstones += edit.addedRangeDeletions.map { RangeTombstone(start: $0.start, end: $0.end, sequence: $0.sequence) }
                if let s = edit.lastSequence { lastSequence = max(lastSequence, s) }
            }
            if let e = m.corruption { report.manifestProblems.append("\(e)") }
        }

        var files: [FileMetaData] = []
        let tableOptions = TableOptions(options)

        // Logs: replay each into a memtable, write it as a table.
        for n in logs.sorted() {
            let name = FileNames.log(n)
            let log = try Inspection.log(path(name), fileSystem: fs)
            let memtable = Memtable(writeBufferSize: options.writeBufferSize)
            var operations = 0
            for record in log.records {
                var sequence = record.sequence
                for op in record.operations {
                    let (kind, value): (ValueKind, [UInt8]) = switch op.kind {
                    case .put: (.value, op.value ?? [])
                    case .delete: (.deletion, [])
                    case .deleteRange: op.value.map { (.rangeDeletion, $0) } ?? (.rangeDeletionToEnd, [])
                    case .putWithExpiry: (.expiringValue, expiring(op.expiresAt ?? 0, op.value ?? []))
                    case .putTagged: (.taggedValue, tagged(op.tag ?? 0, op.expiresAt ?? 0, op.value ?? []))
                    }
                    op.key.withUnsafeBytes { k in value.withUnsafeBytes { v in memtable.add(sequence: sequence, kind: kind, key: k, value: v) } }
                    lastSequence = max(lastSequence, sequence)
                    sequence += 1
                    operations += 1
                }
            }
            tombstones += memtable.rangeTombstones
            let problem = log.corruption.map { "\($0)" } ?? log.tornTail
            if memtable.maxSequence > 0, let meta = try writeTable(from: MemtableIterator(memtable), number: allocate(), directory: directory, fs: fs, tableOptions: tableOptions) {
                files.append(meta)
            }
            report.logsConverted.append((path(name), operations, problem))
            try setAside(name)
        }

        // Tables: keep whole ones, salvage damaged ones block by block.
        for n in tables.sorted() {
            let name = FileNames.table(n)
            do {
                let file = try fs.openReadable(path(name))
                let size = UInt64(try file.size())
                let table = try TableReader(file: file, fileNumber: n, fileSize: size, blockCache: nil, statistics: nil)
                let (entries, meta, blocksLost) = try copyReadable(table, number: allocate(), directory: directory, fs: fs, tableOptions: tableOptions)
                if blocksLost == 0 {
                    // Intact: keep the original, drop the copy.
                    if let meta { try fs.remove(path(FileNames.table(meta.number))) }
                    var original = try scanMeta(table)
                    original.number = n
                    original.size = size
                    if entries > 0 { files.append(original) }
                    lastSequence = max(lastSequence, original.largestSequence)
                    report.tablesKept.append(path(name))
                } else {
                    if let meta {
                        files.append(meta)
                        lastSequence = max(lastSequence, meta.largestSequence)
                    }
                    report.tablesSalvaged.append((path(name), entries, blocksLost))
                    try setAside(name)
                }
            } catch {
                report.tablesLost.append((path(name), "\(error)"))
                try setAside(name)
            }
        }
        lastSequence = max(lastSequence, tombstones.map(\.sequence).max() ?? 0)
        report.rangeDeletionsRecovered = tombstones.count
        report.lastSequence = lastSequence

        // Old MANIFESTs go aside; a new one lists everything at level 0.
        for n in manifests { try setAside(FileNames.manifest(n)) }
        if fs.fileExists(path(FileNames.current)) { try fs.remove(path(FileNames.current)) }
        let versions = VersionSet(directory: directory, options: options)
        versions.markFileNumberUsed(nextNumber)
        var edit = VersionEdit()
        edit.logNumber = versions.newFileNumber()  // a log number no log has: nothing to replay
        edit.lastSequence = lastSequence
        for f in files { edit.addFile(0, f) }
        edit.addedTombstones = tombstones
        try versions.writeNewManifest(applying: edit, lastSequence: lastSequence)
        versions.closeManifest()
        try fs.syncDirectory(directory)
    }

    private static func tagged(_ tag: UInt8, _ expiresAt: UInt64, _ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        out.appendFixed64(expiresAt)
        out += value
        return out
    }

    private static func expiring(_ expiresAt: UInt64, _ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendFixed64(expiresAt)
        out += value
        return out
    }

    /// Writes every entry of `input` to table `number`; nil if there were none.
    private static func writeTable(
        from input: any InternalIterator, number: UInt64, directory: String, fs: any FileSystem, tableOptions: TableOptions
    ) throws(KVError) -> FileMetaData? {
        let builder = TableBuilder(file: try fs.openWritable(Path.join(directory, FileNames.table(number)), truncate: true), options: tableOptions)
        var smallest: [UInt8]?
        var largest: [UInt8] = []
        input.seekToFirst()
        while input.isValid {
            if smallest == nil { smallest = Array(input.key) }
            try builder.add(input.key, input.value)
            largest = Array(input.key)
            input.next()
        }
        guard let smallest else {
            builder.abandon()
            try? fs.remove(Path.join(directory, FileNames.table(number)))
            return nil
        }
        let properties = try builder.finish()
        return FileMetaData(number: number, size: builder.fileSize, smallest: smallest, largest: largest,
                            smallestSequence: properties.smallestSequence, largestSequence: properties.largestSequence)
    }

    /// Copies every entry of every readable data block of `table` into table `number`.
    private static func copyReadable(
        _ table: TableReader, number: UInt64, directory: String, fs: any FileSystem, tableOptions: TableOptions
    ) throws(KVError) -> (entries: Int, meta: FileMetaData?, blocksLost: Int) {
        let builder = TableBuilder(file: try fs.openWritable(Path.join(directory, FileNames.table(number)), truncate: true), options: tableOptions)
        var smallest: [UInt8]?
        var largest: [UInt8] = []
        var entries = 0
        var blocksLost = 0
        var index = BlockCursor(table.index)
        index.seekToFirst()
        while index.isValid {
            do {
                let block = try table.dataBlock(try table.decodeHandle(index.value), verify: true, fillCache: false)
                var cursor = BlockCursor(block)
                cursor.seekToFirst()
                var pending: [([UInt8], [UInt8])] = []
                while cursor.isValid {
                    pending.append((cursor.key, Array(cursor.value)))
                    cursor.next()
                }
                if let e = cursor.error { throw e }
                for (k, v) in pending {
                    // Keys must keep ascending: a damaged index could repeat or reorder blocks.
                    if !largest.isEmpty && compareInternalArrays(k, largest) <= 0 { continue }
                    if smallest == nil { smallest = k }
                    try k.withUnsafeBytes { kb in try v.withUnsafeBytes { vb in try builder.add(kb, vb) } }
                    largest = k
                    entries += 1
                }
            } catch {
                blocksLost += 1
            }
            index.next()
        }
        if index.error != nil { blocksLost += 1 }
        guard let smallest else {
            builder.abandon()
            try? fs.remove(Path.join(directory, FileNames.table(number)))
            return (0, nil, blocksLost)
        }
        let properties = try builder.finish()
        let meta = FileMetaData(number: number, size: builder.fileSize, smallest: smallest, largest: largest,
                                smallestSequence: properties.smallestSequence, largestSequence: properties.largestSequence)
        return (entries, meta, blocksLost)
    }

    /// Key range and sequences of an intact table, from its entries.
    private static func scanMeta(_ table: TableReader) throws(KVError) -> FileMetaData {
        let it = table.makeIterator(verify: true, fillCache: false)
        it.seekToFirst()
        var smallest: [UInt8] = []
        var largest: [UInt8] = []
        var minSeq = UInt64.max
        var maxSeq: UInt64 = 0
        while it.isValid {
            if smallest.isEmpty { smallest = Array(it.key) }
            largest = Array(it.key)
            let s = trailer(it.key) >> 8
            minSeq = min(minSeq, s)
            maxSeq = max(maxSeq, s)
            it.next()
        }
        if let e = it.error { throw e }
        return FileMetaData(number: 0, size: 0, smallest: smallest, largest: largest,
                            smallestSequence: minSeq == .max ? 0 : minSeq, largestSequence: maxSeq)
    }
}
