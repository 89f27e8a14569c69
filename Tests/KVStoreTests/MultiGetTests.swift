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
        var model = ExpiringModel()
        var held: [(snapshot: Snapshot, model: ExpiringModel)] = []
        func key(_ i: Int) -> [UInt8] { Array("mk\(1000 + i)".utf8) }
        var checked = 0
        for step in 0..<6000 {
            switch try model.randomStep([store], keyCount: 600, key: key, now: now, &rng) {
            case .takeSnapshot:
                if held.count < 4 { held.append((try store.snapshot(), model)) }
            case .releaseSnapshot:
                if !held.isEmpty { held.remove(at: Int(rng.uniform(UInt64(held.count)))).snapshot.release() }
            case .none:
                break
            }
            guard step % 20 == 0 else { continue }
            // Twenty keys, some repeated, some never written.
            let keys = (0..<20).map { _ in key(Int(rng.uniform(650))) }
            let t = now.load(ordering: .relaxed)
            let many = try store.lookup(keys: keys).map { $0?.value }
            let one = try keys.map { try store.lookup($0)?.value }
            #expect(many == one, "step \(step): multi-get against a lookup per key")
            #expect(many == keys.map { model.visible($0, at: t) }, "step \(step): multi-get against the model")
            for h in held {
                var o = ReadOptions()
                o.snapshot = h.snapshot
                let atSnapshot = try store.lookup(keys: keys, options: o).map { $0?.value }
                #expect(atSnapshot == (try keys.map { try store.lookup($0, options: o)?.value }), "step \(step): at a snapshot")
                // A snapshot fixes the data, not the clock: expiry is judged now.
                #expect(atSnapshot == keys.map { h.model.visible($0, at: t) }, "step \(step): at a snapshot, against its model")
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
        let (keys, table) = try storeWithADamagedTable(dir, options: options)
        let store = try KVStore.open(at: dir.path, options: options)
        let error = thrownError { _ = try store.lookup(keys: [keys[299], keys[0], keys[150]]) }
        guard case let .corruption(file, _, _)? = error else {
            Issue.record("the multi-get over a damaged block gave \(String(describing: error))")
            return
        }
        #expect(file == table)
        try store.close()
    }
}
