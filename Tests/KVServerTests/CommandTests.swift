import Foundation
import KVClient
import KVServer
import KVTestSupport
import Testing

/// Every command over a real socket, against Redis's documented replies.
@Suite struct CommandTests {
    @Test func stringCommands() throws {
        let t = try TestServer("strings")
        let c = try t.client()
        #expect(try c.call("SET", "k", "v") == .ok)
        #expect(try c.call("GET", "k") == .text("v"))
        #expect(try c.call("GET", "missing") == .null)
        #expect(try c.call("SET", "k", "w", "NX") == .null)
        #expect(try c.call("SET", "k", "w", "XX", "GET") == .text("v"))
        #expect(try c.call("SET", "new", "x", "XX") == .null)
        #expect(try c.call("SET", "k", "v", "NX", "XX").isError)
        #expect(try c.call("SET", "k", "v", "EX", "0") == .error("ERR invalid expire time in 'set' command"))
        #expect(try c.call("SET", "k", "v", "EX", "abc") == .error("ERR value is not an integer or out of range"))
        #expect(try c.call("SET", "k", "v", "BOGUS") == .error("ERR syntax error"))
        #expect(try c.call("SETNX", "k", "z") == .integer(0))
        #expect(try c.call("SETNX", "fresh", "z") == .integer(1))
        #expect(try c.call("GETSET", "fresh", "y") == .text("z"))
        #expect(try c.call("GETDEL", "fresh") == .text("y"))
        #expect(try c.call("GETDEL", "fresh") == .null)
        #expect(try c.call("MSET", "a", "1", "b", "2", "c", "3") == .ok)
        #expect(try c.call("MSET", "a", "1", "b") == .error("ERR wrong number of arguments for 'mset' command"))
        #expect(try c.call("MGET", "a", "nope", "c") == .array([.text("1"), .null, .text("3")]))
        #expect(try c.call("MSETNX", "a", "9", "zz", "9") == .integer(0))
        #expect(try c.call("GET", "zz") == .null)
        #expect(try c.call("MSETNX", "y1", "1", "y2", "2") == .integer(1))
        #expect(try c.call("INCR", "counter") == .integer(1))
        #expect(try c.call("INCRBY", "counter", "41") == .integer(42))
        #expect(try c.call("DECR", "counter") == .integer(41))
        #expect(try c.call("DECRBY", "counter", "-9") == .integer(50))
        #expect(try c.call("INCR", "k") == .error("ERR value is not an integer or out of range"))
        #expect(try c.call("SET", "big", "9223372036854775807") == .ok)
        #expect(try c.call("INCR", "big") == .error("ERR increment or decrement would overflow"))
        #expect(try c.call("SET", "f", "10.50") == .ok)
        #expect(try c.call("INCRBYFLOAT", "f", "0.1") == .text("10.6"))
        #expect(try c.call("INCRBYFLOAT", "f", "-5.6") == .text("5"))
        #expect(try c.call("INCRBYFLOAT", "f", "5.0e3") == .text("5005"))
        #expect(try c.call("INCRBYFLOAT", "f", "x") == .error("ERR value is not a valid float"))
        #expect(try c.call("APPEND", "s", "Hello") == .integer(5))
        #expect(try c.call("APPEND", "s", " World") == .integer(11))
        #expect(try c.call("STRLEN", "s") == .integer(11))
        #expect(try c.call("STRLEN", "nothing") == .integer(0))
        #expect(try c.call("GETRANGE", "s", "0", "3") == .text("Hell"))
        #expect(try c.call("GETRANGE", "s", "-3", "-1") == .text("rld"))
        #expect(try c.call("GETRANGE", "s", "0", "-1") == .text("Hello World"))
        #expect(try c.call("GETRANGE", "s", "10", "100") == .text("d"))
        #expect(try c.call("GETRANGE", "s", "5", "3") == .text(""))
        #expect(try c.call("SETRANGE", "s", "6", "Redis") == .integer(11))
        #expect(try c.call("GET", "s") == .text("Hello Redis"))
        #expect(try c.call("SETRANGE", "pad", "3", "x") == .integer(4))
        #expect(try c.call("GET", "pad") == .bulk([0, 0, 0, UInt8(ascii: "x")]))
        #expect(try c.call("SETRANGE", "s", "-1", "x") == .error("ERR offset is out of range"))
        // Binary-safe keys and values.
        let key: [UInt8] = [0, 255, 13, 10, 32]
        let value: [UInt8] = Array(0...255)
        #expect(try c.call([Array("SET".utf8), key, value]) == .ok)
        #expect(try c.call([Array("GET".utf8), key]) == .bulk(value))
    }

