import Foundation
import KVClient
import KVServer
import KVStore
import KVTestSupport
import Synchronization
import Testing

/// MULTI, EXEC, DISCARD, WATCH and UNWATCH over real sockets, against Redis's semantics.
@Suite struct TransactionTests {
    @Test func queuedCommandsRunInOrderAndSeeEachOthersWrites() throws {
        let t = try TestServer("multi")
        let c = try t.client()
        #expect(try c.call("MULTI") == .ok)
        #expect(try c.call("SET", "a", "1") == .simple("QUEUED"))
        #expect(try c.call("INCR", "a") == .simple("QUEUED"))
        #expect(try c.call("APPEND", "a", "0") == .simple("QUEUED"))
        #expect(try c.call("GET", "a") == .simple("QUEUED"))
        #expect(try c.call("DEL", "a") == .simple("QUEUED"))
        #expect(try c.call("EXISTS", "a") == .simple("QUEUED"))
        #expect(try c.call("MSET", "b", "2", "c", "3") == .simple("QUEUED"))
        #expect(try c.call("MGET", "b", "c", "a") == .simple("QUEUED"))
        #expect(try c.call("EXEC") == .array([
            .ok, .integer(2), .integer(2), .text("20"), .integer(1), .integer(0), .ok,
            .array([.text("2"), .text("3"), .null]),
        ]))
        #expect(try c.call("GET", "a") == .null)
        #expect(try c.call("MGET", "b", "c") == .array([.text("2"), .text("3")]))
    }

    @Test func runTimeErrorsComeBackInsideExecAndTheRestApply() throws {
        let t = try TestServer("multi-errors")
        let c = try t.client()
        try c.call("SET", "s", "text")
        try c.call("MULTI")
        try c.call("INCR", "s")
        try c.call("SET", "n", "5")
        try c.call("SET", "x", "1", "EX", "0")
        #expect(try c.call("EXEC") == .array([
            .error("ERR value is not an integer or out of range"), .ok,
            .error("ERR invalid expire time in 'set' command"),
        ]))
        #expect(try c.call("GET", "n") == .text("5"))
    }

    @Test func queueingErrorsAbortTheTransaction() throws {
        let t = try TestServer("multi-abort")
        let c = try t.client()
        try c.call("MULTI")
        #expect(try c.call("SET", "k", "v") == .simple("QUEUED"))
        #expect(try c.call("NOSUCHCOMMAND", "x").string?.hasPrefix("ERR unknown command 'NOSUCHCOMMAND'") == true)
        #expect(try c.call("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(try c.call("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        #expect(try c.call("GET", "k") == .null)
        // The connection is out of MULTI and usable.
        #expect(try c.call("SET", "k", "v") == .ok)
    }

    @Test func misplacedTransactionCommandsGetRedisErrors() throws {
        let t = try TestServer("multi-misuse")
        let c = try t.client()
        #expect(try c.call("EXEC") == .error("ERR EXEC without MULTI"))
        #expect(try c.call("DISCARD") == .error("ERR DISCARD without MULTI"))
        try c.call("MULTI")
        #expect(try c.call("MULTI") == .error("ERR MULTI calls can not be nested"))
        #expect(try c.call("WATCH", "k") == .error("ERR WATCH inside MULTI is not allowed"))
        try c.call("SET", "k", "v")
        #expect(try c.call("DISCARD") == .ok)
        #expect(try c.call("GET", "k") == .null)
        // Neither error aborted a transaction: this one runs.
        try c.call("MULTI")
        try c.call("MULTI")
        try c.call("SET", "k", "v")
        #expect(try c.call("EXEC") == .array([.ok]))
    }

    @Test func watchedKeyWrittenByAnotherClientFailsExec() throws {
        let t = try TestServer("watch")
        let c = try t.client()
        let other = try t.client()
        try c.call("SET", "k", "1")
        // A plain SET from another connection goes through the write coalescer.
        #expect(try c.call("WATCH", "k", "unrelated") == .ok)
        try other.call("SET", "k", "2")
        try c.call("MULTI")
        try c.call("SET", "k", "3")
        #expect(try c.call("EXEC") == .array(nil))
        #expect(try c.call("GET", "k") == .text("2"))
        // EXEC ended the watch: the same sequence now runs.
        try other.call("SET", "k", "4")
        try c.call("MULTI")
        try c.call("SET", "k", "3")
        #expect(try c.call("EXEC") == .array([.ok]))

        // Read-modify-write commands, and the watcher's own writes, count too.
        for write in [["INCR", "n"], ["DEL", "n"], ["EXPIRE", "n", "100"], ["RENAME", "n", "m"]] {
            try c.call("SET", "n", "1")
            try c.call("WATCH", "n")
            try other.call(write.map { Array($0.utf8) })
            try c.call("MULTI")
            try c.call("GET", "n")
            #expect(try c.call("EXEC") == .array(nil), "\(write)")
        }
        try c.call("WATCH", "own")
        try c.call("SET", "own", "x")
        try c.call("MULTI")
        #expect(try c.call("EXEC") == .array(nil))
    }

    /// A connection that closes while watching leaves nothing registered behind.
    @Test func closedConnectionsForgetTheirWatches() throws {
        let t = try TestServer("watch-close")
        let probe = try t.client()
        do {
            let c = try t.client()
            try c.call("WATCH", "a", "b", "c")
            #expect(try probe.call("INFO", "clients").string?.contains("watched_keys:3") == true)
            try c.call("QUIT")
        }
        var cleared = false
        for _ in 0..<100 {
            if try probe.call("INFO", "clients").string?.contains("watched_keys:0") == true {
                cleared = true
                break
            }
            usleep(20_000)
        }
        #expect(cleared)
    }

    @Test func unwatchAndUntouchedKeysLetExecRun() throws {
        let t = try TestServer("unwatch")
        let c = try t.client()
        let other = try t.client()
        try c.call("WATCH", "k")
        try other.call("SET", "elsewhere", "x")
        try c.call("MULTI")
        try c.call("SET", "k", "1")
        #expect(try c.call("EXEC") == .array([.ok]))
        try c.call("WATCH", "k")
        #expect(try c.call("UNWATCH") == .ok)
        try other.call("SET", "k", "2")
        try c.call("MULTI")
        try c.call("GET", "k")
        #expect(try c.call("EXEC") == .array([.text("2")]))
        // DISCARD forgets the watch as well.
        try c.call("WATCH", "k")
        try c.call("MULTI")
        try c.call("DISCARD")
        try other.call("SET", "k", "3")
        try c.call("MULTI")
        #expect(try c.call("EXEC") == .array([]))
    }

    @Test func expiryRangeDeletionAndFlushTouchWatchedKeys() throws {
        let t = try TestServer("watch-expiry")
        let c = try t.client()
        let other = try t.client()
        // A key that expires between WATCH and EXEC has changed.
        try c.call("SET", "e", "v", "PX", "1000")
        try c.call("WATCH", "e")
        t.clock.advance(by: 1000)
        try c.call("MULTI")
        try c.call("GET", "e")
        #expect(try c.call("EXEC") == .array(nil))

        try c.call("SET", "r:1", "v")
        try c.call("WATCH", "r:1")
        try other.call("DELRANGE", "r:", "r;")
        try c.call("MULTI")
        #expect(try c.call("EXEC") == .array(nil))

        try c.call("SET", "f", "v")
        try c.call("WATCH", "f")
        try other.call("FLUSHDB")
        try c.call("MULTI")
        #expect(try c.call("EXEC") == .array(nil))

        // FLUSHDB over a watched key that does not exist changes nothing (Redis's rule).
        try c.call("WATCH", "absent")
        try other.call("FLUSHALL")
        try c.call("MULTI")
        try c.call("PING")
        #expect(try c.call("EXEC") == .array([.simple("PONG")]))
    }

    @Test func flushAndRangeDeletionInsideExecOrderWithTheOtherWrites() throws {
        let t = try TestServer("multi-flush")
        let c = try t.client()
        try c.call("MSET", "a", "1", "b", "2")
        try c.call("MULTI")
        try c.call("SET", "z", "late")
        try c.call("FLUSHDB")
        try c.call("SET", "c", "3")
        try c.call("GET", "a")
        try c.call("DBSIZE")
        #expect(try c.call("EXEC").elements.count == 5)
        #expect(try c.call("MGET", "a", "b", "z", "c") == .array([.null, .null, .null, .text("3")]))
        try c.call("MSET", "r:1", "x", "r:2", "y", "r:3", "z")
        try c.call("MULTI")
        try c.call("DELRANGE", "r:1", "r:3")
        try c.call("SET", "r:2", "back")
        try c.call("EXEC")
        #expect(try c.call("MGET", "r:1", "r:2", "r:3") == .array([.null, .text("back"), .text("z")]))
    }

    /// KEYS, SCAN, RANGE, DBSIZE and RANDOMKEY inside EXEC see the transaction's own earlier
    /// writes, deletions and range deletions, as every read in a Redis transaction does.
    @Test func keyspaceReadsInsideExecSeeTheTransactionsWrites() throws {
        let t = try TestServer("multi-keyspace")
        let c = try t.client()
        try c.call("MSET", "b", "2", "d", "4", "r:1", "x", "r:2", "y", "z", "26")
        try c.call("MULTI")
        try c.call("SET", "a", "1")
        try c.call("DEL", "d")
        try c.call("SET", "c", "3")
        try c.call("DELRANGE", "r:", "r;")
        try c.call("SET", "r:3", "new")
        try c.call("KEYS", "*")
        try c.call("DBSIZE")
        try c.call("SCAN", "0", "COUNT", "100")
        try c.call("RANGE", "", "", "REV", "KEYSONLY")
        try c.call("RANGE", "b", "r:9")
        let replies = try c.call("EXEC").elements
        let expected: [RESPValue] = [.text("a"), .text("b"), .text("c"), .text("r:3"), .text("z")]
        #expect(replies.count == 10)
        guard replies.count == 10 else { return }
        #expect(replies[5] == .array(expected))
        #expect(replies[6] == .integer(5))
        #expect(replies[7] == .array([.text("0"), .array(expected)]))
        #expect(replies[8] == .array(expected.reversed()))
        #expect(replies[9] == .array([.text("b"), .text("2"), .text("c"), .text("3"), .text("r:3"), .text("new")]))
        // After the commit, the store agrees.
        #expect(try c.call("KEYS", "*") == .array(expected))
        // RANDOMKEY inside a transaction that deleted everything but its own key.
        try c.call("MULTI")
        try c.call("FLUSHDB")
        try c.call("SET", "only", "1")
        try c.call("RANDOMKEY")
        #expect(try c.call("EXEC").elements.last == .text("only"))
    }

    @Test func queueLimitAbortsWithAClearError() throws {
        let t = try TestServer("multi-limit") { $0.transactionLimits.maxCommands = 3 }
        let c = try t.client()
        try c.call("MULTI")
        for i in 0..<3 { #expect(try c.call("SET", "k\(i)", "v") == .simple("QUEUED")) }
        let refused = try c.call("SET", "k3", "v")
        #expect(refused.string?.hasPrefix("ERR MULTI queue limit reached") == true, "\(refused)")
        #expect(try c.call("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        #expect(try c.call("EXISTS", "k0") == .integer(0))
    }

    /// Transfers between accounts from several clients at once: EXEC's commands are never
    /// interleaved with another EXEC's, so the sum MGET sees (one snapshot) never changes.
    @Test func concurrentTransfersKeepTheSum() throws {
        let t = try TestServer("multi-transfers")
        let accounts = (0..<8).map { "acct:\($0)" }
        let setup = try t.client()
        try setup.call([Array("MSET".utf8)] + accounts.flatMap { [Array($0.utf8), Array("100".utf8)] })
        let port = t.port
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                let c = try RESPConnection(port: port)
                var rng = SystemRandomNumberGenerator()
                for _ in 0..<200 {
                    let from = accounts.randomElement(using: &rng)!, to = accounts.randomElement(using: &rng)!
                    try c.call("MULTI")
                    try c.call("DECRBY", from, "7")
                    try c.call("INCRBY", to, "7")
                    guard try c.call("EXEC").elements.count == 2 else { failures.add(); return }
                    if worker == 0 {
                        let values = try c.call([Array("MGET".utf8)] + accounts.map { Array($0.utf8) })
                        let sum = values.elements.compactMap { $0.string.flatMap(Int.init) }.reduce(0, +)
                        if sum != 800 { failures.add() }
                    }
                }
            } catch {
                failures.add()
            }
        }
        #expect(failures.value == 0)
        let values = try setup.call([Array("MGET".utf8)] + accounts.map { Array($0.utf8) })
        #expect(values.elements.compactMap { $0.string.flatMap(Int.init) }.reduce(0, +) == 800)
    }

    /// Eight clients increment one counter with WATCH / GET / MULTI / SET / EXEC, retrying
    /// when EXEC answers null: optimistic locking loses no increment.
    @Test func watchRetryLoopsCountExactly() throws {
        let t = try TestServer("watch-counter")
        let port = t.port
        let errors = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let c = try RESPConnection(port: port)
                for _ in 0..<50 {
                    var attempts = 0
                    while attempts < 1000 {
                        attempts += 1
                        try c.call("WATCH", "counter")
                        let current = try c.call("GET", "counter").string.flatMap(Int.init) ?? 0
                        try c.call("MULTI")
                        try c.call("SET", "counter", String(current + 1))
                        if try c.call("EXEC") != .array(nil) { break }
                    }
                }
            } catch {
                errors.add()
            }
        }
        #expect(errors.value == 0)
        #expect(try t.client().call("GET", "counter") == .text("400"))
    }

    /// A thousand connections sit in MULTI with queued commands; another client is served
    /// meanwhile, and every EXEC then applies.
    @Test func aThousandOpenTransactionsKeepTheServerResponsive() throws {
        let t = try TestServer("multi-many") { $0.maxClients = 2000 }
        var clients: [RESPConnection] = []
        for i in 0..<1000 {
            let c = try t.client()
            try c.call("MULTI")
            try c.call("SET", "m:\(i)", String(i))
            clients.append(c)
        }
        let probe = try t.client()
        #expect(try probe.call("SET", "probe", "ok") == .ok)
        #expect(try probe.call("GET", "probe") == .text("ok"))
        #expect(try probe.call("EXISTS", "m:0") == .integer(0))
        for c in clients { #expect(try c.call("EXEC") == .array([.ok])) }
        #expect(try probe.call("DBSIZE") == .integer(1001))
    }

    @Test func execWithSyncedWritesAndScansRunsOffTheLoop() throws {
        let t = try TestServer("multi-always") { $0.fsync = .always }
        let c = try t.client()
        try c.call("MULTI")
        try c.call("KEYS", "*")
        try c.call("SET", "a", "1")
        try c.call("INCR", "a")
        #expect(try c.call("EXEC") == .array([.array([]), .ok, .integer(2)]))
        try t.restart()
        #expect(try t.client().call("GET", "a") == .text("2"))
    }
}

/// A count several threads add to.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
