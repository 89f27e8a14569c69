import Foundation
import KVClient
import KVServer
import KVTestSupport
import Testing

/// Keyspace notifications (`notify-keyspace-events`) beyond what Redis's unit/pubsub checks:
/// the events of moves, renames and emptied collections, EXEC's events published only once it
/// commits, and "expired" when a deadline passes on its own (the server's clock, moved by hand).
@Suite struct KeyspaceEventTests {
    /// The next `n` messages a `PSUBSCRIBE __key*@0__:*` connection receives, as
    /// "event key" (keyevent channels) or "__keyspace@0__:key event".
    func events(_ c: RESPConnection, _ n: Int) throws -> [String] {
        try (0..<n).map { _ in
            let m = try c.readReply().elements
            let channel = m.count == 4 ? m[2].string ?? "" : ""
            return channel.replacingOccurrences(of: "__keyevent@0__:", with: "") + " " + (m.last?.string ?? "")
        }
    }

    func listen(_ t: TestServer, _ classes: String) throws -> RESPConnection {
        let admin = try t.client()
        #expect(try admin.call("CONFIG", "SET", "notify-keyspace-events", classes) == .simple("OK"))
        let c = try t.client()
        _ = try c.call("PSUBSCRIBE", "__key*@0__:*")
        return c
    }

    @Test func eachWriteNamesWhatItDid() throws {
        let t = try TestServer("keyspace-events")
        let sub = try listen(t, "AE")
        let c = try t.client()
        try c.call("RPUSH", "src", "a", "b")
        try c.call("LMOVE", "src", "dst", "LEFT", "RIGHT")
        try c.call("LMOVE", "src", "dst", "RIGHT", "LEFT")  // empties src
        try c.call("SREM", "nothing", "x")  // changes nothing: no event
        try c.call("RENAME", "dst", "moved")
        try c.call("INCR", "counter")
        try c.call("SET", "temp", "v", "PX", "60000")
        try c.call("HSET", "h", "f", "1")
        try c.call("HDEL", "h", "f")  // empties h
        #expect(try events(sub, 12) == [
            "rpush src", "lpop src", "rpush dst", "rpop src", "del src", "lpush dst", "rename_from dst", "rename_to moved",
            "incrby counter", "set temp", "expire temp", "hset h",
        ])
        #expect(try events(sub, 2) == ["hdel h", "del h"])
        // Options are read where they stand: a value spelled "EX" sets no expiry, a key named
        // LEFT does not choose LMPOP's side.
        try c.call("SET", "odd", "EX")
        try c.call("ZADD", "z", "INCR", "1", "INCR")
        try c.call("RPUSH", "LEFT", "a", "b")
        try c.call("LMPOP", "1", "LEFT", "RIGHT")
        #expect(try events(sub, 4) == ["set odd", "zincr z", "rpush LEFT", "rpop LEFT"])
        #expect(try c.call("CONFIG", "GET", "notify-keyspace-events") == .array([.text("notify-keyspace-events"), .text("AE")]))
    }

    @Test func execPublishesOnlyWhatItCommitted() throws {
        let t = try TestServer("keyspace-events-exec")
        let sub = try listen(t, "KEA")
        let c = try t.client()
        // A transaction whose watched key changed runs nothing and publishes nothing.
        try c.call("WATCH", "w")
        try t.client().call("SET", "w", "changed")
        try c.call("MULTI")
        try c.call("SET", "a", "1")
        _ = try c.call("EXEC")
        #expect(try events(sub, 2) == ["__keyspace@0__:w set", "set w"])
        try c.call("MULTI")
        try c.call("SADD", "s", "x")
        try c.call("SADD", "s", "x")  // already there: no event
        try c.call("SPOP", "s")
        _ = try c.call("EXEC")
        // Nothing of the aborted transaction came first.
        #expect(try events(sub, 6) == ["__keyspace@0__:s sadd", "sadd s", "__keyspace@0__:s spop", "spop s", "__keyspace@0__:s del", "del s"])
    }

    @Test func aDeadlinePassingPublishesExpired() throws {
        let t = try TestServer("keyspace-events-expired")
        let sub = try listen(t, "Egx")
        let c = try t.client()
        try c.call("SET", "short", "v", "PX", "500")
        try c.call("SET", "renewed", "v", "PX", "500")
        try c.call("SET", "deleted", "v", "PX", "500")
        try c.call("PEXPIRE", "renewed", "60000")
        try c.call("DEL", "deleted")
        #expect(try events(sub, 4) == ["expire short", "expire renewed", "expire deleted", "expire renewed"])
        #expect(try events(sub, 1) == ["del deleted"])
        t.clock.advance(by: 1_000)
        // Only the key that expired on its own: renewed has a later deadline, deleted is gone.
        #expect(try events(sub, 1) == ["expired short"])
        t.clock.advance(by: 60_000)
        #expect(try events(sub, 1) == ["expired renewed"])
        // Counted once the watch's pass ends, a moment after it published (bounded wait).
        var counted = false
        for _ in 0..<200 where !counted {
            counted = try c.call("INFO", "stats").string?.contains("expired_events:2") == true
            if !counted { usleep(10_000) }
        }
        #expect(counted)
    }
}
