import Foundation
import KVClient
@testable import KVServer
import KVStore
import KVTestSupport
import NIOCore
import Testing

/// Replication between two in-process servers over loopback: a replica holds exactly the
/// primary's data (compared engine key by engine key, expiries and tags included) after a full
/// synchronisation and while the stream flows; a short disconnection resumes from the backlog,
/// a long one synchronises in full; a promoted replica continues the history and a diverged old
/// primary is brought back by a full synchronisation; a damaged frame is refused and asked for
/// again.
@Suite(.serialized) struct ReplicationTests {
    /// Writes of every type, an expiry, a transaction, deletions.
    static func writeMix(_ c: RESPConnection, round: Int) throws {
        for i in 0..<200 { _ = try c.call("SET", "s\(round):\(i)", "value \(i)") }
        _ = try c.call("SET", "ttl\(round)", "x", "PX", "500000")
        _ = try c.call("HSET", "h\(round)", "a", "1", "b", "2", "c", "3")
        _ = try c.call("SADD", "set\(round)", "x", "y", "z")
        _ = try c.call("ZADD", "z\(round)", "1", "one", "2", "two")
        _ = try c.call("RPUSH", "l\(round)", "a", "b", "c", "d")
        _ = try c.call("MULTI")
        _ = try c.call("LMOVE", "l\(round)", "l\(round)b", "LEFT", "RIGHT")
        _ = try c.call("HDEL", "h\(round)", "b")
        _ = try c.call("EXEC")
        _ = try c.call("DEL", "s\(round):7", "set\(round)")
        _ = try c.call("DELRANGE", "s\(round):1", "s\(round):2")
    }

    /// Waits (≤ 10 s) until the replica's link is up at the primary's offset.
    static func converge(_ primary: TestServer, _ replica: TestServer) throws {
        let p = try primary.client()
        let r = try replica.client()
        for _ in 0..<1000 {
            let pi = try info(p), ri = try info(r)
            if ri["master_link_status"] == "up" && ri["slave_repl_offset"] == pi["master_repl_offset"] { return }
            usleep(10_000)
        }
        throw TestError(description: "replica did not converge: \(try info(r)) vs \(try info(p))")
    }

