import Foundation
import Synchronization
import Testing

@testable import KVStore
import KVStoreTesting

/// Power loss and I/O failures, simulated by `MemoryFileSystem`.
@Suite struct DurabilityTests {
    @Test func powerCutKeepsSyncedWritesAndAPrefixOfTheRest() throws {
        for trial in 0..<30 {
            let seed = UInt64(1000 + trial)
            var rng = SplitMix64(seed: seed)
            let fs = MemoryFileSystem()
            let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
            let synced = Int.random(in: 0...40, using: &rng)
            let unsynced = Int.random(in: 0...40, using: &rng)
            var lastSynced = -1
            for i in 0..<(synced + unsynced) {
                // The first `synced` writes include syncs at random; the last synced one is at
                // index synced-1, after which nothing is synced.
                let sync = i == synced - 1 || (i < synced && Bool.random(using: &rng))
                if sync { lastSynced = i }
                try store.put(bytes("k\(i)"), bytes("v\(i)"), options: WriteOptions(sync: sync))
            }
            fs.powerCut()
            _ = try? store.close()  // the old process is gone; its handles fail

            let reopened = try KVStore.open(at: "/db", options: memoryOptions(fs))
            var present: [Bool] = []
            for i in 0..<(synced + unsynced) {
                present.append(try reopened.get(bytes("k\(i)")) == bytes("v\(i)"))
            }
            let survivors = present.prefix { $0 }.count
            #expect(!present.dropFirst(survivors).contains(true), "hole in history, seed \(seed)")
            #expect(survivors >= lastSynced + 1, "lost a synced write, seed \(seed): \(survivors) < \(lastSynced + 1)")
            try reopened.close()
        }
    }

    /// `syncWAL` runs beside writers (not in their queue) and across memtable switches; after
    /// it returns, a power cut loses none of the writes acknowledged before it.
    @Test func syncWALRunsBesideWritersAndCoversEverythingAcknowledgedBeforeIt() throws {
        let fs = MemoryFileSystem()
        var options = memoryOptions(fs)
        options.writeBufferSize = 64 << 10  // many log switches while syncs run
        let store = try KVStore.open(at: "/db", options: options)
        let stop = Atomic<Bool>(false)
        let syncs = Atomic<Int>(0)
        let syncer = Thread {
            while !stop.load(ordering: .relaxed) {
                if (try? store.syncWAL()) != nil { syncs.add(1, ordering: .relaxed) }
            }
        }
        syncer.start()
        let value = [UInt8](repeating: 7, count: 200)
        for i in 0..<5000 { try store.put(bytes("k\(i)"), value) }
        try store.syncWAL()
        stop.store(true, ordering: .relaxed)
        while syncer.isExecuting { usleep(1000) }
        #expect(syncs.load(ordering: .relaxed) > 0)
        fs.powerCut()
        _ = try? store.close()
        let reopened = try KVStore.open(at: "/db", options: memoryOptions(fs))
        var missing = 0
        for i in 0..<5000 where try reopened.get(bytes("k\(i)")) != value { missing += 1 }
        #expect(missing == 0, "\(missing) writes acknowledged before syncWAL lost to the power cut")
        try reopened.close()
    }

    @Test func powerCutRightAfterOpenLosesNothingSynced() throws {
        let fs = MemoryFileSystem()
        do {
            let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
            try store.put("a", "1", options: WriteOptions(sync: true))
            try store.close()
        }
        // Reopen (new log), cut power at once, twice over.
        for _ in 0..<2 {
            let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
            fs.powerCut()
            _ = try? store.close()
        }
        let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
        #expect(try store.get("a") == bytes("1"))
        try store.close()
    }

    @Test func failedSyncMakesTheStoreReadOnly() throws {
        let fs = MemoryFileSystem()
        let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
        try store.put("before", "1", options: WriteOptions(sync: true))
        fs.inject(.sync, pathContains: ".log", errno: EIO)
        let syncError = thrownError { try store.put("failing", "2", options: WriteOptions(sync: true)) }
        guard case let .io(operation, path, code)? = syncError else {
            Issue.record("a failed fdatasync was reported as \(String(describing: syncError))")
            return
        }
        #expect(operation == "fdatasync")
        #expect(path.hasSuffix(".log"))
        #expect(code == EIO)
        // Sticky: later writes fail (also ones that would not sync), with the original reason.
        let later = thrownError { try store.put("after", "3") }
        guard case let .readOnly(reason)? = later else {
            Issue.record("write after a failed sync gave \(String(describing: later))")
            return
        }
        #expect(reason.contains("fdatasync"))
        #expect(throws: KVError.self) { try store.delete("before") }
        // Reads still work.
        #expect(try store.get("before") == bytes("1"))
        #expect(try store.get("after") == nil)
        _ = try? store.close()

        let reopened = try KVStore.open(at: "/db", options: memoryOptions(fs))
        #expect(try reopened.get("before") == bytes("1"))
        try reopened.put("after", "3")  // a fresh open is writable again
        try reopened.close()
    }

    @Test func failedWriteMakesTheStoreReadOnly() throws {
        let fs = MemoryFileSystem()
        let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
        try store.put("a", "1")
        fs.inject(.write, pathContains: ".log", errno: EIO)
        let first = thrownError { try store.put("b", "2") }
        guard case let .io(operation, path, code)? = first else {
            Issue.record("failed write gave \(String(describing: first))")
            return
        }
        #expect(operation == "write" && path.hasSuffix(".log") && code == EIO)
        #expect(throws: KVError.readOnly(reason: first!.description)) { try store.put("c", "3") }
        #expect(try store.get("a") == bytes("1"))
        #expect(try store.get("b") == nil)
        _ = try? store.close()
    }

    @Test func fullDiskIsAnErrorThatLosesNothingAcknowledged() throws {
        let fs = MemoryFileSystem()
        let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
        fs.setCapacity(64 * 1024)
        var acknowledged = 0
        var failure: KVError?
        for i in 0..<10_000 {
            do {
                try store.put(bytes("key\(i)"), [UInt8](repeating: 1, count: 100), options: WriteOptions(sync: i % 10 == 0))
                acknowledged = i + 1
            } catch {
                failure = error
                break
            }
        }
        guard case let .io(_, _, code)? = failure else {
            Issue.record("disk never filled")
            return
        }
        #expect(code == ENOSPC)
        #expect(acknowledged > 0)
        _ = try? store.close()
        fs.setCapacity(nil)
        let reopened = try KVStore.open(at: "/db", options: memoryOptions(fs))
        for i in 0..<acknowledged {
            #expect(try reopened.get(bytes("key\(i)")) != nil, "lost acknowledged key\(i)")
        }
        try reopened.close()
    }

    @Test func failingDirectorySyncFailsTheOpen() throws {
        let fs = MemoryFileSystem()
        fs.inject(.syncDirectory, errno: EIO)
        #expect(throws: KVError.io(operation: "fsync directory", path: "/db", errno: EIO)) {
            try KVStore.open(at: "/db", options: memoryOptions(fs))
        }
        // The failed open released the lock.
        let store = try KVStore.open(at: "/db", options: memoryOptions(fs))
        try store.close()
    }
}
