import Foundation
import KVClient
import KVServer
import KVTestSupport
import Testing

/// Pub/Sub over real sockets: delivery in both protocols, the subscribed connection's rules,
/// RESET and disconnection leaving no subscription behind, and the output-buffer limit that
/// closes a subscriber who does not read instead of holding its messages without bound.
@Suite struct PubSubTests {
    @Test func messagesReachSubscribersAsArraysOrPushes() throws {
        let t = try TestServer("pubsub-deliver")
        let resp2 = try t.client()
        let resp3 = try t.client()
        let publisher = try t.client()
        _ = try resp3.call("HELLO", "3")
        #expect(try resp2.call("SUBSCRIBE", "news", "sport") == .array([.text("subscribe"), .text("news"), .integer(1)]))
        #expect(try resp2.readReply() == .array([.text("subscribe"), .text("sport"), .integer(2)]))
        #expect(try resp3.call("PSUBSCRIBE", "n*") == .push([.text("psubscribe"), .text("n*"), .integer(1)]))
        #expect(try publisher.call("PUBLISH", "news", "hello") == .integer(2))
        #expect(try resp2.readReply() == .array([.text("message"), .text("news"), .text("hello")]))
        #expect(try resp3.readReply() == .push([.text("pmessage"), .text("n*"), .text("news"), .text("hello")]))
        // Many messages arrive whole and in order.
        for i in 0..<500 { _ = try publisher.call("PUBLISH", "sport", "goal \(i)") }
        for i in 0..<500 { #expect(try resp2.readReply() == .array([.text("message"), .text("sport"), .text("goal \(i)")])) }
        #expect(try publisher.call("PUBSUB", "NUMSUB", "news", "none") == .array([.text("news"), .integer(1), .text("none"), .integer(0)]))
        #expect(try publisher.call("PUBSUB", "NUMPAT") == .integer(1))
        // Shard channels are their own namespace.
        #expect(try resp3.call("SSUBSCRIBE", "orders") == .push([.text("ssubscribe"), .text("orders"), .integer(1)]))
        #expect(try publisher.call("PUBLISH", "orders", "x") == .integer(0))
        #expect(try publisher.call("SPUBLISH", "orders", "y") == .integer(1))
        #expect(try resp3.readReply() == .push([.text("smessage"), .text("orders"), .text("y")]))
    }

    @Test func aSubscribedResp2ConnectionRunsOnlyItsCommandsAndResetLeaves() throws {
        let t = try TestServer("pubsub-context")
        let c = try t.client()
        let publisher = try t.client()
        _ = try c.call("SUBSCRIBE", "a")
        let refused = try c.call("GET", "k")
        #expect(refused.string?.hasPrefix("ERR Can't execute 'get': only (P|S)SUBSCRIBE") == true)
        #expect(try c.call("PING") == .array([.text("pong"), .text("")]))
        #expect(try publisher.call("CLIENT", "LIST", "TYPE", "pubsub").string?.contains("sub=1") == true)
        #expect(try c.call("RESET") == .simple("RESET"))
        #expect(try publisher.call("PUBLISH", "a", "m") == .integer(0))
        #expect(try c.call("SET", "k", "v") == .simple("OK"))
        // A closed subscriber is forgotten.
        let gone = try t.client()
        _ = try gone.call("SUBSCRIBE", "a")
        #expect(try publisher.call("PUBLISH", "a", "m") == .integer(1))
        gone.shutdownWrite()
        var left = false
        for _ in 0..<200 where !left {
            left = try publisher.call("PUBSUB", "NUMSUB", "a") == .array([.text("a"), .integer(0)])
            if !left { usleep(10_000) }
        }
        #expect(left)
    }

    @Test func aSubscriberThatDoesNotReadIsClosedAtTheLimit() throws {
        let t = try TestServer("pubsub-limit")
        let slow = try t.client()
        let publisher = try t.client()
        #expect(try publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 256kb 60") == .simple("OK"))
        #expect(try publisher.call("CONFIG", "GET", "client-output-buffer-limit").elements.last?.string?.contains("pubsub 1048576 262144 60") == true)
        _ = try slow.call("SUBSCRIBE", "firehose")
        // 32 MB of messages to a client that reads none: far past what the socket buffers hold.
        let payload = String(repeating: "x", count: 64 << 10)
        var received: [Int] = []
        for _ in 0..<512 {
            guard case .integer(let n) = try publisher.call("PUBLISH", "firehose", payload) else { break }
            received.append(n)
            if n == 0 { break }
        }
        #expect(received.first == 1)
        #expect(received.last == 0, "the subscriber was never closed")
        var stats = ""
        for _ in 0..<200 {
            stats = try publisher.call("INFO", "stats").string ?? ""
            if stats.contains("pubsub_channels:0") { break }
            usleep(10_000)
        }
        #expect(stats.contains("client_output_buffer_limit_disconnections:1"))
        #expect(stats.contains("pubsub_channels:0"), "the closed subscriber is still registered")
    }

    /// The soft limit tolerates a burst for its seconds (on the server's clock, moved here by
    /// hand), then closes a subscriber still over it.
    @Test func theSoftLimitClosesOnlyAfterItsSeconds() throws {
        let t = try TestServer("pubsub-soft-limit")
        let slow = try t.client()
        let publisher = try t.client()
        #expect(try publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 256kb 5") == .simple("OK"))
        _ = try slow.call("SUBSCRIBE", "burst")
        let payload = String(repeating: "y", count: 64 << 10)
        for _ in 0..<256 { #expect(try publisher.call("PUBLISH", "burst", payload) == .integer(1)) }
        t.clock.advance(by: 4_000)
        #expect(try publisher.call("PUBLISH", "burst", payload) == .integer(1), "closed before the soft limit's seconds")
        t.clock.advance(by: 2_000)
        #expect(try publisher.call("PUBLISH", "burst", payload) == .integer(0), "still open past the soft limit's seconds")
    }

    @Test func clientReplyOffKeepsPushesAndDropsReplies() throws {
        let t = try TestServer("client-reply")
        let c = try t.client()
        try c.send(raw: "CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nSUBSCRIBE ch\r\n")
        #expect(try c.readReply() == .array([.text("subscribe"), .text("ch"), .integer(1)]))
        let d = try t.client()
        try d.send(raw: "CLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\n")
        #expect(try d.readReply() == .text("2"))
        try d.send(raw: "CLIENT REPLY OFF\r\nGET b\r\nCLIENT REPLY ON\r\n")
        #expect(try d.readReply() == .simple("OK"))
    }
}