    static func info(_ c: RESPConnection, _ section: String = "replication") throws -> [String: String] {
        var fields: [String: String] = [:]
        for line in (try c.call("INFO", section).string ?? "").split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// Every engine entry but the keyspace's format record (each store reserves its own
    /// collection versions): key, value, expiry, tag.
    static func contents(_ store: KVStore) throws -> [[UInt8]: ([UInt8], UInt64?, UInt8)] {
        let it = try store.makeIterator()
        it.seekToFirst()
        var all: [[UInt8]: ([UInt8], UInt64?, UInt8)] = [:]
        let format: [UInt8] = [0xFF, 0x00] + Array("keyspace".utf8)
        while it.isValid {
            if it.key != format { all[it.key] = (it.value, it.expiresAt, it.tag) }
            it.next()
        }
        try it.check()
        return all
    }

    static func expectSameContents(_ a: TestServer, _ b: TestServer, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let x = try contents(a.server.store), y = try contents(b.server.store)
        #expect(x.count == y.count, sourceLocation: sourceLocation)
        var differing = 0
        for (k, v) in x {
            guard let w = y[k], w.0 == v.0, w.1 == v.1, w.2 == v.2 else { differing += 1; continue }
        }
        #expect(differing == 0, "\(differing) of \(x.count) entries differ", sourceLocation: sourceLocation)
    }

    static func replica(of primary: TestServer, _ label: String, clock: ManualClock) throws -> TestServer {
        try TestServer(label, clock: clock) { $0.replication.replicaOf = ("127.0.0.1", primary.port) }
    }

    @Test func aReplicaHoldsThePrimarysDataAndRefusesWrites() throws {
        let clock = ManualClock()
        let primary = try TestServer("repl-primary", clock: clock)
        let p = try primary.client()
        try Self.writeMix(p, round: 0)
        let replica = try Self.replica(of: primary, "repl-replica", clock: clock)
        try Self.converge(primary, replica)
        try Self.expectSameContents(primary, replica)
        // The stream after the snapshot.
        try Self.writeMix(p, round: 1)
        #expect(try p.call("WAIT", "1", "5000") == .integer(1))
        try Self.converge(primary, replica)
        try Self.expectSameContents(primary, replica)

        let r = try replica.client()
        #expect(try r.call("HGET", "h1", "c") == .bulk(bytes("3")))
        #expect(try r.call("TTL", "ttl1") == .integer(500))
        #expect(try r.call("SET", "k", "v") == .error("READONLY You can't write against a read only replica."))
        #expect(try r.call("MULTI") == .simple("OK"))
        #expect(try r.call("SET", "k", "v").isError)
        #expect(try r.call("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        let role = try r.call("ROLE").elements
        #expect(role.first == .bulk(bytes("slave")) && role[2] == .integer(primary.port) && role[3] == .bulk(bytes("connected")))
        let primaryRole = try p.call("ROLE").elements
        #expect(primaryRole.first == .bulk(bytes("master")) && primaryRole[2].elements.count == 1)
        #expect(try Self.info(p)["connected_slaves"] == "1")
        #expect(try Self.info(p)["slave0"]?.contains("port=\(replica.port),state=online") == true)
        // Sentinel kills normal clients during a failover: the replica's stream is not one.
        _ = try p.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        #expect(try p.call("CLIENT", "LIST", "TYPE", "replica").string?.contains("flags=S") == true)
        #expect(try Self.info(p, "stats")["sync_full"] == "1")
    }

    @Test func aShortDisconnectionResumesAndALongOneSynchronisesInFull() throws {
        let clock = ManualClock()
        let primary = try TestServer("repl-gap-primary", clock: clock)
        let p = try primary.client()
        let replica = try Self.replica(of: primary, "repl-gap-replica", clock: clock)
        try Self.writeMix(p, round: 0)
        try Self.converge(primary, replica)
        // Cut the stream; the replica reconnects a second later and resumes.
        #expect(try p.call("CLIENT", "KILL", "TYPE", "replica") == .integer(1))
        try Self.writeMix(p, round: 1)
        try Self.converge(primary, replica)
        try Self.expectSameContents(primary, replica)
        #expect(try Self.info(p, "stats")["sync_partial_ok"] == "1")
        #expect(try Self.info(p, "stats")["sync_full"] == "1")
        // A backlog too small for what is written while the replica is away: a full sync.
        #expect(try p.call("CONFIG", "SET", "repl-backlog-size", "16384") == .simple("OK"))
        #expect(try p.call("CLIENT", "KILL", "TYPE", "replica") == .integer(1))
        let big = String(repeating: "v", count: 1000)
        for i in 0..<100 { _ = try p.call("SET", "big\(i)", big) }
        try Self.converge(primary, replica)
        try Self.expectSameContents(primary, replica)
        #expect(try Self.info(p, "stats")["sync_full"] == "2")
    }

    /// A replica shut down cleanly saves where it stood and resumes after a restart (no full
    /// synchronisation); a saved position that no longer matches its store is not used.
    @Test func aReplicaRestartedCleanlyResumesFromItsSavedPosition() throws {
        let clock = ManualClock()
        let primary = try TestServer("repl-restart-primary", clock: clock)
        let p = try primary.client()
        try Self.writeMix(p, round: 0)
        let replica = try Self.replica(of: primary, "repl-restart-replica", clock: clock)
        try Self.converge(primary, replica)
        try replica.restart()
        try Self.writeMix(p, round: 1)
        try Self.converge(primary, replica)
        try Self.expectSameContents(primary, replica)
        #expect(try Self.info(p, "stats")["sync_full"] == "1")
        #expect(try Self.info(p, "stats")["sync_partial_ok"] == "1", "the restarted replica resumed")
        let position = replica.server.store.path + "/replication/position"
        #expect(!FileManager.default.fileExists(atPath: position), "taken at start")

        // Saved again at the next shutdown; a store that moved on since makes it unusable.
        replica.server.shutdown()
        let saved = try String(contentsOfFile: position, encoding: .utf8).split(separator: " ")
        #expect(saved.count == 3)
        if saved.count == 3, let sequence = UInt64(saved[2].dropLast()) {
            try "\(saved[0]) \(saved[1]) \(sequence + 1)\n".write(toFile: position, atomically: true, encoding: .utf8)
        }
        try replica.restart()
        try Self.writeMix(p, round: 2)
        try Self.converge(primary, replica)
        try Self.expectSameContents(primary, replica)
        #expect(try Self.info(p, "stats")["sync_full"] == "2", "a position for another sequence: a full synchronisation")
    }

    /// Replication empties `<dir>/replication` at every start: checkpoints may not live there.
    @Test func checkpointsMayNotLiveWhereReplicationCleansUp() throws {
        var config = ServerConfig()
        config.directory = "/srv/kv"
        config.checkpointDirectory = "/srv/kv/replication"
        #expect(throws: ServerConfigError.self) { try config.validate() }
        config.checkpointDirectory = "/srv/kv/replication/saves"
        #expect(throws: ServerConfigError.self) { try config.validate() }
        config.checkpointDirectory = "/srv/kv/replications"
        #expect(throws: Never.self) { try config.validate() }
        config.checkpointDirectory = nil
        #expect(throws: Never.self) { try config.validate() }
    }

    @Test func aPromotedReplicaContinuesAndADivergedPrimaryIsBroughtBack() throws {
        let clock = ManualClock()
        let a = try TestServer("repl-fo-a", clock: clock)
        let b = try Self.replica(of: a, "repl-fo-b", clock: clock)
        let ca = try a.client(), cb = try b.client()
        try Self.writeMix(ca, round: 0)
        try Self.converge(a, b)
        // Failover: b becomes the primary; a (nothing written since) follows it and resumes.
        #expect(try cb.call("REPLICAOF", "NO", "ONE") == .simple("OK"))
        #expect(try cb.call("SET", "after", "1") == .simple("OK"))
        #expect(try ca.call("REPLICAOF", "127.0.0.1", String(b.port)) == .simple("OK"))
        try Self.converge(b, a)
        #expect(try ca.call("GET", "after") == .bulk(bytes("1")))
        #expect(try Self.info(cb, "stats")["sync_partial_ok"] == "1")
        #expect(try Self.info(cb, "stats")["sync_full"] == "0")
        try Self.expectSameContents(a, b)
        // a is promoted back, and b, still a primary too, takes a write a never sees: b's history
        // has diverged, so following a costs it a full sync that drops the write.
        #expect(try ca.call("REPLICAOF", "NO", "ONE") == .simple("OK"))
        #expect(try ca.call("HSET", "fresh", "f", "1") == .integer(1))
        #expect(try cb.call("SET", "diverged", "1") == .simple("OK"))
        #expect(try cb.call("REPLICAOF", "127.0.0.1", String(a.port)) == .simple("OK"))
        try Self.converge(a, b)
        #expect(try cb.call("EXISTS", "diverged") == .integer(0))
        #expect(try cb.call("HGET", "fresh", "f") == .bulk(bytes("1")))
        #expect(try Self.info(ca, "stats")["sync_full"] == "2")  // b's first sync, and this one
        try Self.expectSameContents(a, b)
        // A collection created on the promoted server gets a version the old primary never
        // handed out (its elements could still be garbage on disk).
        #expect(try cb.call("REPLICAOF", "NO", "ONE") == .simple("OK"))
        #expect(try cb.call("DEL", "h0") == .integer(1))
        #expect(try cb.call("HSET", "h0", "new", "1") == .integer(1))
        #expect(try cb.call("HGETALL", "h0") == .array([.bulk(bytes("new")), .bulk(bytes("1"))]))
    }

    /// A promoted replica's first commit (it reserves collection versions above the old
    /// primary's) is in its new history: a replica that continues from it holds the same
    /// format record, byte for byte.
    @Test func anotherReplicaContinuingFromAPromotedOneHoldsItsVersionReservation() throws {
        let clock = ManualClock()
        let a = try TestServer("repl-three-a", clock: clock)
        let b = try Self.replica(of: a, "repl-three-b", clock: clock)
        let c = try Self.replica(of: a, "repl-three-c", clock: clock)
        try Self.writeMix(try a.client(), round: 0)
        try Self.converge(a, b)
        try Self.converge(a, c)
        let cb = try b.client(), cc = try c.client()
        #expect(try cb.call("REPLICAOF", "NO", "ONE") == .simple("OK"))
        #expect(try cc.call("REPLICAOF", "127.0.0.1", String(b.port)) == .simple("OK"))
        try Self.converge(b, c)
        #expect(try Self.info(cb, "stats")["sync_partial_ok"] == "1")
        let format: [UInt8] = [0xFF, 0x00] + Array("keyspace".utf8)
        #expect(try b.server.store.get(format) == c.server.store.get(format))
        try Self.expectSameContents(b, c)
    }

    /// A commit that is not the applier's — here a writable replica's own write — makes the
    /// replica forget the history it held: its next synchronisation is a full one, which drops
    /// the write.
    @Test func aReplicasOwnWriteCostsItAFullSynchronisation() throws {
        let clock = ManualClock()
        let primary = try TestServer("repl-stray-primary", clock: clock)
        let replica = try Self.replica(of: primary, "repl-stray-replica", clock: clock)
        let p = try primary.client(), r = try replica.client()
        try Self.writeMix(p, round: 0)
        try Self.converge(primary, replica)
        let before = try Self.info(r)["master_replid"]
        #expect(try r.call("CONFIG", "SET", "replica-read-only", "no") == .simple("OK"))
        #expect(try r.call("SET", "local", "1") == .simple("OK"))
        #expect(try Self.info(r)["master_replid"] != before)
        #expect(try r.call("CONFIG", "SET", "replica-read-only", "yes") == .simple("OK"))
        #expect(try p.call("CLIENT", "KILL", "TYPE", "replica") == .integer(1))
        try Self.writeMix(p, round: 1)
        try Self.converge(primary, replica)
        #expect(try r.call("EXISTS", "local") == .integer(0))
        #expect(try Self.info(p, "stats")["sync_full"] == "2")
        try Self.expectSameContents(primary, replica)
    }

    /// What Sentinel sends to reconfigure a node: REPLICAOF inside MULTI with CONFIG REWRITE and
    /// CLIENT KILL TYPE normal; the rewritten config file says whom the node follows.
    @Test func sentinelsReconfigurationTransactionRuns() throws {
        let clock = ManualClock()
        let primary = try TestServer("repl-multi-primary", clock: clock)
        let dir = TemporaryDirectory("repl-multi-config")
        let configPath = dir.file("node.conf")
        try "port 0\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        let node = try TestServer("repl-multi-node", clock: clock) { $0.configFile = configPath }
        let c = try node.client()
        let bystander = try node.client()
        #expect(try c.call("MULTI") == .simple("OK"))
        #expect(try c.call("SLAVEOF", "127.0.0.1", String(primary.port)) == .simple("QUEUED"))
        #expect(try c.call("CONFIG", "REWRITE") == .simple("QUEUED"))
        #expect(try c.call("CLIENT", "KILL", "TYPE", "normal") == .simple("QUEUED"))
        let replies = try c.call("EXEC").elements
        #expect(replies.count == 3 && replies[0] == .simple("OK") && replies[1] == .simple("OK") && replies[2] == .integer(1))
        #expect(bystander.isClosedByServer())
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        #expect(text.contains("replicaof 127.0.0.1 \(primary.port)"))
        try Self.converge(primary, node)
        // Promoted the same way, the line goes.
        #expect(try c.call("MULTI") == .simple("OK"))
        _ = try c.call("REPLICAOF", "NO", "ONE")
        _ = try c.call("CONFIG", "REWRITE")
        #expect(try c.call("EXEC").elements.count == 2)
        #expect(try String(contentsOfFile: configPath, encoding: .utf8).contains("replicaof") == false)
        #expect(try c.call("SET", "k", "v") == .simple("OK"))
    }

    @Test func aGarbagePsyncGetsAFullSynchronisationAndAReplicaLeavingMidSyncIsForgotten() throws {
        let primary = try TestServer("repl-garbage")
        let c = try primary.client()
        let value = String(repeating: "x", count: 1000)
        for i in 0..<50 { _ = try c.pipeline((0..<400).map { j in [bytes("SET"), bytes("k\(i):\(j)"), bytes(value)] }) }
        let replica = try primary.client()
        #expect(try replica.call("REPLCONF", "listening-port", "1") == .simple("OK"))
        #expect(try replica.call("REPLCONF", "nonsense", "1").isError)
        // Without the stream's format announced: refused, saying why.
        #expect(try replica.call("PSYNC", "not-an-id", "12345").string?.contains("REPLCONF capa \(ReplicationFrame.format)") == true)
        #expect(try replica.call("REPLCONF", "capa", "eof", "capa", ReplicationFrame.format) == .simple("OK"))
        let reply = try replica.call("PSYNC", "not-an-id", "12345").string ?? ""
        #expect(reply.hasPrefix("FULLRESYNC "))
        // It hangs up while 20 MB of snapshot are on their way: the primary stops the sync,
        // forgets the replica and goes on serving.
        replica.shutdownWrite()
        withExtendedLifetime(replica) {}
        var gone = false
        for _ in 0..<500 where !gone {
            gone = try Self.info(c)["connected_slaves"] == "0"
            if !gone { usleep(10_000) }
        }
        #expect(gone)
        #expect(try c.call("GET", "k3:7") == .bulk(bytes(value)))
    }

    /// A checkpoint of a server holding `pairs`, as a primary's full synchronisation frames it:
    /// each file's frame and data frames (the data in two halves), and the end frame.
    static func checkpointFrames(_ pairs: [(String, String)], _ label: String) throws -> (files: [[UInt8]], end: [UInt8]) {
        let source = try TestServer(label)
        let c = try source.client()
        for (k, v) in pairs { _ = try c.call("SET", k, v) }
        let dir = TemporaryDirectory(label)
        let info = try source.server.store.checkpoint(to: dir.path + "/cp")
        var files: [[UInt8]] = []
        var total: UInt64 = 0
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/cp").sorted {
            ($0 == "CURRENT" ? 1 : 0, $0) < ($1 == "CURRENT" ? 1 : 0, $1)
        }
        for name in names {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/cp/" + name)))
            var header: [UInt8] = []
            ReplicationFrame.appendLE(UInt16(name.utf8.count), to: &header)
            header += Array(name.utf8)
            ReplicationFrame.appendLE(UInt64(data.count), to: &header)
            var frames = ReplicationFrame.encode(.file, header)
            frames += ReplicationFrame.encode(.fileData, Array(data[..<(data.count / 2)]))
            frames += ReplicationFrame.encode(.fileData, Array(data[(data.count / 2)...]))
            files.append(frames)
            total += UInt64(data.count)
        }
        var end: [UInt8] = []
        ReplicationFrame.appendLE(info.lastSequence, to: &end)
        ReplicationFrame.appendLE(UInt64(files.count), to: &end)
        ReplicationFrame.appendLE(total, to: &end)
        return (files, ReplicationFrame.encode(.snapshotEnd, end))
    }

