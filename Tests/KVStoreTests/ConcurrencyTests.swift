import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// Run under ThreadSanitizer by `make tsan` (it filters on this suite's name).
@Suite struct ConcurrencyTests {
    @Test func eightWritersLoseNothing() throws {
        let dir = TemporaryDirectory()
        let store = try KVStore.open(at: dir.path)
        let threads = 8
        let perThread = 2_000
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do {
                    if i % 10 == 0 {
                        var batch = WriteBatch()
                        batch.put(bytes("t\(t)-\(i)"), bytes("v\(t)-\(i)"))
                        batch.put(bytes("t\(t)-\(i)-pair"), bytes("p"))
                        try store.write(batch, options: WriteOptions(sync: i % 100 == 0))
                    } else {
                        try store.put(bytes("t\(t)-\(i)"), bytes("v\(t)-\(i)"))
                    }
                    // Read-your-writes from the same thread.
                    if try store.get(bytes("t\(t)-\(i)")) != bytes("v\(t)-\(i)") {
                        failures.add(1, ordering: .relaxed)
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        func verify(_ s: KVStore) throws {
            for t in 0..<threads {
                for i in 0..<perThread {
                    #expect(try s.get(bytes("t\(t)-\(i)")) == bytes("v\(t)-\(i)"))
                    if i % 10 == 0 { #expect(try s.get(bytes("t\(t)-\(i)-pair")) == bytes("p")) }
                }
            }
        }
        try verify(store)
        try store.close()
        let reopened = try KVStore.open(at: dir.path)
        try verify(reopened)
        #expect(reopened.recoveryReport.operationsReplayed == threads * (perThread + perThread / 10))
        try reopened.close()
    }

    /// Synced writes that queue behind a leader's fdatasync share the next one (group commit).
    /// Event-driven, so the count is exact: the first writer's fdatasync is held until seven
    /// more writers have queued behind it, one at a time (the engine's `writersQueued` says
    /// when), then released. `mixed`: the queue alternates unsynced and synced writes, starting
    /// unsynced — an unsynced leader never carries a synced follower, so that writer's group is
    /// the unsynced head alone and the rest share one fdatasync.
    @Test(arguments: [false, true])
    func concurrentSyncWritersShareFsyncs(mixed: Bool) throws {
        let fs = MemoryFileSystem()
        var options = Options()
        options.fileSystem = fs
        try fs.createDirectory("/db")
        let store = try KVStore.open(at: "/db", options: options)
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let first = Atomic<Bool>(true)
        fs.setSyncGate { path in
            guard path.hasSuffix(".log"), first.exchange(false, ordering: .acquiringAndReleasing) else { return }
            held.signal()
            release.wait()
        }
        let syncsBefore = store.statistics().walSyncs
        let failures = Mutex<[String]>([])
        let done = DispatchGroup()
        func writer(_ t: Int, sync: Bool) {
            done.enter()
            Thread {
                do {
                    try store.put(bytes("t\(t)"), bytes("v\(t)"), options: WriteOptions(sync: sync))
                } catch {
                    failures.withLock { $0.append("t\(t): \(error)") }
                }
                done.leave()
            }.start()
        }
        writer(0, sync: true)
        #expect(held.wait(timeout: .now() + 30) == .success)  // the leader is in its fdatasync
        for t in 1...7 {
            writer(t, sync: !mixed || t % 2 == 0)
            let deadline = Date().addingTimeInterval(30)
            while store.statistics().writersQueued < t + 1 && Date() < deadline { usleep(100) }
            #expect(store.statistics().writersQueued == t + 1)
        }
        release.signal()
        done.wait()
        fs.setSyncGate(nil)
        #expect(failures.withLock { $0 } == [])
        // One fdatasync for the first writer, one for the seven behind it.
        #expect(store.statistics().walSyncs - syncsBefore == 2)
        for t in 0...7 { #expect(try store.get(bytes("t\(t)")) == bytes("v\(t)")) }
        try store.close()
    }

    @Test func readersRunAlongsideTheWriter() throws {
        let dir = TemporaryDirectory()
        let store = try KVStore.open(at: dir.path)
        let written = Atomic<Int>(0)
        let wrong = Atomic<Int>(0)
        let total = 20_000
        let overlapped = Overlap.run(readers: 2, readsEach: 500) { halfway in
            for i in 0..<total {
                try? store.put(bytes("key\(i)"), bytes("value\(i)"))
                written.store(i + 1, ordering: .releasing)
                if i == total / 2 { halfway() }
            }
        } read: { reader in
            let upTo = written.load(ordering: .acquiring)
            guard upTo > 0 else { return }
            var rng = SplitMix64(seed: UInt64(reader * 1_000_003 + upTo))
            let i = Int.random(in: 0..<upTo, using: &rng)
            // Every acknowledged write is visible to every thread.
            if (try? store.get(bytes("key\(i)"))) != bytes("value\(i)") {
                wrong.add(1, ordering: .relaxed)
            }
        }
        #expect(overlapped >= 2 * 500, "only \(overlapped) reads ran while the writer wrote")
        #expect(wrong.load(ordering: .relaxed) == 0)
        try store.close()
    }

    @Test func memtableReadersSeeConsistentSkipList() {
        let memtable = Memtable()
        let published = Atomic<UInt64>(0)
        let bad = Atomic<Int>(0)
        let count: UInt64 = 30_000
        let overlapped = Overlap.run(readers: 1, readsEach: 1_000) { halfway in
            for seq in 1...count {
                let key = bytes("k\(seq % 1000)")
                let value = bytes("\(seq)")
                key.withUnsafeBytes { k in value.withUnsafeBytes { v in memtable.add(sequence: seq, kind: .value, key: k, value: v) } }
                published.store(seq, ordering: .releasing)
                if seq == count / 2 { halfway() }
            }
        } read: { _ in
            let snapshot = published.load(ordering: .acquiring)
            guard snapshot > 0 else { return }
            var rng = SplitMix64(seed: snapshot)
            let seq = UInt64.random(in: 1...snapshot, using: &rng)
            // The newest version of k(seq%1000) at `snapshot` is the largest s ≤ snapshot
            // with s ≡ seq (mod 1000).
            let expected = snapshot - (snapshot + 1000 - seq % 1000) % 1000
            let got = bytes("k\(seq % 1000)").withUnsafeBytes { memtable.get($0, hash: hash64($0), sequence: snapshot) }
            if case let .found(v, _, _, _) = got, v == bytes("\(expected)") {} else { bad.add(1, ordering: .relaxed) }
        }
        #expect(overlapped >= 1_000, "only \(overlapped) reads ran while the writer wrote")
        #expect(bad.load(ordering: .relaxed) == 0)
    }
}

extension ConcurrencyTests {
    /// Writers, point readers, iterators and snapshots while flushes and compactions run on
    /// the background thread (small buffers), for ThreadSanitizer to watch.
    @Test func readersIteratorsAndWritersDuringCompaction() throws {
        let dir = TemporaryDirectory("busy")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        let rounds = 4000
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { role in
            var rng = SplitMix64(seed: UInt64(role) + 100)
            do {
                switch role {
                case 0, 1:
                    for i in 0..<rounds {
                        let k = bytes("w\(role)-\(i % 1500)")
                        try store.put(k, bytes("v\(i)") + [UInt8](repeating: 7, count: 80))
                        if i % 500 == 0 { try store.deleteRange(from: bytes("w\(role)-1"), to: bytes("w\(role)-2")) }
                    }
                case 2:
                    for _ in 0..<rounds {
                        _ = try store.get(bytes("w0-\(Int.random(in: 0..<1500, using: &rng))"))
                    }
                default:
                    for _ in 0..<60 {
                        let snap = try store.snapshot()
                        let it = try store.makeIterator(ReadOptions(snapshot: snap))
                        it.seekToFirst()
                        var previous: [UInt8]?
                        var steps = 0
                        while it.isValid && steps < 500 {
                            let k = it.key
                            if let p = previous, !p.lexicographicallyPrecedes(k) { failures.add(1, ordering: .relaxed) }
                            previous = k
                            it.next()
                            steps += 1
                        }
                        try it.check()
                        snap.release()
                    }
                }
            } catch {
                failures.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        store.waitForCompactions()
        #expect(store.statistics().flushes > 0)
        try store.close()
    }
}
