import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// `KVStore.replaceContents(withCheckpointAt:)`: a live store takes another store's checkpoint
/// as its whole contents (a replica's full synchronisation), atomically and durably.
/// `b` as it is: `#expect` expands the operands of a call it is given, so a comparison of
/// two stores is wrapped to keep a failure's message short.
private func isTrue(_ b: Bool) -> Bool { b }

@Suite struct ContentsReplacementTests {
    typealias Entry = (value: [UInt8], expiresAt: UInt64?, tag: UInt8)

    /// Every live entry, with its expiry and tag.
    static func dump(_ store: KVStore, _ options: ReadOptions = ReadOptions()) throws -> [[UInt8]: Entry] {
        var all: [[UInt8]: Entry] = [:]
        let it = try store.makeIterator(options)
        it.seekToFirst()
        while it.isValid {
            all[it.key] = (it.value, it.expiresAt, it.tag)
            it.next()
        }
        try it.check()
        return all
    }

    /// Equal entry for entry (a plain Bool: `#expect` would print both dictionaries).
    static func same(_ a: [[UInt8]: Entry], _ b: [[UInt8]: Entry]) -> Bool {
        guard a.count == b.count else { return false }
        for (k, x) in a {
            guard let y = b[k], x.value == y.value, x.expiresAt == y.expiresAt, x.tag == y.tag else { return false }
        }
        return true
    }

    /// Random puts (some expiring, far in the future), deletes, range deletions and flushes,
    /// so that contents sit in memtables, level 0, deeper levels and range tombstones.
    static func fill(_ store: KVStore, keys: Int, operations: Int, prefix: String, _ rng: inout SplitMix64) throws {
        for i in 0..<operations {
            func name(_ n: Int) -> [UInt8] { bytes(prefix + String(format: "%05d", n)) }
            let key = name(Int.random(in: 0..<keys, using: &rng))
            switch Int.random(in: 0..<20, using: &rng) {
            case 0:
                try store.delete(key)
            case 1:
                let a = Int.random(in: 0..<keys, using: &rng)
                try store.deleteRange(from: name(a), to: name(a + 3))
            case 2:
                try store.put(key, randomBytes(40, &rng), expiresAt: 4_000_000_000_000 + UInt64(i))
            default:
                try store.put(key, bytes("\(prefix)-\(i)-") + randomBytes(Int.random(in: 0..<200, using: &rng), &rng))
            }
            if i % 1500 == 1499 { try store.flush() }
        }
    }

