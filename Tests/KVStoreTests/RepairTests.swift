import Foundation
import Testing

@testable import KVStore

/// `Repairer` and `Verifier` on damaged directories (the kvctl tests drive them end to end).
@Suite struct RepairTests {
    func fill(_ dir: TemporaryDirectory, count: Int = 4000) throws {
        var options = LSMTests.smallOptions()
        options.compression = .none  // so a flipped byte lands in an entry, not a compressed run
        let store = try KVStore.open(at: dir.path, options: options)
        for i in 0..<count { try store.put(IteratorTests.key(i), bytes("value-\(i)")) }
        try store.compactRange()
        try store.close()
    }

    @Test func aDamagedBlockIsSalvagedAroundAndTheRestKept() throws {
        let dir = TemporaryDirectory("repair-salvage")
        try fill(dir)
        let tables = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }.sorted()
        #expect(tables.count >= 2)
        // The keys of the block the flipped byte will land in: exactly these must go.
        let lost = try keysOfFirstBlock(dir.file(tables[0]))
        #expect(!lost.isEmpty)
        var raw = try Array(Data(contentsOf: URL(fileURLWithPath: dir.file(tables[0]))))
        raw[200] ^= 0x01
        try Data(raw).write(to: URL(fileURLWithPath: dir.file(tables[0])))

        let verify = try Verifier.verify(directory: dir.path)
        #expect(verify.corruptFiles == [dir.file(tables[0])])
        #expect(verify.findings.first?.offset == 0)  // the first data block

        let report = try Repairer.repair(directory: dir.path, options: LSMTests.smallOptions())
        #expect(report.tablesSalvaged.count == 1 && report.tablesSalvaged[0].blocksLost == 1)
        #expect(report.tablesKept.count == tables.count - 1)
        #expect(FileManager.default.fileExists(atPath: dir.file("lost/" + tables[0])))
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        #expect(try store.count() == 4000 - lost.count)
        for i in 0..<4000 {
            let k = IteratorTests.key(i)
            #expect(try store.get(k) == (lost.contains(k) ? nil : bytes("value-\(i)")), "key \(i)")
        }
        try store.close()
        #expect(try Verifier.verify(directory: dir.path).corruptFiles.isEmpty)
    }

    /// The user keys in a table's first data block.
    func keysOfFirstBlock(_ path: String) throws -> Set<[UInt8]> {
        let fs = PosixFileSystem()
        let table = try TableReader(file: fs.openReadable(path), fileNumber: 1, fileSize: UInt64(fs.fileSize(path)))
        var index = BlockCursor(table.index)
        index.seekToFirst()
        var cursor = BlockCursor(try table.dataBlock(table.decodeHandle(index.value)))
        var keys: Set<[UInt8]> = []
        cursor.seekToFirst()
        while cursor.isValid {
            keys.insert(Array(userKey(cursor.keyBytes)))
            cursor.next()
        }
        return keys
    }

    @Test func anUnreadableTableIsSetAsideAndReported() throws {
        let dir = TemporaryDirectory("repair-lost")
        try fill(dir, count: 500)
        let table = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".sst") }!
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir.file(table)))  // shorter than a footer
        let report = try Repairer.repair(directory: dir.path, options: LSMTests.smallOptions())
        #expect(report.tablesLost.count == 1 && report.tablesLost[0].reason.contains("truncated"))
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        #expect(try store.count() == 0)
        try store.close()
    }
}
