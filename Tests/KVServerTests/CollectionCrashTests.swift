import Foundation
import KVClient
import Synchronization
import Testing

import KVTestSupport

/// kvserver killed with SIGKILL under concurrent HSET, ZADD, RPUSH and SADD writers and a
/// client moving elements between two lists in MULTI/EXEC, cycle after cycle on the same
/// directory with `--fsync always`: after each restart every acknowledged write is there, the
/// moved elements are each in exactly one of the lists (and the move counter agrees: a
/// transaction is all or nothing), and at the end `kvctl verify` finds the keyspace clean.
/// `KV_TYPE_KILL_CYCLES` sets the cycles (3 here; `make stress` runs 20).
@Suite struct CollectionCrashTests {
    static let jobs = 4_000

    /// What the writers had acknowledged when the server died.
    struct Acknowledged {
        var hash: [String: String] = [:]
        var zset: [String: Int] = [:]
        var list: [String] = []
        var set: Set<String> = []
        var moves = 0
    }

    @Test func killNineUnderCollectionWritersLosesNothingAcknowledged() throws {
        let cycles = ProcessInfo.processInfo.environment["KV_TYPE_KILL_CYCLES"].flatMap(Int.init) ?? 3
        let dir = TemporaryDirectory("kill9-types")
        let acked = Mutex(Acknowledged())
        for cycle in 0..<cycles {
            let port = try freePort()
            let child = try ChildProcess(productPath("kvserver"), [
                "--port", String(port), "--dir", dir.path, "--fsync", "always", "--loglevel", "warning",
            ])
            try waitForServer(port: port)
            let c = try RESPConnection(port: port, timeoutSeconds: 30)
            if cycle == 0 {
                #expect(try c.call([bytes("RPUSH"), bytes("todo")] + (0..<Self.jobs).map { bytes("job\($0)") }) == .integer(Self.jobs))
            } else {
                try check(c, acked.withLock { $0 }, cycle: cycle)
            }
            let done = Atomic<Int>(0)
            let group = DispatchGroup()
            for writer in 0..<5 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    guard let w = try? RESPConnection(port: port, timeoutSeconds: 5) else { return }
                    // Bounded: the kill ends it long before the cap.
                    for i in 0..<50_000 {
                        let n = "\(cycle)-\(i)"
                        switch writer {
                        case 0:
                            guard (try? w.call("HSET", "h", "f\(n)", "v\(n)")) == .integer(1) else { return }
                            acked.withLock { $0.hash["f\(n)"] = "v\(n)" }
                        case 1:
                            guard (try? w.call("ZADD", "z", "\(cycle * 100_000 + i)", "m\(n)")) == .integer(1) else { return }
                            acked.withLock { $0.zset["m\(n)"] = cycle * 100_000 + i }
                        case 2:
                            guard case .integer? = try? w.call("RPUSH", "l", "e\(n)") else { return }
                            acked.withLock { $0.list.append("e\(n)") }
                        case 3:
                            guard (try? w.call("SADD", "s", "m\(n)")) == .integer(1) else { return }
                            _ = acked.withLock { $0.set.insert("m\(n)") }
                        default:
                            // Move a job from "todo" to "doing" and count it, all or nothing.
                            guard (try? w.call("MULTI")) == .ok,
                                  (try? w.call("LMOVE", "todo", "doing", "LEFT", "RIGHT")) == .simple("QUEUED"),
                                  (try? w.call("HINCRBY", "stats", "moved", "1")) == .simple("QUEUED"),
                                  let reply = try? w.call("EXEC") else { return }
                            let items = reply.elements
                            guard items.count == 2, items[0].bytes != nil else { return }  // todo ran out
                            acked.withLock { $0.moves += 1 }
                        }
                        done.add(1, ordering: .relaxed)
                    }
                }
            }
            // Kill once a few hundred writes of this cycle are acknowledged (or after 30 s).
            let deadline = DispatchTime.now() + 30
            while done.load(ordering: .relaxed) < 600 && DispatchTime.now() < deadline { usleep(5_000) }
            usleep(UInt32(cycle % 3) * 20_000)  // vary the moment a little
            child.kill()
            #expect(group.wait(timeout: .now() + 30) == .success)
            #expect(done.load(ordering: .relaxed) >= 600, "only \(done.load(ordering: .relaxed)) writes in 30 s in cycle \(cycle)")
        }
        // The last cycle's writes, then the keyspace's invariants on the files.
        let port = try freePort()
        let child = try ChildProcess(productPath("kvserver"), [
            "--port", String(port), "--dir", dir.path, "--fsync", "always", "--loglevel", "warning",
        ])
        try waitForServer(port: port)
        try check(try RESPConnection(port: port, timeoutSeconds: 30), acked.withLock { $0 }, cycle: cycles)
        child.kill()
        let verify = try runProcess(productPath("kvctl"), ["--db", dir.path, "verify"], timeout: 120)
        #expect(verify.status == 0, "kvctl verify: \(verify.text) \(verify.stderr)")
        let a = acked.withLock { $0 }
        print("collection kill test: \(cycles) cycles; acknowledged and checked: \(a.hash.count) HSET, \(a.zset.count) ZADD, \(a.list.count) RPUSH, \(a.set.count) SADD, \(a.moves) MULTI/EXEC moves; kvctl verify exit \(verify.status)")
    }

    func check(_ c: RESPConnection, _ a: Acknowledged, cycle: Int) throws {
        var hash: [String: String] = [:]
        let flat = try c.call("HGETALL", "h").elements.compactMap(\.string)
        for i in stride(from: 0, to: flat.count - 1, by: 2) { hash[flat[i]] = flat[i + 1] }
        let lostFields = a.hash.filter { hash[$0.key] != $0.value }.count
        #expect(lostFields == 0, "cycle \(cycle): \(lostFields) of \(a.hash.count) acknowledged HSETs missing")
        let z = try c.call("ZRANGE", "z", "0", "-1", "WITHSCORES").elements.compactMap(\.string)
        var scores: [String: Int] = [:]
        for i in stride(from: 0, to: z.count - 1, by: 2) { scores[z[i]] = Int(z[i + 1]) }
        let lostMembers = a.zset.filter { scores[$0.key] != $0.value }.count
        #expect(lostMembers == 0, "cycle \(cycle): \(lostMembers) of \(a.zset.count) acknowledged ZADDs missing")
        // RPUSHes land in order: the acknowledged ones are a prefix of each cycle's run.
        let list = try c.call("LRANGE", "l", "0", "-1").elements.compactMap(\.string)
        let listed = Set(list)
        #expect(a.list.allSatisfy(listed.contains), "cycle \(cycle): acknowledged RPUSHes missing")
        #expect(listed.count == list.count, "cycle \(cycle): an element pushed twice")
        let members = Set(try c.call("SMEMBERS", "s").elements.compactMap(\.string))
        #expect(a.set.isSubset(of: members), "cycle \(cycle): \(a.set.subtracting(members).count) acknowledged SADDs missing")
        // Moves: every job in exactly one list, and the counter equals the moved ones.
        let todo = try c.call("LRANGE", "todo", "0", "-1").elements.compactMap(\.string)
        let doing = try c.call("LRANGE", "doing", "0", "-1").elements.compactMap(\.string)
        #expect(todo.count + doing.count == Self.jobs && Set(todo + doing).count == Self.jobs, "cycle \(cycle): \(todo.count) + \(doing.count) jobs")
        #expect(doing == (0..<doing.count).map { "job\($0)" }, "cycle \(cycle): moved in order")
        let moved = Int(try c.call("HGET", "stats", "moved").string ?? "0") ?? -1
        #expect(moved == doing.count, "cycle \(cycle): counter \(moved), moved \(doing.count)")
        #expect(doing.count >= a.moves, "cycle \(cycle): \(a.moves) acknowledged moves, \(doing.count) found")
    }
}
