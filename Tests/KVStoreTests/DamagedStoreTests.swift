import Foundation
import Testing

@testable import KVStore
import KVStoreTesting
import KVTestSupport

/// Open after damage, at scale: a store of `KV_DAMAGED_STORE_MB` MiB (32 in `make test`,
/// 2,048 in `make soak`) with one flipped byte in a random data block of a random table.
/// Reads of keys in other blocks work, the damaged block's keys report corruption naming the
/// table, `kvctl verify` names the table and the block's offset, and `kvctl repair` keeps
/// every key outside that block with its value.
@Suite struct DamagedStoreTests {
    static var megabytes: Int { Int(ProcessInfo.processInfo.environment["KV_DAMAGED_STORE_MB"] ?? "") ?? 32 }

    static func key(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return bytes(String(repeating: "0", count: max(0, 12 - digits.count)) + digits)
    }

    /// 1,000 bytes a key, derived from it (so any value can be checked without a copy).
    static func value(_ i: Int) -> [UInt8] {
        var rng = SplitMix64(seed: UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
        var v = [UInt8](repeating: 0, count: 1000)
        var j = 0
        while j < 1000 {
            var r = rng.next()
            for _ in 0..<8 where j < 1000 {
                v[j] = UInt8(32 + (r & 0x3f))  // printable, half-compressible like real data
                r >>= 8
                j += 1
            }
        }
        return v
    }

    @Test func aFlippedByteCostsOnlyItsBlock() throws {
        let count = Self.megabytes << 10  // ~1 KiB a key
        let seed = UInt64.random(in: 0..<UInt64.max)
        var rng = SplitMix64(seed: seed)
        print("DamagedStoreTests: \(Self.megabytes) MiB, \(count) keys, seed \(seed)")
        let dir = TemporaryDirectory("damaged-store")
        do {
            let store = try KVStore.open(at: dir.path)
            var batch = WriteBatch()
            for i in 0..<count {
                batch.put(Self.key(i), Self.value(i))
                if batch.count == 1000 {
                    try store.write(batch)
                    batch.removeAll()
                }
            }
            if !batch.isEmpty { try store.write(batch) }
            try store.flush()
            store.waitForCompactions()
            try store.close()
        }
        let tables = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }.sorted()
        #expect(tables.count >= 2)
        let victim = dir.file(tables[Int(rng.uniform(UInt64(tables.count)))])

        // A random data block of the victim: its offset and its keys.
        let fs = PosixFileSystem()
        let reader = try TableReader(file: fs.openReadable(victim), fileNumber: 1, fileSize: UInt64(fs.fileSize(victim)))
        var index = BlockCursor(reader.index)
        var handles: [BlockHandle] = []
        index.seekToFirst()
        while index.isValid {
            handles.append(try reader.decodeHandle(index.value))
            index.next()
        }
        let handle = handles[Int(rng.uniform(UInt64(handles.count)))]
        var lost = Set<[UInt8]>()
        var cursor = BlockCursor(try reader.dataBlock(handle))
        cursor.seekToFirst()
        while cursor.isValid {
            lost.insert(Array(userKey(cursor.keyBytes)))
            cursor.next()
        }
        #expect(!lost.isEmpty)
        let file = try #require(FileHandle(forUpdatingAtPath: victim))
        let at = handle.offset + UInt64(rng.uniform(handle.size))
        try file.seek(toOffset: at)
        let old = try #require(try file.read(upToCount: 1)?.first)
        try file.seek(toOffset: at)
        try file.write(contentsOf: [old ^ 0x20])
        try file.close()

        // Reads: other blocks answer, the damaged block's keys are reported with the table.
        let store = try KVStore.open(at: dir.path)
        for _ in 0..<2000 {
            let i = Int(rng.uniform(UInt64(count)))
            let k = Self.key(i)
            if lost.contains(k) { continue }
            #expect(try store.get(k) == Self.value(i), "seed \(seed): key \(i)")
        }
        let damagedKey = try #require(lost.first)
        let error = #expect(throws: KVError.self) { _ = try store.get(damagedKey) }
        if case .corruption(let f, _, _)? = error {
            #expect(f == victim)
        } else {
            Issue.record("reading a key of the damaged block: \(String(describing: error)), not corruption")
        }
        try store.close()

        // kvctl verify names the table and the block.
        let verify = try runProcess(productPath("kvctl"), ["--db", dir.path, "verify"], timeout: 3600)
        #expect(verify.status == 3, "exit 3 on corruption")
        let findings = verify.text.split(separator: "\n").filter { $0.hasPrefix("corrupt: ") }
        #expect(findings.count == 1, "\(findings)")
        #expect(findings.first?.contains(victim) == true && findings.first?.contains("offset \(handle.offset):") == true, "\(findings)")

        // kvctl repair keeps every key outside the block, with its value.
        let repair = try runProcess(productPath("kvctl"), ["--db", dir.path, "repair"], timeout: 3600)
        #expect(repair.status == 0, "\(repair.text.suffix(500))")
        let repaired = try KVStore.open(at: dir.path)
        var seen = 0, wrong = 0
        for (k, v) in try repaired.entries() {
            let i = Int(String(decoding: k, as: UTF8.self)) ?? -1
            if i < 0 || lost.contains(k) || v != Self.value(i) { wrong += 1 }
            seen += 1
        }
        #expect(wrong == 0, "seed \(seed)")
        #expect(seen == count - lost.count, "seed \(seed): every key outside the block kept (\(seen) of \(count - lost.count))")
        try repaired.close()
        #expect(try Verifier.verify(directory: dir.path).corruptFiles.isEmpty)
    }
}