    /// What a primary sends in a full synchronisation is checked before the store is touched:
    /// a file name that is a path is refused; a damaged frame ends the connection while the
    /// checkpoint is half received (the replica keeps answering LOADING and asks again); a
    /// whole checkpoint then replaces everything, and no staging files are left behind.
    @Test func aDamagedFrameOrACutCheckpointIsRefusedAndTheStreamAskedForAgain() throws {
        let fake = try FakePrimary()
        let clock = ManualClock()
        let replica = try TestServer("repl-damaged", clock: clock) { $0.replication.replicaOf = ("127.0.0.1", fake.port) }
        let r = try replica.client()
        let partial = try Self.checkpointFrames([("partial", "1")], "repl-cp-partial")
        let good = try Self.checkpointFrames([("good", "1")], "repl-cp-good")
        let fullResync = Array("+FULLRESYNC \(String(repeating: "a", count: 40)) 0\r\n".utf8)
        let staging = replica.server.store.path + "/replication/incoming"

        // First connection: a file named like a path. Refused; nothing is written outside.
        var evil: [UInt8] = []
        let evilName = "../../escaped.sst"
        ReplicationFrame.appendLE(UInt16(evilName.utf8.count), to: &evil)
        evil += Array(evilName.utf8)
        ReplicationFrame.appendLE(UInt64(4), to: &evil)
        let first = try fake.accept()
        try fake.answerHandshake(first, then: fullResync + ReplicationFrame.encode(.file, evil) + ReplicationFrame.encode(.fileData, [1, 2, 3, 4]))
        #expect(fake.waitForClose(first))
        #expect(!FileManager.default.fileExists(atPath: replica.server.store.path + "/../escaped.sst"))
        #expect(!FileManager.default.fileExists(atPath: replica.server.store.path + "/escaped.sst"))

        // Second connection: part of a checkpoint (the replica starts loading), then a damaged
        // frame. The replica must hang up without using it, keep answering LOADING, reconnect.
        var damaged = partial.files[partial.files.count - 1]
        damaged[damaged.count - 3] ^= 0x40
        let second = try fake.accept()
        try fake.answerHandshake(second, then: fullResync + partial.files[0])
        var loading = false
        for _ in 0..<500 where !loading {
            loading = try r.call("GET", "good").string?.hasPrefix("LOADING") == true
            if !loading { usleep(10_000) }
        }
        #expect(loading)
        fake.send(second, damaged)
        #expect(fake.waitForClose(second))
        #expect(try r.call("GET", "good").string?.hasPrefix("LOADING") == true)

        // Third connection: a whole checkpoint replaces everything.
        let third = try fake.accept()
        try fake.answerHandshake(third, then: fullResync + good.files.flatMap { $0 } + good.end)
        var loaded = false
        for _ in 0..<500 where !loaded {
            loaded = try r.call("GET", "good") == .bulk(bytes("1"))
            if !loaded { usleep(10_000) }
        }
        #expect(loaded)
        #expect(try r.call("EXISTS", "partial") == .integer(0))
        #expect(!FileManager.default.fileExists(atPath: staging), "the staging directory is removed once installed")
        close(first)
        close(second)
        close(third)
    }

