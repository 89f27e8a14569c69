import Foundation
import KVClient
import KVServer
import KVStore
import KVStoreTesting
import KVTestSupport
import Synchronization
import Testing

/// The event loop never waits for the engine: while writes are stopped for compaction, the
/// writing connections wait and everyone else is served.
@Suite struct WriteStallTests {
    /// The reply to `args` on `c`, and how many milliseconds it took.
    func timed(_ c: RESPConnection, _ args: String...) throws -> (RESPValue, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let reply = try c.call(args.map { Array($0.utf8) })
        return (reply, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }

    @Test func readsAndPingsAreAnsweredWhileAWriteWaitsForCompaction() throws {
        let pause = PauseSwitch(paused: true)
        let t = try TestServer("stall") {
            $0.eventLoopThreads = 1  // the writer and the reader share one loop
            $0.storeOptions.writeBufferSize = 64 << 10
            $0.storeOptions.level0CompactionTrigger = 2
            $0.storeOptions.level0SlowdownTrigger = 3
            $0.storeOptions.level0StopTrigger = 4
            $0.storeOptions.compactionHold = pause
        }
        let reader = try t.client()
        try reader.call("SET", "probe", "here")
        // Enough 4 KiB values to fill many memtables: with compactions held, level 0 reaches
        // the stop trigger and the writes stop part way. Scattered keys, so each flushed
        // table overlaps the others and stays in level 0.
        // (The connection gathers up to 1 MiB of pipelined SETs into one batch, so 8 MiB make
        // about eight memtables.)
        let count = 2000
        let value = String(repeating: "v", count: 4096)
        let keys = (0..<count).map { "k\(($0 &* 2_654_435_761) % 1_000_003)" }
        let commands: [[[UInt8]]] = keys.map { [Array("SET".utf8), Array($0.utf8), Array(value.utf8)] }
            + [[Array("GET".utf8), Array(keys[count - 1].utf8)]]
        let port = t.port
        let replies = Mutex<[RESPValue]?>(nil)
        let writerError = Mutex<String?>(nil)
        let writerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { writerDone.signal() }
            do {
                let writer = try RESPConnection(port: port, timeoutSeconds: 60)
                let answered = try writer.pipeline(commands)
                replies.withLock { $0 = answered }
            } catch {
                writerError.withLock { $0 = "\(error)" }
            }
        }
        // Wait until the engine has stopped writes.
        var stalled = false
        for _ in 0..<400 {
            let info = try reader.call("INFO", "engine").string ?? ""
            if info.contains("stalled_now:1") && info.contains("stop trigger") {
                stalled = true
                break
            }
            usleep(25_000)
        }
        let engineInfo = try reader.call("INFO", "engine").string ?? ""
        #expect(stalled, "the writes never stopped: \(engineInfo)")
        #expect(replies.withLock { $0 == nil }, "the writer finished although compaction is held")
        // While they are stopped, another connection on the same loop is served at once.
        for _ in 0..<20 {
            let (got, getMillis) = try timed(reader, "GET", "probe")
            let (pong, pingMillis) = try timed(reader, "PING")
            #expect(got == .text("here") && pong == .simple("PONG"))
            #expect(getMillis < 500 && pingMillis < 500, "GET took \(getMillis) ms and PING \(pingMillis) ms during the stall")
        }
        // The writing connection is the one held (its batch waits on a blocking thread).
        let stats = try reader.call("INFO", "stats").string ?? ""
        #expect(stats.contains("clients_held_now:1\r\n"), "\(stats)")
        #expect(replies.withLock { $0 == nil })
        // Release compactions: every write completes, and the replies arrive in order.
        pause.set(false)
        #expect(writerDone.wait(timeout: .now() + 60) == .success)
        #expect(writerError.withLock { $0 } == nil)
        let answered = replies.withLock { $0 } ?? []
        #expect(answered.count == count + 1)
        #expect(answered.dropLast().allSatisfy { $0 == .ok })
        #expect(answered.last == .text(value))
    }

    /// A real kvserver whose writers are being slowed (small memtables, a low delayed-write
    /// rate), killed with SIGKILL: every acknowledged write is there after a restart.
    @Test func killNineWhileWritersAreHeldLosesNoAcknowledgedWrite() throws {
        let dir = TemporaryDirectory("kill9-held")
        let port = try freePort()
        let child = try ChildProcess(productPath("kvserver"), [
            "--port", String(port), "--dir", dir.path, "--fsync", "everysec", "--loglevel", "warning",
            "--write-buffer-size", "64kb", "--level0-slowdown-trigger", "4", "--level0-stop-trigger", "8",
            "--delayed-write-rate", "256kb",
        ])
        try waitForServer(port: port)
        let acknowledged = Mutex<[(key: String, value: String)]>([])
        let group = DispatchGroup()
        for w in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? RESPConnection(port: port, timeoutSeconds: 10) else { return }
                let padding = String(repeating: "x", count: 500)
                var i = 0
                while i < 100_000 {
                    let key = "w\(w):\(i)"
                    let value = "\(w)-\(i)-\(padding)"
                    let reply = (i % 3 == 0) ? try? c.call("INCRBY", "counter:\(w)", "1") : try? c.call("SET", key, value)
                    guard let reply, !reply.isError else { return }
                    if i % 3 != 0 { acknowledged.withLock { $0.append((key, value)) } }
                    i += 1
                }
            }
        }
        // Let the slowdown engage before the kill.
        var slowed = false
        let probe = try RESPConnection(port: port, timeoutSeconds: 10)
        for _ in 0..<200 {
            let info = try probe.call("INFO").string ?? ""
            if info.contains("writes_held:") && !info.contains("writes_held:0\r") && !info.contains("delayed_write_rate:0\r") {
                slowed = true
                break
            }
            usleep(50_000)
        }
        #expect(slowed, "writers were never held")
        // Kill while writes go on at the slowed rate: once a few hundred more are acknowledged.
        let seen = acknowledged.withLock { $0.count }
        let deadline = DispatchTime.now() + 30
        while acknowledged.withLock({ $0.count }) < seen + 300 && DispatchTime.now() < deadline { usleep(10_000) }
        child.kill()
        #expect(group.wait(timeout: .now() + 30) == .success)
        let acked = acknowledged.withLock { $0 }
        #expect(acked.count > 50)
        let store = try KVStore.open(at: dir.path)
        var lost = 0
        for (key, value) in acked where try store.get(key) != Array(value.utf8) { lost += 1 }
        #expect(lost == 0, "\(lost) of \(acked.count) acknowledged writes are missing")
        try store.close()
    }
}
