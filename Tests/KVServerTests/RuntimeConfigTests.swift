import Foundation
import KVClient
import KVStore
import KVTestSupport
import Testing

@testable import KVServer

/// CONFIG SET / REWRITE, SLOWLOG, CLIENT LIST figures, SAVE / BGSAVE checkpoints, and the
/// /metrics endpoint (the Python suite parses its text with prometheus-client).
@Suite struct RuntimeConfigTests {
    func field(_ info: RESPValue, _ name: String) -> String? {
        (info.string ?? "").split(separator: "\r\n").first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
    }

    @Test func configSetChangesLiveSettingsAllOrNothing() throws {
        let t = try TestServer("config-set")
        let c = try t.client()
        #expect(try c.call("CONFIG", "SET", "maxclients", "3", "timeout", "0", "appendfsync", "always", "block-cache-size", "1mb",
                            "row-cache-size", "2mb") == .ok)
        #expect(try c.call("CONFIG", "GET", "maxclients") == .array([.text("maxclients"), .text("3")]))
        #expect(try c.call("CONFIG", "GET", "appendfsync") == .array([.text("appendfsync"), .text("always")]))
        #expect(t.server.store.liveOptions.blockCacheCapacity == 1 << 20)
        #expect(t.server.store.liveOptions.rowCacheCapacity == 2 << 20)
        #expect(try c.call("CONFIG", "GET", "row-cache-size") == .array([.text("row-cache-size"), .text(String(2 << 20))]))
        #expect(try c.call("CONFIG", "GET", "compression") == .array([.text("compression"), .text("lz4")]))
        // One bad value: nothing applied.
        let reply = try c.call("CONFIG", "SET", "maxclients", "50", "level0-stop-trigger", "1")
        #expect(reply.string?.hasPrefix("ERR CONFIG SET failed (possibly related to argument") == true)
        #expect(try c.call("CONFIG", "GET", "maxclients") == .array([.text("maxclients"), .text("3")]))
        #expect(try c.call("CONFIG", "SET", "port", "1").string == "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config")
        #expect(try c.call("CONFIG", "SET", "nosuch", "1").string == "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
        #expect(try c.call("CONFIG", "SET", "maxclients", "x").string?.contains("couldn't be parsed into an integer") == true)
        // maxclients 3: this client and two more; the fourth is refused.
        let others = try (0..<2).map { _ in try t.client() }
        for o in others { #expect(try o.call("PING") == .simple("PONG")) }
        let fourth = try t.client()
        #expect(try fourth.call("PING").string == "ERR max number of clients reached")
        // A password set live binds new connections.
        #expect(try c.call("CONFIG", "SET", "maxclients", "100", "requirepass", "s3cret") == .ok)
        let fresh = try t.client()
        #expect(try fresh.call("GET", "k").string?.hasPrefix("NOAUTH") == true)
        #expect(try fresh.call("AUTH", "s3cret") == .ok)
        #expect(try c.call("SET", "still", "works") == .ok, "an authenticated connection stays so")
        // Writes under `always` are synced: the WAL sync count moves with each SET.
        let before = t.server.store.statistics().walSyncs
        for i in 0..<3 { #expect(try fresh.call("SET", "k\(i)", "v") == .ok) }
        #expect(t.server.store.statistics().walSyncs >= before + 3)
    }

    @Test func configRewriteKeepsTheFileAndUpdatesSettings() throws {
        let dir = TemporaryDirectory("config-rewrite")
        let path = dir.path + "/kvserver.conf"
        try "# my settings\nport 0\nmaxclients 100\nmaxclients 200\nappendfsync everysec\n".write(toFile: path, atomically: true, encoding: .utf8)
        let t = try TestServer("config-rewrite") { $0.configFile = path }
        let c = try t.client()
        #expect(try c.call("CONFIG", "SET", "maxclients", "42", "slowlog-max-len", "7", "requirepass", "a b\"c") == .ok)
        #expect(try c.call("CONFIG", "REWRITE") == .ok)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("# my settings\nport 0\nmaxclients 42\nappendfsync everysec\n"), "\(text)")
        var reread = ServerConfig()
        _ = try ConfigFile.apply(contents: text, path: path, to: &reread)
        #expect(reread.maxClients == 42 && reread.slowlogMaxLength == 7 && reread.requirePassword == "a b\"c")
        let none = try TestServer("config-rewrite-none")
        #expect(try none.client().call("CONFIG", "REWRITE").string == "ERR The server is running without a config file")
    }

    @Test func slowlogRecordsSlowCommandsNewestFirst() throws {
        let t = try TestServer("slowlog") { $0.slowlogSlowerThanMicros = 0 }
        let c = try t.client()
        #expect(try c.call("SLOWLOG", "RESET") == .ok)
        #expect(try c.call("CLIENT", "SETNAME", "tester") == .ok)
        #expect(try c.call("INCR", "counter") == .integer(1))
        #expect(try c.call("AUTH", "nopassword").string?.hasPrefix("ERR") == true)
        let long = String(repeating: "x", count: 300)
        #expect(try c.call("GET", long) == .null)
        let entries = try c.call("SLOWLOG", "GET", "-1").elements
        // RESET, SETNAME, INCR, GET (AUTH is never logged; the GET below runs after).
        #expect(entries.count == 4)
        let newest = entries[0].elements
        #expect(newest.count == 6)
        #expect(newest[3].elements.map { $0.string ?? "" } == ["GET", String(repeating: "x", count: 128) + "... (172 more bytes)"])
        #expect(newest[5] == .text("tester"))
        #expect(entries[1].elements[3].elements.map { $0.string ?? "" } == ["INCR", "counter"])
        if case .integer(let a) = entries[0].elements[0], case .integer(let b) = entries[1].elements[0] { #expect(a == b + 1) }
        #expect(try c.call("CONFIG", "SET", "slowlog-max-len", "2") == .ok)
        #expect(try c.call("SLOWLOG", "LEN") == .integer(2))
        #expect(try c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1") == .ok)
        #expect(try c.call("SLOWLOG", "RESET") == .ok)
        #expect(try c.call("PING") == .simple("PONG"))
        #expect(try c.call("SLOWLOG", "LEN") == .integer(0))
    }

    @Test func clientListCountsEachConnectionsTraffic() throws {
        let t = try TestServer("client-list")
        let c = try t.client()
        for i in 0..<5 { #expect(try c.call("SET", "k\(i)", "v") == .ok) }
        let other = try t.client()
        let list = try other.call("CLIENT", "LIST").string ?? ""
        let mine = try #require(list.split(separator: "\n").first { $0.contains("cmd=set") })
        #expect(mine.contains(" tot-cmds=5"), "\(mine)")
        let netIn = Int(mine.split(separator: " ").first { $0.hasPrefix("tot-net-in=") }?.dropFirst(11) ?? "") ?? 0
        #expect(netIn == 5 * "*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$1\r\nv\r\n".utf8.count)
        #expect(mine.contains(" tot-net-out=\(5 * 5) "), "five +OK replies")
    }

    @Test func saveAndBgsaveMakeCheckpointsThatOpen() throws {
        let t = try TestServer("checkpoints")
        let c = try t.client()
        for i in 0..<300 { #expect(try c.call("SET", "k\(i)", "v\(i)") == .ok) }
        #expect(try c.call("SAVE") == .ok)
        let first = try #require(field(try c.call("INFO", "persistence"), "last_checkpoint_path"))
        for i in 300..<400 { #expect(try c.call("SET", "k\(i)", "v\(i)") == .ok) }
        #expect(try c.call("BGSAVE") == .simple("Background saving started"))
        var info = try c.call("INFO", "persistence")
        for _ in 0..<500 where field(info, "rdb_saves") != "2" {
            usleep(10_000)
            info = try c.call("INFO", "persistence")
        }
        #expect(field(info, "rdb_saves") == "2" && field(info, "rdb_last_bgsave_status") == "ok")
        let second = try #require(field(info, "last_checkpoint_path"))
        #expect(first != second && first.hasPrefix(t.config.checkpointRoot.hasPrefix("/") ? t.config.checkpointRoot : "/"))
        for (path, keys) in [(first, 300), (second, 400)] {
            let store = try KVStore.open(at: path)
            #expect(try store.count() == keys + 1, "the keys and the keyspace's format record")
            #expect(try store.get(bytes("k\(keys - 1)")) == bytes("v\(keys - 1)"))
            try store.close()
        }
    }

    /// The endpoint answers a real HTTP request; the figures move with the commands run.
    @Test func metricsEndpointServesPrometheusText() throws {
        let t = try TestServer("metrics") { $0.metricsPort = 0 }
        let port = try #require(t.server.metricsPort)
        let c = try t.client()
        for i in 0..<50 { #expect(try c.call("SET", "k\(i)", "v") == .ok) }
        for i in 0..<20 { #expect(try c.call("GET", "k\(i)") == .text("v")) }
        let (status, body) = try httpGet(port: port, path: "/metrics")
        #expect(status == 200)
        #expect(body.contains("kvserver_command_duration_seconds_count{command=\"get\"} 20"), "\(body.prefix(2000))")
        #expect(body.contains("kvserver_commands_total{command=\"set\"} 50"))
        #expect(body.contains("kvstore_level_files{level=\"0\"}"))
        #expect(body.contains("process_resident_memory_bytes"))
        #expect(try httpGet(port: port, path: "/other").status == 404)
    }

    /// A minimal HTTP/1.1 GET over a socket (no client library in the test target).
    func httpGet(port: Int, path: String) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(connected == 0)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        #expect(request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == request.count)
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }
}