    /// Against the model (the source's contents as of its checkpoint): the replaced store holds
    /// exactly those entries, expiries and tags; later writes shadow them; snapshots taken before
    /// are refused and iterators made before still read the old contents; reopening keeps it all.
    @Test(arguments: [Compression.lz4, .none])
    func replacedStoreHoldsExactlyTheCheckpoint(compression: Compression) throws {
        let dir = TemporaryDirectory("replace")
        var rng = SplitMix64(seed: 0x5eed_0001)
        let options = LSMTests.smallOptions(compression: compression)
        let source = try KVStore.open(at: dir.path + "/source", options: options)
        try Self.fill(source, keys: 3000, operations: 9000, prefix: "s", &rng)
        let info = try source.checkpoint(to: dir.path + "/cp")
        let model = try Self.dump(source)
        #expect(info.lastSequence == source.statistics().lastSequence, "no write after the checkpoint: exact sequence")
        try source.put(bytes("s-after"), bytes("not in the checkpoint"))
        try source.close()

        // The target: its own contents everywhere, some only in the memtable.
        var targetOptions = LSMTests.smallOptions(compression: compression == .lz4 ? .none : .lz4)
        targetOptions.writeBufferSize = 128 << 10
        let target = try KVStore.open(at: dir.path + "/target", options: targetOptions)
        try Self.fill(target, keys: 2000, operations: 6000, prefix: "s", &rng)  // the same keys: its range deletions cover the checkpoint's entries
        try target.put(bytes("s00001"), bytes("the target's own s1"))
        let oldContents = try Self.dump(target)
        let snapshot = try target.snapshot()
        let oldIterator = try target.makeIterator()
        // A transaction that read the old contents: whatever the sequences, it must not commit
        // on top of the new ones.
        let transaction = try target.beginTransaction()
        _ = try transaction.get(bytes("s00001"))
        transaction.put(bytes("s00001"), bytes("written by a transaction of the old contents"))
        let targetSequence = target.statistics().lastSequence

        let sequence = try target.replaceContents(withCheckpointAt: dir.path + "/cp")
        #expect(sequence == info.lastSequence)
        #expect(target.statistics().lastSequence == max(targetSequence, sequence))
        #expect(isTrue(Self.same(try Self.dump(target), model)), "the target holds exactly the checkpoint")
        #expect(try target.get(bytes("s-after")) == nil)

        var old: [[UInt8]: [UInt8]] = [:]
        oldIterator.seekToFirst()
        while oldIterator.isValid {
            old[oldIterator.key] = oldIterator.value
            oldIterator.next()
        }
        #expect(old.count == oldContents.count && old.allSatisfy { oldContents[$0.key]?.value == $0.value },
                "an iterator made before reads the old contents")
        var readOptions = ReadOptions()
        readOptions.snapshot = snapshot
        let stale = thrownError { _ = try target.get(bytes("s00001"), options: readOptions) }
        #expect(stale.map { if case .invalidArgument = $0 { true } else { false } } == true, "\(String(describing: stale))")
        #expect(thrownError { _ = try target.makeIterator(readOptions) } != nil)
        let committed = thrownError { try transaction.commit() }
        #expect(committed.map { if case .conflict = $0 { true } else { false } } == true, "\(String(describing: committed))")
        #expect(try target.get(bytes("s00001")) == model[bytes("s00001")]?.value)
        let fresh = try target.snapshot()

        // Writes after it shadow the checkpoint's entries, whatever their sequences.
        let someKey = try #require(model.keys.first)
        try target.put(someKey, bytes("newer"))
        try target.delete(bytes("s-none"))
        var freshOptions = ReadOptions()
        freshOptions.snapshot = fresh
        #expect(try target.get(someKey) == bytes("newer"))
        #expect(try target.get(someKey, options: freshOptions) == model[someKey]?.value, "a snapshot taken after works")
        var expected = model
        expected[someKey] = (bytes("newer"), nil, 0)
        try target.compactRange()
        #expect(isTrue(Self.same(try Self.dump(target), expected)))
        try target.close()

