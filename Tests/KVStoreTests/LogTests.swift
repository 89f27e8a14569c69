import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct LogTests {
    /// Writes `records` to a fresh log in a memory file system and returns its bytes and the
    /// offset each record starts at.
    func writeLog(_ records: [[UInt8]], purpose: LogFormat.Purpose = .writeAheadLog) throws -> (bytes: [UInt8], offsets: [Int64]) {
        let fs = MemoryFileSystem()
        try fs.createDirectory("/db")
        let writer = try LogWriter(file: fs.openWritable("/db/000001.log", truncate: true), fileNumber: 1, purpose: purpose)
        var offsets: [Int64] = []
        for r in records {
            offsets.append(writer.size)
            try writer.add(r)
        }
        return (fs.contents(of: "/db/000001.log")!, offsets)
    }

    func readAll(_ bytes: [UInt8]) throws -> (records: [[UInt8]], reader: LogReader) {
        var reader = LogReader(bytes: bytes, path: "/db/000001.log", purpose: .writeAheadLog)
        var out: [[UInt8]] = []
        while let (_, r) = try reader.next() { out.append(r) }
        return (out, reader)
    }

    func sampleRecords(seed: UInt64, count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let size = i % 10 == 0 ? Int.random(in: 30_000...100_000, using: &rng) : Int.random(in: 0...500, using: &rng)
            return randomBytes(size, &rng)
        }
    }

    @Test func roundTripAcrossBlocksAndFragments() throws {
        var records = sampleRecords(seed: 1, count: 200)
        // Records that end exactly at, and just short of, a block boundary.
        records.append([UInt8](repeating: 1, count: LogFormat.blockSize - LogFormat.headerSize))
        records.append([UInt8](repeating: 2, count: LogFormat.blockSize - 2 * LogFormat.headerSize - 3))
        records.append([])
        records.append([UInt8](repeating: 3, count: 3 * LogFormat.blockSize))
        let (log, _) = try writeLog(records)
        let (read, reader) = try readAll(log)
        #expect(read == records)
        #expect(reader.tornTail == nil)
        #expect(reader.fileNumber == 1)
        #expect(reader.validLength == Int64(log.count))
    }

    @Test func tornTailIsDroppedAndReported() throws {
        let records = sampleRecords(seed: 2, count: 40)
        let (log, offsets) = try writeLog(records)
        let lastStart = Int(offsets.last!)
        // Cut anywhere inside the last record: every earlier record survives.
        for cut in stride(from: lastStart + 1, to: log.count, by: max(1, (log.count - lastStart) / 25)) {
            let (read, reader) = try readAll(Array(log.prefix(cut)))
            #expect(read == Array(records.dropLast()), "cut \(cut)")
            #expect(reader.tornTail?.offset == Int64(lastStart), "cut \(cut)")
            #expect(reader.validLength == Int64(lastStart))
        }
        // A record cut short and then zeros (a crash during a mapped append): a torn tail.
        let torn = Array(log.prefix(lastStart + 10)) + [UInt8](repeating: 0, count: 5000)
        let (readTorn, tornReader) = try readAll(torn)
        #expect(readTorn == Array(records.dropLast()))
        #expect(tornReader.tornTail?.offset == Int64(lastStart))
        #expect(tornReader.reservedTail == 0)
    }

    /// `MappedLogFile` reserves space ahead, so a write-ahead log left by a crash ends in
    /// zeros: its clean end, not a torn tail. Only zeros to the very end qualify, and only in
    /// a write-ahead log (a MANIFEST is never preallocated).
    @Test func zerosToTheEndOfAWriteAheadLogAreItsCleanEnd() throws {
        let records = sampleRecords(seed: 3, count: 40)
        let (log, _) = try writeLog(records)
        let (read, reader) = try readAll(log + [UInt8](repeating: 0, count: 5000))
        #expect(read == records)
        #expect(reader.tornTail == nil)
        #expect(reader.reservedTail == 5000)
        #expect(reader.validLength == Int64(log.count))

        // The same zeros after a MANIFEST's records: a torn tail there (dropped, and reported).
        let (manifestLog, _) = try writeLog(records, purpose: .manifest)
        var manifest = LogReader(bytes: manifestLog + [UInt8](repeating: 0, count: 5000), path: "/db/MANIFEST-000001", purpose: .manifest)
        var manifestRecords: [[UInt8]] = []
        while let (_, r) = try manifest.next() { manifestRecords.append(r) }
        #expect(manifestRecords == records)
        #expect(manifest.reservedTail == 0)
        #expect(manifest.tornTail?.offset == Int64(manifestLog.count))
        #expect(manifest.tornTail?.droppedBytes == 5000)

        // Zeros followed by a stray non-zero byte: not a reserved tail.
        var damaged = log + [UInt8](repeating: 0, count: 5000)
        damaged[damaged.count - 1] = 1
        let (readDamaged, damagedReader) = try readAll(damaged)
        #expect(readDamaged == records)
        #expect(damagedReader.tornTail?.offset == Int64(log.count))
        #expect(damagedReader.reservedTail == 0)
    }

    /// The real thing: a log appended through a mapping is read back whole while open (with its
    /// reserved zeros), after the handle is dropped without `close` (as a killed process
    /// leaves it), and after `close`, which trims it to its records.
    @Test func mappedLogFileReadsBackAtEveryStage() throws {
        let dir = TemporaryDirectory("mappedlog")
        let fs = PosixFileSystem()
        let path = dir.file("000001.log")
        let file = try fs.createLog(path)
        #expect(file is MappedLogFile)
        let writer = try LogWriter(file: file, fileNumber: 1, purpose: .writeAheadLog)
        // Enough to cross several 1 MiB reservations, with records of every fragment shape.
        var records = sampleRecords(seed: 4, count: 200)
        records.append([UInt8](repeating: 9, count: 3 << 20))
        records += sampleRecords(seed: 5, count: 50)
        for r in records { try writer.add(r) }
        try writer.sync()
        let onDisk = try fs.fileSize(path)
        #expect(onDisk > writer.size && onDisk - writer.size <= Int64(MappedLogFile.chunk))
        let (whileOpen, openReader) = try readAll(try fs.openReadable(path).readAll())
        #expect(whileOpen == records)
        #expect(openReader.tornTail == nil && openReader.reservedTail == onDisk - writer.size)
        try writer.close()
        #expect(try fs.fileSize(path) == writer.size)
        let (afterClose, closedReader) = try readAll(try fs.openReadable(path).readAll())
        #expect(afterClose == records)
        #expect(closedReader.tornTail == nil && closedReader.reservedTail == 0)
    }

    @Test func flippedByteInTheMiddleIsCorruptionWithOffset() throws {
        let records = sampleRecords(seed: 3, count: 60)
        let (log, offsets) = try writeLog(records)
        var rng = SplitMix64(seed: 33)
        for _ in 0..<40 {
            let victim = Int.random(in: 0..<(records.count - 1), using: &rng)
            let start = Int(offsets[victim])
            let end = Int(offsets[victim + 1])
            let position = Int.random(in: start..<end, using: &rng)
            var damaged = log
            damaged[position] ^= 0x40
            let error = thrownError { _ = try readAll(damaged) }
            if case let .corruption(file, offset, _)? = error {
                #expect(file == "/db/000001.log")
                #expect(offset >= Int64(start) && offset <= Int64(position), "flip at \(position) reported at \(offset)")
            } else {
                // Only a flip in a block trailer's zero padding is harmless (it is never read).
                let inBlock = position % LogFormat.blockSize
                #expect(LogFormat.blockSize - inBlock < LogFormat.headerSize, "flip at \(position) gave \(String(describing: error))")
            }
        }
    }

    @Test func wrongMagicOrPurposeIsCorruption() throws {
        let (log, _) = try writeLog([bytes("x")])
        var reader = LogReader(bytes: log, path: "m", purpose: .manifest)
        #expect(throws: KVError.self) { try reader.next() }

        var damaged = log
        damaged[LogFormat.headerSize] = UInt8(ascii: "X")  // first magic byte; checksum now fails too
        // Fix the checksum so only the magic is wrong.
        let payload = Array(damaged[LogFormat.headerSize..<(LogFormat.headerSize + LogFormat.fileHeaderPayloadSize)])
        let crc = payload.withUnsafeBytes { LogFormat.checksum(type: LogFormat.RecordType.fileHeader.rawValue, $0) }
        damaged.withUnsafeMutableBytes { storeFixed32($0.baseAddress!, crc) }
        var r2 = LogReader(bytes: damaged, path: "w", purpose: .writeAheadLog)
        let error = thrownError { _ = try r2.next() }
        guard case let .corruption(file, offset, reason)? = error else {
            Issue.record("bad magic gave \(String(describing: error))")
            return
        }
        #expect(file == "w" && offset == 0 && reason.contains("magic"))
    }

    @Test func emptyAndGarbageFilesNeverCrash() throws {
        let (read, reader) = try readAll([])
        #expect(read.isEmpty && reader.tornTail?.offset == 0)  // an empty log is reported
        var rng = SplitMix64(seed: 5)
        for _ in 0..<300 {
            let garbage = randomBytes(Int.random(in: 0..<70_000, using: &rng), &rng)
            _ = try? readAll(garbage)
        }
    }
}
