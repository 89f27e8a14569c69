import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// `KVStore.lookup(keys:)`, the multi-get: against the plain path (a `lookup` per key) and a
/// model, over random writes with snapshots, deletions, range deletions, expiry, flushes and
/// compactions; as one view under a concurrent writer; and on a damaged table.
@Suite struct MultiGetTests {
    @Test func multiGetMatchesThePlainPathAndTheModel() throws {
        var rng = SplitMix64(seed: 0x6d67_6574)
        let dir = TemporaryDirectory("multiget")
        let now = Atomic<UInt64>(1_000_000)
        var options = LSMTests.smallOptions()
        options.clock = { now.load(ordering: .relaxed) }
        let store = try KVStore.open(at: dir.path, options: options)
        /// key → (value, expiry); what a read at the latest state must see once `now` is applied.
        var model: [[UInt8]: (value: [UInt8], expiresAt: UInt64?)] = [:]
        var held: [(snapshot: Snapshot, model: [[UInt8]: (value: [UInt8], expiresAt: UInt64?)], at: UInt64)] = []
        func key(_ i: Int) -> [UInt8] { Array("mk\(1000 + i)".utf8) }
        func visible(_ m: [[UInt8]: (value: [UInt8], expiresAt: UInt64?)], _ k: [UInt8], at t: UInt64) -> [UInt8]? {
            guard let e = m[k] else { return nil }
            if let x = e.expiresAt, x <= t { return nil }
            return e.value
        }
        var checked = 0
        for step in 0..<6000 {
            let k = key(Int(rng.uniform(600)))
            switch rng.uniform(100) {
            case 0..<55:
                let v = randomBytes(Int(rng.uniform(150)), &rng)
                try store.put(k, v)
                model[k] = (v, nil)
            case 55..<65:
                let v = randomBytes(Int(rng.uniform(40)), &rng)
                let deadline = now.load(ordering: .relaxed) + 1 + rng.uniform(2000)
                try store.put(k, v, expiresAt: deadline)
                model[k] = (v, deadline)
            case 65..<80:
                try store.delete(k)
                model[k] = nil
            case 80..<83:
                let a = Int(rng.uniform(600))
                let (lo, hi) = (key(a), key(min(599, a + Int(rng.uniform(60)))))
                try store.deleteRange(from: lo, to: hi)
                for m in model.keys where !bytesPrecede(m, lo) && bytesPrecede(m, hi) { model[m] = nil }
            case 83..<90:
                now.add(rng.uniform(500), ordering: .relaxed)
            case 90..<92:
                if held.count < 4 { held.append((try store.snapshot(), model, now.load(ordering: .relaxed))) }
            case 92..<94:
                if !held.isEmpty { held.remove(at: Int(rng.uniform(UInt64(held.count)))).snapshot.release() }
            case 94:
                try store.flush()
            case 95:
                try store.compactRange()
            default:
                break
            }
            guard step % 20 == 0 else { continue }
            // Twenty keys, some repeated, some never written.
            let keys = (0..<20).map { _ in key(Int(rng.uniform(650))) }
            let t = now.load(ordering: .relaxed)
            let many = try store.lookup(keys: keys).map { $0?.value }
            let one = try keys.map { try store.lookup($0)?.value }
            #expect(many == one, "step \(step): multi-get against a lookup per key")
            #expect(many == keys.map { visible(model, $0, at: t) }, "step \(step): multi-get against the model")
            for h in held {
                var o = ReadOptions()
                o.snapshot = h.snapshot
                let atSnapshot = try store.lookup(keys: keys, options: o).map { $0?.value }
                #expect(atSnapshot == (try keys.map { try store.lookup($0, options: o)?.value }), "step \(step): at a snapshot")
                // A snapshot fixes the data, not the clock: expiry is judged now.
                #expect(atSnapshot == keys.map { visible(h.model, $0, at: t) }, "step \(step): at a snapshot, against its model")
            }
            checked += 1
        }
        for h in held { h.snapshot.release() }
        #expect(checked == 300)
        try store.close()
    }

    /// A writer sets eight keys to the same number in each batch while memtables fill and
    /// flush; every multi-get of the eight sees one number.
    @Test func multiGetIsOneViewUnderAConcurrentWriter() throws {
        let dir = TemporaryDirectory("multiget-view")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        let keys = (0..<8).map { Array("view\($0)".utf8) }
        let done = Atomic<Bool>(false)
        let batches = 4000
        let writer = Thread {
            for n in 0..<batches {
                var batch = WriteBatch()
                let value = Array(String(n).utf8) + [UInt8](repeating: 0x2e, count: 200)
                for k in keys { batch.put(k, value) }
                try? store.write(batch)
            }
            done.store(true, ordering: .releasing)
        }
        writer.start()
        var reads = 0
        var torn = 0
        let deadline = Date().addingTimeInterval(60)
        while !done.load(ordering: .acquiring) && Date() < deadline {
            let values = try store.lookup(keys: keys).map { $0?.value }
            if Set(values).count > 1 { torn += 1 }
            reads += 1
        }
        while !done.load(ordering: .acquiring) { usleep(1000) }
        #expect(torn == 0, "\(torn) of \(reads) multi-gets mixed two batches")
        #expect(reads > 100)
        let last = Array(String(batches - 1).utf8) + [UInt8](repeating: 0x2e, count: 200)
        #expect(try store.lookup(keys: keys).map { $0?.value } == Array(repeating: last, count: keys.count))
        try store.close()
    }

    /// A flipped byte in a table's data block: the multi-get throws corruption naming the
    /// table, as a lookup of that key does, and answers nothing.
    @Test func aDamagedTableIsCorruptionForTheMultiGet() throws {
        let dir = TemporaryDirectory("multiget-damaged")
        let options = LSMTests.smallOptions(compression: .none)
        var store = try KVStore.open(at: dir.path, options: options)
        let keys = (0..<300).map { Array("dmg\(1000 + $0)".utf8) }
        for k in keys { try store.put(k, k + k) }
        try store.flush()
        try store.close()
        let tables = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }.sorted()
        let table = dir.path + "/" + (try #require(tables.first))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: table)))
        bytes[20] ^= 0x40  // inside the first data block
        try Data(bytes).write(to: URL(fileURLWithPath: table))
        store = try KVStore.open(at: dir.path, options: options)
        let error = thrownError { _ = try store.lookup(keys: [keys[299], keys[0], keys[150]]) }
        guard case let .corruption(file, _, _)? = error else {
            Issue.record("the multi-get over a damaged block gave \(String(describing: error))")
            return
        }
        #expect(file == table)
        try store.close()
    }
}
