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

    /// Eight threads of synced writes share fdatasyncs (group commit, with a sync leader
    /// leading the next group too). `mixed`: odd threads write without sync, so groups meet
    /// heads of both kinds. Every write succeeds and reads back.
    @Test(arguments: [false, true])
    func concurrentSyncWritersShareFsyncs(mixed: Bool) throws {
        let dir = TemporaryDirectory("group")
        let store = try KVStore.open(at: dir.path)
        let perThread = 200
        let failures = Mutex<[String]>([])
        // Real threads: concurrentPerform would run only as many at once as there are cores.
        let done = DispatchGroup()
        for t in 0..<8 {
            done.enter()
            Thread {
                let sync = !mixed || t % 2 == 0
                for i in 0..<perThread {
                    do {
                        try store.put(bytes("t\(t)-\(i)"), bytes("v\(i)"), options: WriteOptions(sync: sync))
                    } catch {
                        failures.withLock { $0.append("t\(t)-\(i): \(error)") }
                    }
                }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(failures.withLock { $0 } == [])
        let syncs = store.statistics().walSyncs
        let synced = mixed ? 4 * perThread : 8 * perThread
        print("group commit: \(synced) synced writes (of \(8 * perThread)) from 8 threads took \(syncs) fdatasyncs")
        // Unsynced writes never sync, and synced ones share. (Mixed queues share less: a synced
        // write never rides in an unsynced leader's group.)
        #expect(syncs < Int64(mixed ? synced : synced / 2))
        for t in 0..<8 {
            for i in 0..<perThread { #expect(try store.get(bytes("t\(t)-\(i)")) == bytes("v\(i)")) }
        }
        try store.close()
    }

    @Test func readersRunAlongsideTheWriter() throws {
        let dir = TemporaryDirectory()
        let store = try KVStore.open(at: dir.path)
        let written = Atomic<Int>(0)
        let wrong = Atomic<Int>(0)
        let total = 20_000
        DispatchQueue.concurrentPerform(iterations: 3) { role in
            if role == 0 {
                for i in 0..<total {
                    try? store.put(bytes("key\(i)"), bytes("value\(i)"))
                    written.store(i + 1, ordering: .releasing)
                }
            } else {
                var rng = SplitMix64(seed: UInt64(role))
                while written.load(ordering: .acquiring) < total {
                    let upTo = written.load(ordering: .acquiring)
                    guard upTo > 0 else { continue }
                    let i = Int.random(in: 0..<upTo, using: &rng)
                    // Every acknowledged write is visible to every thread.
                    if (try? store.get(bytes("key\(i)"))) != bytes("value\(i)") {
                        wrong.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        try store.close()
    }

    @Test func memtableReadersSeeConsistentSkipList() {
        let memtable = Memtable()
        let published = Atomic<UInt64>(0)
        let bad = Atomic<Int>(0)
        let count: UInt64 = 30_000
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for seq in 1...count {
                    let key = bytes("k\(seq % 1000)")
                    let value = bytes("\(seq)")
                    key.withUnsafeBytes { k in value.withUnsafeBytes { v in memtable.add(sequence: seq, kind: .value, key: k, value: v) } }
                    published.store(seq, ordering: .releasing)
                }
            } else {
                var rng = SplitMix64(seed: 5)
                while published.load(ordering: .acquiring) < count {
                    let snapshot = published.load(ordering: .acquiring)
                    guard snapshot > 0 else { continue }
                    let seq = UInt64.random(in: 1...snapshot, using: &rng)
                    // The newest version of k(seq%1000) at `snapshot` is the largest s ≤ snapshot
                    // with s ≡ seq (mod 1000).
                    let expected = snapshot - (snapshot + 1000 - seq % 1000) % 1000
                    let got = bytes("k\(seq % 1000)").withUnsafeBytes { memtable.get($0, hash: hash64($0), sequence: snapshot) }
                    if case let .found(v, _, _) = got, v == bytes("\(expected)") {} else { bad.add(1, ordering: .relaxed) }
                }
            }
        }
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
