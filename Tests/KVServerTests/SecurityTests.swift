import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import KVClient
import KVStore
import KVTestSupport
import Testing

import KVCollections
@testable import KVServer

/// AUTH, protected mode, connection limits and idle timeouts.
@Suite struct SecurityTests {
    @Test func everyCommandButAuthHelloAndQuitNeedsThePassword() throws {
        let t = try TestServer("auth") { $0.requirePassword = "s3cret" }
        let c = try t.client()
        #expect(try c.call("PING") == .error("NOAUTH Authentication required."))
        #expect(try c.call("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try c.call("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try c.call("AUTH", "other", "s3cret").isError)
        #expect(try c.call("HELLO", "2").string?.hasPrefix("NOAUTH") == true)
        #expect(try c.call("AUTH", "s3cret") == .ok)
        #expect(try c.call("SET", "k", "v") == .ok)
        // HELLO can authenticate too; AUTH with the default user name works.
        let h = try t.client()
        #expect(try h.call("HELLO", "2", "AUTH", "default", "s3cret").elements.count == 14)
        #expect(try h.call("GET", "k") == .text("v"))
        let d = try t.client()
        #expect(try d.call("AUTH", "default", "s3cret") == .ok)
        // Before AUTH, requests are held to Redis's small unauthenticated limits.
        let u = try t.client()
        try u.send(raw: "*20\r\n")
        #expect(try u.readReply() == .error("ERR Protocol error: unauthenticated multibulk length"))
        #expect(u.isClosedByServer())
        // Commands after AUTH in the same write are held to the authenticated limits (what
        // redis-benchmark -a sends: AUTH, then MSETs of 21 arguments, at once).
        let p = try t.client()
        var burst = RESPConnection.encode([Array("AUTH".utf8), Array("s3cret".utf8)])
        let mset = [Array("MSET".utf8)] + (0..<10).flatMap { [Array("m\($0)".utf8), [UInt8](repeating: 120, count: 20_000)] }
        burst += RESPConnection.encode(mset) + RESPConnection.encode([Array("GET".utf8), Array("m9".utf8)])
        try p.send(raw: burst)
        #expect(try p.readReply() == .ok)
        #expect(try p.readReply() == .ok)
        #expect(try p.readReply() == .bulk([UInt8](repeating: 120, count: 20_000)))
        // QUIT works unauthenticated.
        let q = try t.client()
        #expect(try q.call("QUIT") == .ok)
    }

    @Test func authWithoutAConfiguredPasswordIsAnError() throws {
        let t = try TestServer("noauth")
        #expect(try t.client().call("AUTH", "x").string?.hasPrefix("ERR AUTH <password> called without any password configured") == true)
    }

    @Test func passwordComparisonLooksAtEveryByte() {
        let secret = Array("correct horse battery staple".utf8)
        #expect(ConnectionCommands.constantTimeEquals(secret, secret))
        #expect(!ConnectionCommands.constantTimeEquals(secret, Array("correct".utf8)))
        #expect(!ConnectionCommands.constantTimeEquals(secret, secret + [0]))
        var last = secret
        last[last.count - 1] ^= 1
        #expect(!ConnectionCommands.constantTimeEquals(secret, last))
        #expect(!ConnectionCommands.constantTimeEquals([], [0]))
    }

    @Test func protectedModeRefusesAnOpenBindWithoutAPassword() throws {
        var config = ServerConfig()
        config.bind = "0.0.0.0"
        config.port = 0
        #expect(throws: ServerConfigError.self) { try config.validate() }
        config.requirePassword = "pw"
        #expect(throws: Never.self) { try config.validate() }
        config.requirePassword = nil
        config.protectedMode = false
        #expect(throws: Never.self) { try config.validate() }
        let dir = TemporaryDirectory("protected")
        var refused = ServerConfig()
        refused.bind = "0.0.0.0"
        refused.port = 0
        refused.directory = dir.path
        do {
            let s = try KVServer.start(refused, logger: TestServer.quietLogger)
            s.shutdown()
            Issue.record("started on 0.0.0.0 without a password")
        } catch {
            #expect("\(error)".contains("protected mode"))
        }
    }

    @Test func maxclientsRejectsTheExtraConnectionWithRedisError() throws {
        let t = try TestServer("maxclients") { $0.maxClients = 2 }
        let a = try t.client()
        let b = try t.client()
        #expect(try a.call("PING") == .simple("PONG"))
        #expect(try b.call("PING") == .simple("PONG"))
        let c = try t.client()
        #expect(try c.readReply() == .error("ERR max number of clients reached"))
        #expect(c.isClosedByServer())
        // A slot frees when a client leaves.
        #expect(try b.call("QUIT") == .ok)
        #expect(b.isClosedByServer())
        var admitted = false
        for _ in 0..<50 where !admitted {
            if let d = try? t.client(), (try? d.call("PING")) == .simple("PONG") { admitted = true } else { usleep(20_000) }
        }
        #expect(admitted)
    }

    /// The idle timeout on a manual clock: the server's own pipeline (its idle handler in front
    /// of the connection handler) in an `EmbeddedChannel`, whose loop's time moves only when
    /// the test moves it, so the close is checked to the millisecond, not in a window.
    @Test func idleClientsAreClosedAfterTheTimeout() throws {
        let dir = TemporaryDirectory("idle")
        var config = ServerConfig()
        config.directory = dir.path
        var options = config.storeOptions
        Keyspace.install(in: &options)
        let store = try KVStore.open(at: dir.path, options: options)
        let server = try ServerContext(store: store, config: config)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer {
            try? pool.syncShutdownGracefully()
            try? store.close()
        }
        let loop = EmbeddedEventLoop()
        let handler = RESPConnectionHandler(
            server: server, pool: pool, logger: TestServer.quietLogger, connections: ConnectionSet(),
            coalescer: WriteCoalescer(eventLoop: loop, server: server, pool: pool), flusher: ReplyFlusher(eventLoop: loop))
        let channel = EmbeddedChannel(handlers: [IdleTimeoutHandler(timeout: .seconds(1)), handler], loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()

        loop.advanceTime(by: .milliseconds(600))
        try channel.writeInbound(ByteBuffer(string: "PING\r\n"))
        loop.run()  // replies are flushed at the end of the loop's turn
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "+PONG\r\n")
        #expect(channel.isActive)
        // The command reset the idle time: 1.5 s after connecting, 0.999 s after the PING.
        loop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)

        // And the real server has it in its pipeline: an idle client is closed (the close is
        // the event waited for; the 5 s only bounds a broken build).
        let t = try TestServer("idle-real") { $0.idleTimeoutSeconds = 1 }
        let c = try RESPConnection(port: t.port, timeoutSeconds: 5)
        #expect(try c.call("PING") == .simple("PONG"))
        #expect(c.isClosedByServer())
    }
}
