import Foundation
import KVStoreTesting
import KVTestSupport
import Synchronization
import Testing

@testable import KVStore

/// The async surface: right answers from many tasks, scans as an `AsyncSequence`, and a
/// writer held by a stall that does not hold up anyone else.
@Suite struct AsyncAPITests {
    @Test func manyTasksWriteAndReadBack() async throws {
        let dir = TemporaryDirectory("async-many")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<16 {
                group.addTask {
                    for i in 0..<300 {
                        try await store.put(bytes("t\(t)-\(i)"), bytes("v\(t)-\(i)"))
                        #expect(try await store.get(bytes("t\(t)-\(i)")) == bytes("v\(t)-\(i)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await store.flush()  // the reads below come from tables as well
        try await store.write({
            var b = WriteBatch()
            b.put(bytes("t0-0"), bytes("changed"))
            b.delete(bytes("t1-0"))
            return b
        }())
        #expect(try await store.get(bytes("t0-0")) == bytes("changed"))
        #expect(try await store.get(bytes("t1-0")) == nil)
        #expect(try await store.lookup(bytes("t2-5"))?.value == bytes("v2-5"))
        try await store.put(bytes("synced"), bytes("1"), options: WriteOptions(sync: true))
        try await store.deleteRange(from: bytes("t3-"), to: nil)
        #expect(try await store.get(bytes("t3-7")) == nil)
        #expect(try await store.get(bytes("t2-7")) == bytes("v2-7"))
        try await store.close()
        await #expect(throws: KVError.closed) { try await store.get(bytes("t0-0")) }
    }

    @Test func scansAreAnAsyncSequenceOfOneSnapshot() async throws {
        let dir = TemporaryDirectory("async-scan")
        let store = try KVStore.open(at: dir.path, options: LSMTests.smallOptions())
        let keys = (0..<1000).map { "k\(String(format: "%04d", $0))" }
        for k in keys { try await store.put(bytes(k), bytes("v-" + k)) }
        try await store.flush()
        let entries = try await store.entries(from: bytes("k0100"), to: bytes("k0900"), batchSize: 64)
        try await store.put(bytes("k0500x"), bytes("later"))  // after the snapshot: not seen
        var seen: [String] = []
        for try await (key, value) in entries {
            #expect(value == bytes("v-" + String(decoding: key, as: UTF8.self)))
            seen.append(String(decoding: key, as: UTF8.self))
        }
        #expect(seen == Array(keys[100..<900]))
        var backwards: [String] = []
        for try await entry in try await store.entries(reverse: true) {
            backwards.append(String(decoding: entry.key, as: UTF8.self))
        }
        #expect(backwards.count == 1001 && backwards.first == "k0999" && backwards.contains("k0500x"))
        try await store.close()
        await #expect(throws: KVError.closed) { _ = try await store.entries() }
    }

    /// Writers wait for compaction (held) on the store's threads while other tasks read at
    /// once; the writers finish once compaction goes. Readers and writers run on an executor
    /// of two threads of the test's own (other tests in the parallel run cannot take them),
    /// with more writers than threads: had a writer blocked its thread, the readers could not
    /// run, and a watchdog thread would release compactions after 20 s and fail the test.
    @Test func stalledWritersDoNotStarveOtherTasks() async throws {
        let dir = TemporaryDirectory("async-stall")
        var options = LSMTests.smallOptions()
        options.level0CompactionTrigger = 2
        options.level0SlowdownTrigger = 3
        options.level0StopTrigger = 3
        let pause = PauseSwitch(paused: true)
        options.compactionHold = pause
        let store = try KVStore.open(at: dir.path, options: options)
        try await store.put(bytes("stable"), bytes("1"))
        let writers = 4
        let progress = Progress()
        let executor = ThreadTaskExecutor(threads: 2)
        defer { executor.stop() }
        let tasks = (0..<writers).map { t in
            Task(executorPreference: executor) {
                for i in 0..<2_500 {
                    try await store.put(bytes("w\(t)-\(i)"), [UInt8](repeating: 7, count: 100))
                    progress.written.add(1, ordering: .relaxed)
                }
            }
        }
        let readersDone = Atomic<Bool>(false)
        let timedOut = Atomic<Bool>(false)
        let watchdog = Thread {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline && !readersDone.load(ordering: .acquiring) { usleep(10_000) }
            if !readersDone.load(ordering: .acquiring) {
                timedOut.store(true, ordering: .releasing)
                pause.set(false)
            }
        }
        // Wait until the writers stop making progress: level 0 is at the stop trigger.
        var last = -1
        var steady = 0
        for _ in 0..<600 where steady < 5 {
            try await Task.sleep(for: .milliseconds(20))
            let now = progress.written.load(ordering: .relaxed)
            if now == last { steady += 1 } else { steady = 0; last = now }
        }
        #expect(steady >= 5, "the writers never stalled")
        #expect(store.statistics().isStalled)
        watchdog.start()
        try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask { () async throws in
                        for _ in 0..<50 { #expect(try await store.get(bytes("stable")) == bytes("1")) }
                        #expect(try await store.get(bytes("w0-0")) == [UInt8](repeating: 7, count: 100))
                    }
                }
                try await group.waitForAll()
            }
        }
        readersDone.store(true, ordering: .releasing)
        let waited = timedOut.load(ordering: .acquiring)
        #expect(!waited, "readers waited for the stalled writers")
        let writtenWhileHeld = progress.written.load(ordering: .relaxed)
        #expect(writtenWhileHeld == last, "writes went on while compactions were held")
        pause.set(false)
        for task in tasks { try await task.value }
        let writtenInAll = progress.written.load(ordering: .relaxed)
        #expect(writtenInAll == writers * 2_500)
        try await store.close()
    }

    /// Counts shared by the writer tasks and the test.
    final class Progress: Sendable {
        let written = Atomic<Int>(0)
    }
}
