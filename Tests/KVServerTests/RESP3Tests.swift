import Foundation
import KVClient
import KVServer
import KVTestSupport
import Testing

/// HELLO 3 and the RESP3 reply types Redis 7 uses for each command.
@Suite struct RESP3Tests {
    /// The value of `key` in a RESP3 map reply.
    func field(_ map: RESPValue, _ key: String) -> RESPValue? {
        guard case .map(let flat) = map else { return nil }
        for i in stride(from: 0, to: flat.count - 1, by: 2) where flat[i] == .text(key) { return flat[i + 1] }
        return nil
    }

    @Test func helloSwitchesTheConnectionAndDescribesTheServer() throws {
        let t = try TestServer("hello3")
        let c = try t.client()
        let hello = try c.call("HELLO", "3", "SETNAME", "resp3-client")
        #expect(field(hello, "proto") == .integer(3))
        #expect(field(hello, "server") == .text("redis"))
        #expect(field(hello, "mode") == .text("standalone"))
        #expect(field(hello, "role") == .text("master"))
        #expect(field(hello, "modules") == .array([]))
        #expect(field(hello, "id").map { if case .integer = $0 { true } else { false } } == true)
        #expect(try c.call("CLIENT", "GETNAME") == .text("resp3-client"))
        // HELLO without a version describes the connection without changing it.
        #expect(field(try c.call("HELLO"), "proto") == .integer(3))
        // The nulls, the maps, the sets and the verbatim text.
        #expect(try c.call("GET", "missing") == .nullValue)
        try c.call("SET", "k", "v")
        #expect(try c.call("MGET", "k", "missing") == .array([.text("v"), .nullValue]))
        #expect(try c.call("SET", "k", "w", "NX") == .nullValue)
        #expect(try c.call("CONFIG", "GET", "maxclients") == .map([.text("maxclients"), .text("10000")]))
        guard case .verbatim(let format, let text) = try c.call("INFO", "server") else {
            Issue.record("INFO is not a verbatim string in RESP3")
            return
        }
        #expect(format == "txt" && String(decoding: text, as: UTF8.self).contains("# Server"))
        guard case .verbatim = try c.call("CLIENT", "INFO") else {
            Issue.record("CLIENT INFO is not a verbatim string in RESP3")
            return
        }
        #expect(try c.call("CLIENT", "INFO").string?.contains("resp=3") == true)
        let docs = try c.call("COMMAND", "DOCS", "get")
        guard case .map(let entries) = docs, entries.count == 2, case .map = entries[1] else {
            Issue.record("COMMAND DOCS is not a map of maps: \(docs)")
            return
        }
        let info = try c.call("COMMAND", "INFO", "get").elements.first?.elements ?? []
        #expect(info.count == 10)
        if info.count == 10 {
            #expect(info[2] == .set([.simple("readonly"), .simple("fast")]))
        }
        #expect(try c.call("COMMAND", "INFO", "nosuch") == .array([.nullValue]))
        try c.call("SET", "a", "ohmytext")
        try c.call("SET", "b", "mynewtext")
        #expect(try c.call("LCS", "a", "b", "IDX", "MINMATCHLEN", "4") == .map([
            .text("matches"), .array([.array([.array([.integer(4), .integer(7)]), .array([.integer(5), .integer(8)])])]),
            .text("len"), .integer(6),
        ]))
        // Back to RESP2.
        #expect(try c.call("HELLO", "2").elements.count == 14)
        #expect(try c.call("GET", "missing") == .null)
    }

    @Test func execAfterAChangedWatchIsTheRESP3Null() throws {
        let t = try TestServer("resp3-exec")
        let c = try t.client()
        try c.call("HELLO", "3")
        try c.call("WATCH", "k")
        try t.client().call("SET", "k", "x")
        try c.call("MULTI")
        try c.call("GET", "k")
        #expect(try c.call("EXEC") == .nullValue)
        try c.call("MULTI")
        try c.call("GET", "k")
        try c.call("GET", "nope")
        #expect(try c.call("EXEC") == .array([.text("x"), .nullValue]))
    }

    @Test func helloAuthenticatesAsAuthDoes() throws {
        let t = try TestServer("resp3-auth") { $0.requirePassword = "s3cret" }
        let c = try t.client()
        #expect(try c.call("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try c.call("HELLO", "3").string?.hasPrefix("NOAUTH HELLO must be called with the client already authenticated") == true)
        #expect(try c.call("HELLO", "3", "AUTH", "default", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        let hello = try c.call("HELLO", "3", "AUTH", "default", "s3cret")
        #expect(field(hello, "proto") == .integer(3))
        #expect(try c.call("GET", "k") == .nullValue)
        // RESET drops the authentication and the protocol.
        #expect(try c.call("RESET") == .simple("RESET"))
        #expect(try c.call("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try c.call("AUTH", "s3cret") == .ok)
        #expect(try c.call("GET", "k") == .null)
    }

    @Test func resetLeavesTransactionsAndWatches() throws {
        let t = try TestServer("reset")
        let c = try t.client()
        try c.call("HELLO", "3")
        try c.call("CLIENT", "SETNAME", "n")
        try c.call("WATCH", "k")
        try c.call("MULTI")
        try c.call("SET", "k", "queued")
        #expect(try c.call("RESET") == .simple("RESET"))
        #expect(try c.call("GET", "k") == .null)  // RESP2 again, and the SET never ran
        #expect(try c.call("CLIENT", "GETNAME") == .null)
        try t.client().call("SET", "k", "x")
        try c.call("MULTI")
        #expect(try c.call("EXEC") == .array([]))  // the watch is gone too
    }

    @Test func clientKillClosesTheNamedConnection() throws {
        let t = try TestServer("client-kill")
        let victim = try t.client()
        guard case .integer(let id) = try victim.call("CLIENT", "ID") else {
            Issue.record("CLIENT ID is not an integer")
            return
        }
        let c = try t.client()
        #expect(try c.call("CLIENT", "KILL", "ID", "999999") == .integer(0))
        #expect(try c.call("CLIENT", "KILL", "ID", String(id)) == .integer(1))
        #expect(try c.call("CLIENT", "KILL", "127.0.0.1:1") == .error("ERR No such client"))
        #expect(victim.isClosedByServer())
        #expect(try c.call("PING") == .simple("PONG"))
    }
}
