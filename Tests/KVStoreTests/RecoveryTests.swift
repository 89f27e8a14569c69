import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

/// Damaged write-ahead logs on the real file system.
@Suite struct RecoveryTests {
    func fill(_ dir: String, _ range: Range<Int>) throws {
        let store = try KVStore.open(at: dir)
        for i in range { try store.put(bytes("key\(i)"), bytes("value\(i)")) }
        try store.close()
    }

    @Test func tornTailIsTruncatedAndReported() throws {
        let dir = TemporaryDirectory()
        try fill(dir.path, 0..<100)
        let log = try logFiles(in: dir.path)[0]
        let size = try FileManager.default.attributesOfItem(atPath: log)[.size] as! Int
        #expect(truncate(log, off_t(size - 5)) == 0)

        let store = try KVStore.open(at: dir.path)
        let report = store.recoveryReport
        #expect(report.tornTails.count == 1)
        #expect(report.tornTails.first?.file == log)
        let offset = report.tornTails.first?.offset ?? 0
        #expect(offset > 0 && offset < Int64(size - 5))
        #expect(report.tornTails.first?.droppedBytes == Int64(size - 5) - offset)
        for i in 0..<99 { #expect(try store.get(bytes("key\(i)")) == bytes("value\(i)")) }
        #expect(try store.get(bytes("key99")) == nil)
        try store.put("later", "x")
        try store.close()

        let again = try KVStore.open(at: dir.path)
        #expect(again.recoveryReport.tornTails.isEmpty)
        #expect(try again.get("later") == bytes("x"))
        #expect(try again.get(bytes("key98")) == bytes("value98"))
        try again.close()
        let info = try String(contentsOfFile: dir.file("LOG.old"), encoding: .utf8)
        #expect(info.contains("torn tail"))
    }

    @Test func flippedByteInTheMiddleFailsTheOpenNamingFileAndOffset() throws {
        let dir = TemporaryDirectory()
        try fill(dir.path, 0..<200)
        let log = try logFiles(in: dir.path)[0]
        var data = try Data(contentsOf: URL(fileURLWithPath: log))
        let position = data.count / 2
        data[position] ^= 0x01
        try data.write(to: URL(fileURLWithPath: log))
        let error = thrownError { _ = try KVStore.open(at: dir.path) }
        guard case let .corruption(file, offset, reason)? = error else {
            Issue.record("corrupt log gave \(String(describing: error))")
            return
        }
        #expect(file == log)
        #expect(offset <= Int64(position) && offset > Int64(position) - 200)
        #expect(!reason.isEmpty)
        // The failed open released the lock: a retry reports the same corruption.
        #expect(throws: KVError.self) { try KVStore.open(at: dir.path) }
    }

    /// Writes a WAL file by hand: each batch puts key<i> = value<i> for its range of i.
    func craftLog(_ path: String, number: UInt64, firstSequence: UInt64, batches: [Range<Int>]) throws {
        let fs = PosixFileSystem()
        let writer = try LogWriter(file: fs.openWritable(path, truncate: true), fileNumber: number, purpose: .writeAheadLog)
        var sequence = firstSequence
        for range in batches {
            var batch = WriteBatch()
            for i in range { batch.put(bytes("key\(i)"), bytes("value\(i)")) }
            batch.sequence = sequence
            sequence += UInt64(range.count)
            try writer.add(batch.encoded)
        }
        try writer.close()
    }

    @Test func logsPastASequenceHoleAreSetAside() throws {
        let dir = TemporaryDirectory()
        try KVStore.open(at: dir.path).close()
        // The store now expects its log (the one just created, still empty) and the next.
        let current = try logFiles(in: dir.path)
        #expect(current.count == 1)
        let number = UInt64(String((current[0] as NSString).lastPathComponent.prefix(6)))!
        // Log A holds sequences 1...10 in ten batches, log B continues with 11...20: as if the
        // process died after freezing A's memtable and before flushing it.
        try craftLog(current[0], number: number, firstSequence: 1, batches: (0..<10).map { $0..<($0 + 1) })
        let second = dir.file(FileNames.log(number + 1))
        try craftLog(second, number: number + 1, firstSequence: 11, batches: [10..<20])
        // Lose the tail of A: key9's record.
        let size = try FileManager.default.attributesOfItem(atPath: current[0])[.size] as! Int
        #expect(truncate(current[0], off_t(size - 3)) == 0)

        let store = try KVStore.open(at: dir.path)
        #expect(store.recoveryReport.logsSetAside == [second])
        #expect(store.recoveryReport.tornTails.count == 1)
        for i in 0..<9 { #expect(try store.get(bytes("key\(i)")) == bytes("value\(i)")) }
        for i in 9..<20 { #expect(try store.get(bytes("key\(i)")) == nil, "key\(i) replayed past a hole") }
        #expect(FileManager.default.fileExists(atPath: dir.file("lost/" + FileNames.log(number + 1))))
        try store.put("new", "1")
        try store.close()

        let again = try KVStore.open(at: dir.path)
        #expect(again.recoveryReport.logsSetAside.isEmpty)
        #expect(try again.get("new") == bytes("1"))
        #expect(try again.get(bytes("key8")) == bytes("value8"))
        try again.close()
    }

    @Test func garbageLogFileIsCorruptionNotACrash() throws {
        let dir = TemporaryDirectory()
        try fill(dir.path, 0..<3)
        var rng = SplitMix64(seed: 8)
        try Data(randomBytes(100_000, &rng)).write(to: URL(fileURLWithPath: dir.file("000005.log")))
        #expect(throws: KVError.self) { try KVStore.open(at: dir.path) }
    }
}

extension RecoveryTests {
    /// A record with a valid checksum but an impossible batch (no records, or a sequence that
    /// would overflow) is corruption, not a crash.
    @Test func impossibleBatchesInAValidRecordAreCorruption() throws {
        for (sequence, batches) in [(UInt64(1), [0..<0]), (UInt64(0), [0..<1]), (maxSequenceNumber - 1, [0..<3])] {
            let dir = TemporaryDirectory()
            try KVStore.open(at: dir.path).close()
            let log = try logFiles(in: dir.path)[0]
            let number = UInt64(String((log as NSString).lastPathComponent.prefix(6)))!
            try craftLog(log, number: number, firstSequence: sequence, batches: batches)
            let error = thrownError { _ = try KVStore.open(at: dir.path) }
            #expect(error?.isCorruption == true, "sequence \(sequence): \(String(describing: error))")
        }
    }
}