    /// An end frame whose counts disagree with what arrived, or a checkpoint without its
    /// MANIFEST, is refused: nothing is installed and the replica asks again.
    @Test func aCheckpointThatDisagreesWithItsEndFrameIsRefused() throws {
        let fake = try FakePrimary()
        let replica = try TestServer("repl-short", clock: ManualClock()) { $0.replication.replicaOf = ("127.0.0.1", fake.port) }
        let r = try replica.client()
        let good = try Self.checkpointFrames([("good", "1")], "repl-cp-short")
        let fullResync = Array("+FULLRESYNC \(String(repeating: "b", count: 40)) 0\r\n".utf8)
        // Without its first file (a table or the MANIFEST): the counts disagree.
        let first = try fake.accept()
        try fake.answerHandshake(first, then: fullResync + good.files.dropFirst().flatMap { $0 } + good.end)
        #expect(fake.waitForClose(first))
        #expect(try r.call("GET", "good").string?.hasPrefix("LOADING") == true, "nothing installed")
        let second = try fake.accept()
        try fake.answerHandshake(second, then: fullResync + good.files.flatMap { $0 } + good.end)
        var loaded = false
        for _ in 0..<500 where !loaded {
            loaded = try r.call("GET", "good") == .bulk(bytes("1"))
            if !loaded { usleep(10_000) }
        }
        #expect(loaded)
        close(first)
        close(second)
    }