    @Test func keyCommands() throws {
        let t = try TestServer("keys")
        let c = try t.client()
        try c.call("MSET", "a", "1", "b", "2", "c", "3")
        #expect(try c.call("EXISTS", "a", "b", "nope", "a") == .integer(3))
        #expect(try c.call("DEL", "a", "nope", "a") == .integer(1))
        #expect(try c.call("UNLINK", "b") == .integer(1))
        #expect(try c.call("TYPE", "c") == .simple("string"))
        #expect(try c.call("TYPE", "a") == .simple("none"))
        #expect(try c.call("RENAME", "c", "d") == .ok)
        #expect(try c.call("GET", "d") == .text("3"))
        #expect(try c.call("GET", "c") == .null)
        #expect(try c.call("RENAME", "nope", "x") == .error("ERR no such key"))
        #expect(try c.call("DBSIZE") == .integer(1))
        #expect(try c.call("RANDOMKEY") == .text("d"))
        #expect(try c.call("FLUSHDB") == .ok)
        #expect(try c.call("DBSIZE") == .integer(0))
        #expect(try c.call("RANDOMKEY") == .null)
        try c.call("SET", "x", "1")
        #expect(try c.call("FLUSHALL", "ASYNC") == .ok)
        #expect(try c.call("GET", "x") == .null)
        #expect(try c.call("SELECT", "0") == .ok)
        #expect(try c.call("SELECT", "1") == .error("ERR DB index is out of range"))
    }

    @Test func expiryFollowsTheServersClockWithoutSleeping() throws {
        let t = try TestServer("expiry")
        let c = try t.client()
        #expect(try c.call("SET", "s", "v", "EX", "10") == .ok)
        #expect(try c.call("TTL", "s") == .integer(10))
        #expect(try c.call("PTTL", "s") == .integer(10_000))
        #expect(try c.call("TTL", "nokey") == .integer(-2))
        try c.call("SET", "forever", "v")
        #expect(try c.call("TTL", "forever") == .integer(-1))
        t.clock.advance(by: 9_999)
        #expect(try c.call("GET", "s") == .text("v"))
        t.clock.advance(by: 1)
        #expect(try c.call("GET", "s") == .null)
        #expect(try c.call("EXISTS", "s") == .integer(0))
        #expect(try c.call("TTL", "s") == .integer(-2))

        // EXPIRE family, options, PERSIST, and commands that keep or clear a TTL.
        #expect(try c.call("EXPIRE", "forever", "100") == .integer(1))
        #expect(try c.call("EXPIRE", "forever", "50", "GT") == .integer(0))
        #expect(try c.call("EXPIRE", "forever", "50", "LT") == .integer(1))
        #expect(try c.call("TTL", "forever") == .integer(50))
        #expect(try c.call("EXPIRE", "forever", "70", "NX") == .integer(0))
        #expect(try c.call("EXPIRE", "forever", "70", "XX") == .integer(1))
        #expect(try c.call("EXPIRE", "forever", "1", "NX", "XX").isError)
        #expect(try c.call("PEXPIRE", "forever", "1500") == .integer(1))
        #expect(try c.call("PTTL", "forever") == .integer(1500))
        let now = t.clock.now
        #expect(try c.call("EXPIREAT", "forever", String(now / 1000 + 30)) == .integer(1))
        #expect(try c.call("PEXPIREAT", "forever", String(now + 20_000)) == .integer(1))
        #expect(try c.call("PTTL", "forever") == .integer(20_000))
        #expect(try c.call("INCR", "forever").isError)
        try c.call("SET", "n", "1", "PX", "5000")
        #expect(try c.call("INCR", "n") == .integer(2))
        #expect(try c.call("PTTL", "n") == .integer(5000))  // INCR keeps the TTL
        #expect(try c.call("APPEND", "n", "0") == .integer(2))
        #expect(try c.call("PTTL", "n") == .integer(5000))
        #expect(try c.call("SET", "n", "7", "KEEPTTL") == .ok)
        #expect(try c.call("PTTL", "n") == .integer(5000))
        #expect(try c.call("SET", "n", "8") == .ok)
        #expect(try c.call("TTL", "n") == .integer(-1))  // plain SET clears it
        #expect(try c.call("PERSIST", "forever") == .integer(1))
        #expect(try c.call("PERSIST", "forever") == .integer(0))
        #expect(try c.call("TTL", "forever") == .integer(-1))
        #expect(try c.call("SETEX", "e", "5", "v") == .ok)
        #expect(try c.call("PSETEX", "pe", "2500", "v") == .ok)
        #expect(try c.call("PTTL", "pe") == .integer(2500))
        #expect(try c.call("SETEX", "e", "0", "v") == .error("ERR invalid expire time in 'setex' command"))
        #expect(try c.call("GETEX", "e", "PX", "1234") == .text("v"))
        #expect(try c.call("PTTL", "e") == .integer(1234))
        #expect(try c.call("GETEX", "e", "PERSIST") == .text("v"))
        #expect(try c.call("TTL", "e") == .integer(-1))
        #expect(try c.call("SET", "at", "v", "PXAT", String(t.clock.now + 700)) == .ok)
        #expect(try c.call("PTTL", "at") == .integer(700))
        #expect(try c.call("SET", "gone", "v", "EXAT", String(t.clock.now / 1000 - 10)) == .ok)
        #expect(try c.call("GET", "gone") == .null)  // an expiry in the past deletes
        #expect(try c.call("EXPIRE", "at", "-1") == .integer(1))
        #expect(try c.call("GET", "at") == .null)
        // Expired keys are invisible to scans and counts too.
        try c.call("SET", "soon", "v", "PX", "100")
        let before = try c.call("KEYS", "*").elements.count
        t.clock.advance(by: 100)
        #expect(try c.call("KEYS", "*").elements.count == before - 1)
        #expect(try c.call("RANGE", "soon", "soon\u{0}") == .array([]))
    }

