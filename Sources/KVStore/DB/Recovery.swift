/// Rebuilds the memtable from the write-ahead logs when a store opens.
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
    let logNumbers: [UInt64]
    private(set) var nextFileNumber: UInt64 = 1
    private(set) var report = RecoveryReport()
    let memtable = Memtable()

    init(directory: String, options: Options, infoLog: InfoLog) throws {
        self.directory = directory
        self.options = options
        self.infoLog = infoLog
        var numbers: [UInt64] = []
        for name in try options.fileSystem.children(of: directory) {
            if case let .log(n)? = FileNames.parse(name) { numbers.append(n) }
        }
        logNumbers = numbers.sorted()
        nextFileNumber = (logNumbers.last ?? 0) + 1
    }

    mutating func run() throws {
        let fs = options.fileSystem
        var expected: UInt64?  // next sequence number the history requires
        for (index, number) in logNumbers.enumerated() {
            let path = Path.join(directory, FileNames.log(number))
            var reader = try LogReader(file: fs.openReadable(path), purpose: .writeAheadLog)
            var replayedHere = 0
            while let (offset, record) = try reader.next() {
                let sequence: UInt64 = record.count >= WriteBatch.headerSize
                    ? record.withUnsafeBytes { loadFixed64($0.baseAddress!) } : 0
                if let expected, sequence != expected {
                    if replayedHere == 0 {
                        try setAside(Array(logNumbers[index...]), expected: expected, found: sequence)
                        return
                    }
                    throw KVError.corruption(
                        file: path, offset: offset,
                        reason: "sequence \(sequence) where \(expected) was expected")
                }
                try apply(record, path: path, offset: offset)
                let count = UInt64(WriteBatch(rep: record).count)
                expected = sequence + count
                report.lastSequence = max(report.lastSequence, sequence + count - 1)
                replayedHere += 1
            }
            if let named = reader.fileNumber, named != number {
                throw KVError.corruption(file: path, offset: 0, reason: "log header names file \(named), not \(number)")
            }
            if let torn = reader.tornTail {
                try fs.truncate(path, to: torn.offset)
                report.tornTails.append(.init(file: path, offset: torn.offset, droppedBytes: torn.droppedBytes, reason: torn.reason))
                infoLog.log("\(path): dropped a torn tail of \(torn.droppedBytes) bytes at offset \(torn.offset) (\(torn.reason)); file truncated there")
            }
            report.logsReplayed += 1
        }
    }

    private mutating func apply(_ record: [UInt8], path: String, offset: Int64) throws {
        guard record.count >= WriteBatch.headerSize else {
            throw KVError.corruption(file: path, offset: offset, reason: "write batch of \(record.count) bytes is shorter than its header")
        }
        var sequence = record.withUnsafeBytes { loadFixed64($0.baseAddress!) }
        let limitKey = options.maxKeySize
        try record.withUnsafeBytes { rep in
            try WriteBatch.forEach(rep, file: path, offset: offset) { kind, key, value in
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
    private mutating func setAside(_ numbers: [UInt64], expected: UInt64, found: UInt64) throws {
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