    @Test func framesCarryTheirChecksum() throws {
        let payload = Array("a committed batch".utf8)
        var buffer = ByteBuffer(bytes: ReplicationFrame.encode(.batch, payload))
        #expect(try ReplicationFrame.decode(&buffer)?.payload == payload)
        for i in 0..<(ReplicationFrame.headerSize + payload.count) where i != 0 {
            var bytes = ReplicationFrame.encode(.batch, payload)
            bytes[i] ^= 0x01
            var b = ByteBuffer(bytes: bytes)
            // A flipped length makes the frame incomplete or garbage; anything else fails the
            // checksum. Never the payload back.
            let decoded = (try? ReplicationFrame.decode(&b)) ?? nil
            #expect(decoded == nil || decoded?.payload != payload)
        }
        var partial = ByteBuffer(bytes: Array(ReplicationFrame.encode(.batch, payload).dropLast()))
        #expect(try ReplicationFrame.decode(&partial) == nil)
        var unknown = ByteBuffer(bytes: [9, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: ReplicationError.self) { try ReplicationFrame.decode(&unknown) }
    }

    @Test func theBacklogHoldsTheLastBytesByOffset() {
        var g = SystemRandomNumberGenerator()
        for capacity in [1, 7, 64, 1000] {
            var backlog = ReplicationBacklog(capacity: capacity, end: 100)
            var model: [UInt8] = []
            for round in 0..<300 {
                let n = Int(g.next() % UInt64(capacity * 2 + 1))
                let chunk = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
                chunk.withUnsafeBytes { backlog.append($0) }
                model += chunk
                if round == 150 {
                    backlog.resize(capacity / 2 + 1)
                }
                let held = min(model.count, backlog.capacity)
                #expect(backlog.end == 100 + Int64(model.count))
                #expect(backlog.held <= held)
                let start = backlog.start
                let from = start + Int64(g.next() % UInt64(backlog.held + 1))
                let want = Array(model[Int(from - 100)...])
                #expect(backlog.bytes(from: from) == want)
                #expect(backlog.bytes(from: start - 1) == nil)
                #expect(backlog.bytes(from: backlog.end + 1) == nil)
            }
        }
    }
}

/// A primary that a test scripts by hand: accepts a replica's connection, answers its handshake
/// (AUTH-less: PING, two REPLCONFs, PSYNC) and sends whatever bytes the test gives.
final class FakePrimary {
    let listener: Int32
    let port: Int

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 4) == 0 else { throw TestError(description: "fake primary: cannot listen") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(listener) }

    /// The next connection, waiting up to 10 s.
    func accept() throws -> Int32 {
        var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 10_000) == 1 else { throw TestError(description: "fake primary: no connection") }
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { throw TestError(description: "fake primary: accept failed") }
        return fd
    }

    /// Reads the handshake's four commands, answers the first three, then sends `bytes`.
    func answerHandshake(_ fd: Int32, then bytes: [UInt8]) throws {
        var seen: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while String(decoding: seen, as: UTF8.self).components(separatedBy: "PSYNC").count < 2
            || !String(decoding: seen, as: UTF8.self).hasSuffix("\r\n") || String(decoding: seen, as: UTF8.self).split(separator: "*").count < 4 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 10_000) == 1 else { throw TestError(description: "fake primary: no handshake") }
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { throw TestError(description: "fake primary: closed during handshake") }
            seen += buf[0..<n]
        }
        send(fd, Array("+PONG\r\n+OK\r\n+OK\r\n".utf8) + bytes)
    }

    func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Whether the replica closes `fd` within 10 s (reads and discards what it sends).
    func waitForClose(_ fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<100 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 100) == 1 {
                if read(fd, &buf, buf.count) <= 0 { return true }
            }
        }
        return false
    }
}