    @Test func ttlSurvivesARestart() throws {
        let t = try TestServer("ttl-restart")
        try t.client().call("SET", "k", "v", "EX", "100")
        try t.restart()
        let c = try t.client()
        #expect(try c.call("TTL", "k") == .integer(100))
        t.clock.advance(by: 100_000)
        #expect(try c.call("GET", "k") == .null)
    }

    @Test func orderedRangesScanAndKeys() throws {
        let t = try TestServer("ranges")
        let c = try t.client()
        for i in 0..<50 { try c.call("SET", String(format: "user:%03d", i), "v\(i)") }
        try c.call("SET", "other", "o")
        #expect(try c.call("RANGE", "user:010", "user:013") == .array([
            .text("user:010"), .text("v10"), .text("user:011"), .text("v11"), .text("user:012"), .text("v12"),
        ]))
        #expect(try c.call("RANGE", "user:010", "user:020", "LIMIT", "2", "REV") == .array([
            .text("user:019"), .text("v19"), .text("user:018"), .text("v18"),
        ]))
        #expect(try c.call("RANGE", "user:048", "", "KEYSONLY") == .array([.text("user:048"), .text("user:049")]))
        #expect(try c.call("RANGE", "", "", "LIMIT", "1") == .array([.text("other"), .text("o")]))
        #expect(try c.call("DELRANGE", "user:010", "user:040") == .ok)
        #expect(try c.call("DBSIZE") == .integer(21))
        #expect(try c.call("GET", "user:039") == .null)
        #expect(try c.call("GET", "user:040") == .text("v40"))
        #expect(try c.call("DELRANGE", "z", "a").isError)

        // SCAN resumes by key: every key exactly once, in order, whatever the COUNT.
        var cursor = "0"
        var seen: [String] = []
        repeat {
            let r = try c.call("SCAN", cursor, "COUNT", "4").elements
            cursor = r[0].string ?? "0"
            seen += r[1].elements.compactMap(\.string)
        } while cursor != "0"
        let all = try c.call("KEYS", "*").elements.compactMap(\.string)
        #expect(seen == all)
        #expect(all.count == 21 && all == all.sorted())
        // MATCH with a prefix seeks; with a non-prefix glob it filters.
        let prefixed = try c.call("SCAN", "0", "MATCH", "user:04*", "COUNT", "100").elements
        #expect(prefixed[0] == .text("0"))
        #expect(prefixed[1].elements.compactMap(\.string) == (40..<50).map { String(format: "user:%03d", $0) })
        #expect(try c.call("KEYS", "*th*") == .array([.text("other")]))
        #expect(try c.call("KEYS", "user:00[1-3]").elements.count == 3)
        #expect(try c.call("KEYS", "user:0?5") == .array([.text("user:005"), .text("user:045")]))
        var hashes: [String] = []  // no hashes here: every page of the walk is empty
        cursor = "0"
        repeat {
            let r = try c.call("SCAN", cursor, "TYPE", "hash").elements
            cursor = r[0].string ?? "0"
            hashes += r[1].elements.compactMap(\.string)
        } while cursor != "0"
        #expect(hashes.isEmpty)
        #expect(try c.call("HSET", "user:h", "f", "v") == .integer(1))
        #expect(try c.call("SCAN", "0", "TYPE", "hash", "MATCH", "user:h*") == .array([.text("0"), .array([.text("user:h")])]))
        #expect(try c.call("SCAN", "12345") .isError)  // an unknown cursor is refused
        #expect(try c.call("SCAN", "abc") == .error("ERR invalid cursor"))
    }

    @Test func connectionAndServerCommands() throws {
        let t = try TestServer("server-cmds")
        let c = try t.client()
        #expect(try c.call("PING") == .simple("PONG"))
        #expect(try c.call("PING", "hi") == .text("hi"))
        #expect(try c.call("ECHO", "hello") == .text("hello"))
        #expect(try c.call("CLIENT", "SETNAME", "tester") == .ok)
        #expect(try c.call("CLIENT", "GETNAME") == .text("tester"))
        #expect(try c.call("CLIENT", "SETNAME", "has space").isError)
        guard case .integer(let id) = try c.call("CLIENT", "ID") else {
            Issue.record("CLIENT ID is not an integer")
            return
        }
        #expect(try c.call("CLIENT", "SETINFO", "LIB-NAME", "swift-test") == .ok)
        let list = try c.call("CLIENT", "LIST").string ?? ""
        #expect(list.contains("id=\(id) ") && list.contains("name=tester") && list.contains("lib-name=swift-test"))
        #expect(try c.call("CLIENT", "BOGUS").isError)
        let hello = try c.call("HELLO", "2").elements
        #expect(hello.count == 14 && hello[4] == .text("proto") && hello[5] == .integer(2))
        #expect(try c.call("HELLO", "4") == .error("NOPROTO unsupported protocol version"))
        #expect(try c.call("HELLO", "1") == .error("NOPROTO unsupported protocol version"))
        guard case .integer(let count) = try c.call("COMMAND", "COUNT") else {
            Issue.record("COMMAND COUNT is not an integer")
            return
        }
        #expect(count >= 55)
        #expect(try c.call("COMMAND").elements.count == count)
        let info = try c.call("COMMAND", "INFO", "get", "nosuch").elements
        #expect(info.count == 2 && info[1] == .null)  // Redis: a null bulk for an unknown name
        #expect(info[0].elements.prefix(2) == [.text("get"), .integer(2)])
        let docs = try c.call("COMMAND", "DOCS", "set").elements
        #expect(docs.first == .text("set") && docs.count == 2)
        #expect(try c.call("CONFIG", "GET", "save") == .array([.text("save"), .text("")]))
        #expect(try c.call("CONFIG", "GET", "append*").elements.count == 4)
        #expect(try c.call("CONFIG", "SET", "port", "1").isError)
        try c.call("SET", "k", "v")
        let infoText = try c.call("INFO").string ?? ""
        for section in ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace", "# Engine"] {
            #expect(infoText.contains(section), "INFO lacks \(section)")
        }
        #expect(infoText.contains("db0:keys=1"))
        #expect(try c.call("INFO", "keyspace").string?.contains("# Server") == false)
        #expect(try c.call("TIME").elements.count == 2)
        #expect(try c.call("SAVE") == .ok)
        #expect(try c.call("BGSAVE") == .simple("Background saving started"))
        #expect(try c.call("LASTSAVE") == .integer(Int(t.clock.now / 1000)))
        #expect(try c.call("NOSUCHCOMMAND", "a") == .error("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' "))
        #expect(try c.call("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(try c.call("get", "k") == .text("v"))  // names are case-insensitive
        #expect(try c.call("QUIT") == .ok)
        #expect(c.isClosedByServer())
    }
}