        let reopened = try KVStore.open(at: dir.path + "/target", options: targetOptions)
        #expect(isTrue(Self.same(try Self.dump(reopened), expected)), "reopened: the same")
        #expect(try Verifier.verify(directory: dir.path + "/target").corruptFiles.isEmpty)
        try reopened.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/cp")
        #expect(names.contains("CURRENT"), "the checkpoint is left as it was")
    }

    /// A damaged checkpoint (a table cut short, a missing table, a MANIFEST that is not one) is
    /// refused, and the store keeps its contents and takes writes.
    @Test func damagedCheckpointIsRefusedAndChangesNothing() throws {
        let dir = TemporaryDirectory("replace-damaged")
        var rng = SplitMix64(seed: 7)
        let source = try KVStore.open(at: dir.path + "/source", options: LSMTests.smallOptions())
        try Self.fill(source, keys: 500, operations: 3000, prefix: "s", &rng)
        try source.checkpoint(to: dir.path + "/cp")
        try source.close()
        let target = try KVStore.open(at: dir.path + "/target", options: LSMTests.smallOptions())
        try Self.fill(target, keys: 500, operations: 2000, prefix: "t", &rng)
        let before = try Self.dump(target)

        let cp = dir.path + "/cp"
        let tables = try FileManager.default.contentsOfDirectory(atPath: cp).filter { $0.hasSuffix(".sst") }.sorted()
        let manifest = try #require(try FileManager.default.contentsOfDirectory(atPath: cp).first { $0.hasPrefix("MANIFEST-") })
        let damages: [(String, () throws -> Void)] = [
            ("a table cut short", { try FileManager.default.copyItem(atPath: cp, toPath: cp + "-short")
                let h = try #require(FileHandle(forWritingAtPath: cp + "-short/" + tables[0]))
                try h.truncate(atOffset: 100)
                try h.close() }),
            ("a missing table", { try FileManager.default.copyItem(atPath: cp, toPath: cp + "-missing")
                try FileManager.default.removeItem(atPath: cp + "-missing/" + tables[tables.count - 1]) }),
            ("a MANIFEST that is not one", { try FileManager.default.copyItem(atPath: cp, toPath: cp + "-manifest")
                try Data(repeating: 0x41, count: 300).write(to: URL(fileURLWithPath: cp + "-manifest/" + manifest)) }),
        ]
        for (index, (what, damage)) in damages.enumerated() {
            try damage()
            let damaged = [cp + "-short", cp + "-missing", cp + "-manifest"][index]
            let error = thrownError { try target.replaceContents(withCheckpointAt: damaged) }
            #expect(error != nil, "\(what) is refused")
            #expect(isTrue(Self.same(try Self.dump(target), before)), "\(what): contents unchanged")
        }
        let wrongSequence = thrownError { try target.replaceContents(withCheckpointAt: cp, expecting: 12_345_678) }
        #expect(wrongSequence?.isCorruption == true, "a checkpoint whose sequence is not the one expected is refused")
        #expect(isTrue(Self.same(try Self.dump(target), before)), "an unexpected sequence: contents unchanged")
        try target.put(bytes("t-still-writable"), bytes("yes"))
        #expect(try target.get(bytes("t-still-writable")) == bytes("yes"))
        try target.close()
        let reopened = try KVStore.open(at: dir.path + "/target", options: LSMTests.smallOptions())
        var expected = before
        expected[bytes("t-still-writable")] = (bytes("yes"), nil, 0)
        #expect(isTrue(Self.same(try Self.dump(reopened), expected)))
        let orphans = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/target").filter { $0.hasSuffix(".sst") }.count
        try reopened.close()
        #expect(orphans > 0)
    }

    /// Snapshots taken while replacements run (back and forth between two checkpoints that give
    /// every key a different value): a snapshot reads one value for a key every time, or is
    /// refused — never the old contents and then the new.
    @Test func aSnapshotNeverSeesTwoContents() throws {
        let dir = TemporaryDirectory("replace-snapshots")
        let keys = (0..<200).map { bytes(String(format: "k%04d", $0)) }
        for (name, tag) in [("a", "first"), ("b", "second")] {
            let s = try KVStore.open(at: dir.path + "/" + name, options: LSMTests.smallOptions())
            for k in keys { try s.put(k, bytes(tag) + k) }
            try s.checkpoint(to: dir.path + "/cp-" + name)
            try s.close()
        }
        let target = try KVStore.open(at: dir.path + "/target", options: LSMTests.smallOptions())
        // A transaction that read the old contents conflicts even when the store's own
        // sequence is above the checkpoint's (the new memtable then starts at its snapshot's).
        for i in 0..<1000 { try target.put(bytes("own\(i)"), bytes("x")) }
        let transaction = try target.beginTransaction()
        _ = try transaction.get(keys[0])
        transaction.put(keys[0], bytes("from the old contents"))
        try target.replaceContents(withCheckpointAt: dir.path + "/cp-a")
        let committed = thrownError { try transaction.commit() }
        #expect(committed.map { if case .conflict = $0 { true } else { false } } == true, "\(String(describing: committed))")
        #expect(try target.get(keys[0]) == bytes("first") + keys[0])
        let stop = Atomic<Bool>(false)
        let mixed = Atomic<Int>(0), refused = Atomic<Int>(0), consistent = Atomic<Int>(0)
        let reader = Thread {
            var n = 0
            while !stop.load(ordering: .acquiring) && n < 200_000 {
                n += 1
                guard let snapshot = try? target.snapshot() else { continue }
                var options = ReadOptions()
                options.snapshot = snapshot
                let key = keys[n % keys.count]
                let first = try? target.get(key, options: options)
                let second = try? target.get(key, options: options)
                switch (first, second) {
                case let (a?, b?) where a != b: mixed.add(1, ordering: .relaxed)
                case (_?, _?): consistent.add(1, ordering: .relaxed)
                default: refused.add(1, ordering: .relaxed)
                }
            }
        }
        reader.start()
        for round in 0..<30 {
            try target.replaceContents(withCheckpointAt: dir.path + (round % 2 == 0 ? "/cp-b" : "/cp-a"))
        }
        stop.store(true, ordering: .releasing)
        while !reader.isFinished { usleep(1000) }
        #expect(mixed.load(ordering: .relaxed) == 0, "a snapshot saw both contents")
        #expect(consistent.load(ordering: .relaxed) > 0)
        print("snapshots across 30 replacements: \(consistent.load(ordering: .relaxed)) consistent, \(refused.load(ordering: .relaxed)) refused, \(mixed.load(ordering: .relaxed)) mixed")
        #expect(try target.get(keys[0]) == bytes("first") + keys[0])
        try target.close()
    }

    /// Every failure point of every kind of file-system operation during a replacement, each
    /// followed by a power cut: the store reopens holding exactly its old contents or exactly
    /// the checkpoint's, never a mixture — and the checkpoint's whenever the call returned.
    @Test func powerCutAtEveryStepLeavesOldOrNewContents() throws {
        // The checkpoint is made on disk (the memory file system renames files, not
        // directories), then copied in, synced.
        let dir = TemporaryDirectory("replace-power")
        var rng = SplitMix64(seed: 99)
        let source = try KVStore.open(at: dir.path + "/source", options: LSMTests.smallOptions())
        try Self.fill(source, keys: 400, operations: 2500, prefix: "s", &rng)
        try source.checkpoint(to: dir.path + "/cp")
        let new = try Self.dump(source)
        try source.close()
        let base = MemoryFileSystem()
        try base.createDirectory("/cp")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path + "/cp") {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/cp/" + name)))
            let file = try base.openWritable("/cp/" + name, truncate: true)
            try bytes.withBytes { (raw) throws(KVError) in try file.append(raw) }
            try file.sync()
            try file.close()
        }
        try base.syncDirectory("/cp")
        var options = LSMTests.smallOptions()
        options.fileSystem = base
        let target = try KVStore.open(at: "/target", options: options)
        try Self.fill(target, keys: 400, operations: 2000, prefix: "s", &rng)
        try target.close()  // every write durable: the old contents are exactly these
        let reopenedBase = try KVStore.open(at: "/target", options: options)
        let old = try Self.dump(reopenedBase)
        try reopenedBase.close()

        var trials = 0, succeeded = 0, failed = 0
        for operation: FaultOperation in [.open, .write, .sync, .syncDirectory, .rename, .read] {
            var skip = 0
            while true {
                let fs = base.copy()
                var o = options
                o.fileSystem = fs
                let store = try KVStore.open(at: "/target", options: o)
                fs.inject(operation, after: skip, times: Int.max)
                let error = thrownError { try store.replaceContents(withCheckpointAt: "/cp") }
                let faults = fs.injectedFaults
                fs.powerCut()
                _ = try? store.close()
                fs.clearFaults()
                let reopened = try KVStore.open(at: "/target", options: o)
                let after = try Self.dump(reopened)
                try reopened.close()
                trials += 1
                if error == nil {
                    succeeded += 1
                    #expect(isTrue(Self.same(after, new)), "\(operation) after \(skip): returned, so the new contents must be durable")
                } else {
                    failed += 1
                    #expect(isTrue(Self.same(after, new)) || Self.same(after, old), "\(operation) after \(skip): a mixture (\(after.count) entries)")
                }
                if faults == 0 { break }  // no such operation left to fail
                skip += 1
            }
        }
        #expect(failed > 10 && succeeded >= 6, "faults reached the replacement: \(trials) trials, \(failed) failed")
        print("contents replacement: \(trials) failure points, \(failed) failed, \(succeeded) returned; none mixed")
    }
}
