import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct MemtableTests {
    func get(_ m: Memtable, _ key: String, _ seq: UInt64) -> Memtable.Lookup {
        bytes(key).withUnsafeBytes { m.get($0, hash: hash64($0), sequence: seq) }
    }

    func add(_ m: Memtable, _ seq: UInt64, _ kind: ValueKind, _ key: String, _ value: String = "") {
        bytes(key).withUnsafeBytes { k in bytes(value).withUnsafeBytes { v in m.add(sequence: seq, kind: kind, key: k, value: v) } }
    }

    @Test func versionsAndSnapshots() {
        let m = Memtable()
        add(m, 1, .value, "a", "a1")
        add(m, 2, .value, "b", "b2")
        add(m, 3, .value, "a", "a3")
        add(m, 4, .deletion, "b")
        func value(_ l: Memtable.Lookup) -> String? {
            if case let .found(v, _, _, _) = l { return String(decoding: v, as: UTF8.self) }
            return nil
        }
        #expect(value(get(m, "a", 1)) == "a1")
        #expect(value(get(m, "a", 2)) == "a1")
        #expect(value(get(m, "a", 10)) == "a3")
        #expect(value(get(m, "b", 3)) == "b2")
        if case .deleted = get(m, "b", 4) {} else { Issue.record("b should be deleted at 4") }
        if case .absent = get(m, "a", 0) {} else { Issue.record("a absent at 0") }
        if case .absent = get(m, "c", 10) {} else { Issue.record("c absent") }
        if case .absent = get(m, "", 10) {} else { Issue.record("empty key absent") }
    }

    @Test func orderedIterationMatchesSortedModel() {
        let m = Memtable()
        var rng = SplitMix64(seed: 11)
        var model: [([UInt8], UInt64)] = []
        for seq in 1...5000 {
            let key = randomBytes(Int.random(in: 0...12, using: &rng), &rng).map { $0 % 4 }  // many shared prefixes
            key.withUnsafeBytes { k in m.add(sequence: UInt64(seq), kind: .value, key: k, value: k) }
            model.append((key, UInt64(seq)))
        }
        model.sort { a, b in
            if a.0 != b.0 { return a.0.lexicographicallyPrecedes(b.0) }
            return a.1 > b.1
        }
        var node = m.list.first
        var i = 0
        while let n = node {
            let ik = Array(SkipList.internalKey(n))
            #expect(Array(ik.dropLast(8)) == model[i].0)
            #expect(ik.withUnsafeBytes { loadFixed64($0.baseAddress! + ik.count - 8) } >> 8 == model[i].1)
            node = SkipList.next(n, 0)
            i += 1
        }
        #expect(i == model.count)
        #expect(m.approximateMemoryUsage >= 5000 * 24)
        #expect(m.reservedBytes >= m.approximateMemoryUsage)
    }

    /// Groups inserted through `add(batch:)` (sorted by key when large, the skip list's finger
    /// search between consecutive keys) end up exactly as entry-by-entry inserts would: the
    /// same order, every version, the newest sequence recorded.
    @Test func batchInsertsInKeyOrderMatchTheModel() {
        let m = Memtable()
        var rng = SplitMix64(seed: 29)
        var model: [([UInt8], UInt64)] = []
        var sequence: UInt64 = 1
        var scratch: [Memtable.SortedEntry] = []
        for group in 0..<200 {
            var batch = WriteBatch()
            let size = group % 3 == 0 ? Int.random(in: 1...5, using: &rng) : Int.random(in: 16...120, using: &rng)
            for _ in 0..<size {
                // Few distinct keys: many groups hold the same key twice.
                let key = randomBytes(Int.random(in: 1...6, using: &rng), &rng).map { $0 % 3 }
                batch.put(key, key)
                model.append((key, sequence))
                sequence += 1
            }
            let first = sequence - UInt64(size)
            batch.encoded.withUnsafeBytes { m.add(batch: $0, count: batch.count, firstSequence: first, scratch: &scratch) }
            #expect(m.maxSequence == sequence - 1)
        }
        model.sort { a, b in
            if a.0 != b.0 { return a.0.lexicographicallyPrecedes(b.0) }
            return a.1 > b.1
        }
        var node = m.list.first
        var i = 0
        while let n = node, i < model.count {
            let ik = Array(SkipList.internalKey(n))
            #expect(Array(ik.dropLast(8)) == model[i].0)
            #expect(ik.withUnsafeBytes { loadFixed64($0.baseAddress! + ik.count - 8) } >> 8 == model[i].1)
            node = SkipList.next(n, 0)
            i += 1
        }
        #expect(i == model.count && node == nil)
        // Every key reads its newest version.
        var newest: [[UInt8]: UInt64] = [:]
        for (k, seq) in model { newest[k] = max(newest[k] ?? 0, seq) }
        for (k, _) in newest {
            let got = k.withUnsafeBytes { m.get($0, hash: hash64($0), sequence: sequence) }
            guard case let .found(v, _, _, _) = got else {
                Issue.record("\(k) missing")
                continue
            }
            #expect(v == k)
        }
    }

    @Test func largeEntries() {
        let m = Memtable()
        let big = [UInt8](repeating: 7, count: 1 << 20)
        big.withUnsafeBytes { m.add(sequence: 1, kind: .value, key: $0, value: $0) }
        let got = big.withUnsafeBytes { m.get($0, hash: hash64($0), sequence: 1) }
        guard case let .found(v, _, _, _) = got else {
            Issue.record("big entry missing")
            return
        }
        #expect(v == big)
    }

    /// The memtable's filter never hides a key it was given, and turns most others away
    /// (sized for a 4 MiB buffer: 64 KiB, here with 30,000 keys, as 100-byte values give).
    @Test func memtableFilterHasNoFalseNegatives() {
        let filter = MemtableFilter(writeBufferSize: 4 << 20)
        var rng = SplitMix64(seed: 5)
        let added = (0..<30_000).map { _ in rng.next() }
        for h in added { filter.add(h) }
        #expect(added.allSatisfy { filter.mayContain($0) })
        let passed = (0..<100_000).filter { _ in filter.mayContain(rng.next()) }.count
        print("memtable filter: \(Double(passed) / 1000)% false positives at 30,000 keys")
        #expect(passed < 2_000)
        // Through a memtable: present keys are found, an absent one is absent.
        let memtable = Memtable(writeBufferSize: 1 << 20)
        for i in 0..<1000 { bytes("k\(i)").withUnsafeBytes { k in bytes("v").withUnsafeBytes { memtable.add(sequence: UInt64(i + 1), kind: .value, key: k, value: $0) } } }
        for i in 0..<1000 {
            let found = bytes("k\(i)").withUnsafeBytes { memtable.get($0, hash: hash64($0), sequence: 5000) }
            guard case .found = found else {
                Issue.record("k\(i) not found")
                return
            }
        }
        let absent = bytes("nope").withUnsafeBytes { memtable.get($0, hash: hash64($0), sequence: 5000) }
        guard case .absent = absent else {
            Issue.record("absent key found")
            return
        }
    }
}
