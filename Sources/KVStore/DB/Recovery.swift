/// Brings a store back at open: the MANIFEST (via `VersionSet.recover`) says which tables are
/// live and which logs still matter; those logs are replayed into a memtable.
///
/// Logs are replayed in file-number order. A torn tail (see `LogReader`) is dropped, reported
/// and truncated away before anything new is written; corruption in the middle of a log
/// stops the open with `KVError.corruption`. Sequence numbers must continue without a gap from
/// one log to the next: a gap means an earlier log lost its tail, so later logs are set aside
/// in `lost/` rather than replayed — the store stays a prefix of its history.
struct Recovery {
    let directory: String
    let options: Options
    let infoLog: InfoLog
    let versions: VersionSet
    private(set) var logNumbers: [UInt64] = []
    private(set) var report = RecoveryReport()
    let memtable: Memtable
    /// The last sequence the MANIFEST records (the logs may add to it).
    private var manifestLastSequence: UInt64 = 0

    /// The last sequence of the recovered store: the MANIFEST's, or the last replayed write's.
    var lastSequence: UInt64 { report.lastSequence }

    init(directory: String, options: Options, infoLog: InfoLog, versions: VersionSet) throws(KVError) {
        self.directory = directory
        self.options = options
        self.infoLog = infoLog
        self.versions = versions
        self.memtable = Memtable(writeBufferSize: options.writeBufferSize)
        let fs = options.fileSystem
        let names = try fs.children(of: directory)
        var logs: [UInt64] = []
        var tables: Set<UInt64> = []
        var manifests = 0
        for name in names {
            switch FileNames.parse(name) {
            case let .log(n)?: logs.append(n)
            case let .table(n)?: tables.insert(n)
            case .manifest?: manifests += 1
            default: break
            }
        }
        if fs.fileExists(versions.currentPath) {
            if options.errorIfExists { throw KVError.alreadyExists(path: directory) }
            manifestLastSequence = try versions.recover()
        } else if !tables.isEmpty || manifests > 0 {
            // Tables without CURRENT: opening as a new store would delete them as obsolete.
            throw KVError.corruption(
                file: versions.currentPath, offset: 0,
                reason: "CURRENT is missing but the directory holds \(tables.count) tables and \(manifests) MANIFESTs; run repair")
        } else if !logs.isEmpty && options.errorIfExists {
            throw KVError.alreadyExists(path: directory)
        }
        // Every table the MANIFEST names must be there.
        for level in versions.current.files {
            for f in level where !tables.contains(f.number) {
                throw KVError.corruption(
                    file: Path.join(directory, FileNames.table(f.number)), offset: 0,
                    reason: "table named by \(FileNames.manifest(versions.manifestNumber)) is missing")
            }
        }
        for n in logs { versions.markFileNumberUsed(n) }
        for n in tables { versions.markFileNumberUsed(n) }
        logNumbers = logs.filter { $0 >= versions.firstUnflushedLog }.sorted()
    }

    mutating func run() throws(KVError) {
        let fs = options.fileSystem
        var expected: UInt64?  // next sequence number the history requires
        for (index, number) in logNumbers.enumerated() {
            let path = Path.join(directory, FileNames.log(number))
            var reader = try LogReader(file: fs.openReadable(path), purpose: .writeAheadLog)
            var replayedHere = 0
            while let (offset, record) = try reader.next() {
                if replayedHere == 0, let named = reader.fileNumber, named != number {
                    throw KVError.corruption(file: path, offset: 0, reason: "log header names file \(named), not \(number)")
                }
                guard record.count >= WriteBatch.headerSize else {
                    throw KVError.corruption(file: path, offset: offset, reason: "write batch of \(record.count) bytes is shorter than its header")
                }
                let sequence = record.withUnsafeBytes { loadFixed64($0.baseAddress!) }
                let count = UInt64(WriteBatch(encoded: record).count)
                // The engine never logs an empty batch or sequence 0; such a record (even with
                // a valid checksum) is not ours, and its arithmetic would overflow.
                guard count > 0, sequence > 0, sequence <= maxSequenceNumber - count else {
                    throw KVError.corruption(file: path, offset: offset, reason: "write batch with sequence \(sequence) and \(count) records")
                }
                if let expected, sequence != expected {
                    if replayedHere == 0 {
                        try setAside(Array(logNumbers[index...]), expected: expected, found: sequence)
                        finish()
                        return
                    }
                    throw KVError.corruption(file: path, offset: offset, reason: "sequence \(sequence) where \(expected) was expected")
                }
                try apply(record, path: path, offset: offset)
                expected = sequence + count
                report.lastSequence = max(report.lastSequence, sequence + count - 1)
                replayedHere += 1
            }
            if let torn = reader.tornTail {
                try fs.truncate(path, to: torn.offset)
                report.tornTails.append(.init(file: path, offset: torn.offset, droppedBytes: torn.droppedBytes, reason: torn.reason))
                infoLog.log("\(path): dropped a torn tail of \(torn.droppedBytes) bytes at offset \(torn.offset) (\(torn.reason)); file truncated there")
            }
            report.logsReplayed += 1
        }
        finish()
    }

    private mutating func finish() {
        report.lastSequence = max(manifestLastSequence, report.lastSequence)
    }

    private mutating func apply(_ record: [UInt8], path: String, offset: Int64) throws(KVError) {
        var sequence = record.withUnsafeBytes { loadFixed64($0.baseAddress!) }
        let limitKey = options.maxKeySize
        try record.withBytes { (encoded) throws(KVError) in
            try WriteBatch.forEach(encoded, file: path, offset: offset) { (kind, key, value) throws(KVError) in
                guard key.count <= limitKey else {
                    throw KVError.corruption(file: path, offset: offset, reason: "key of \(key.count) bytes")
                }
                memtable.add(sequence: sequence, kind: kind, key: key, value: value)
                sequence += 1
                report.operationsReplayed += 1
            }
        }
        report.batchesReplayed += 1
    }

    /// Moves logs past a sequence gap into `lost/` (durably) and reports them.
    private mutating func setAside(_ numbers: [UInt64], expected: UInt64, found: UInt64) throws(KVError) {
        let fs = options.fileSystem
        let lost = Path.join(directory, FileNames.lostDirectory)
        try fs.createDirectory(lost)
        for n in numbers {
            let name = FileNames.log(n)
            try fs.rename(Path.join(directory, name), to: Path.join(lost, name))
            report.logsSetAside.append(Path.join(directory, name))
            infoLog.log("\(name): starts at sequence \(found) but \(expected) was expected; moved to \(FileNames.lostDirectory)/ unreplayed")
        }
        try fs.syncDirectory(lost)
        try fs.syncDirectory(directory)
    }
}
