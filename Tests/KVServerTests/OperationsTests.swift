import Foundation
import KVClient
import KVStore
import KVTestSupport
import Synchronization
import Testing

@testable import KVServer

/// Atomic read-modify-write across clients, graceful shutdown, config files, and a kill -9
/// of a real server process under load.
@Suite struct OperationsTests {
    /// Clients on both event loops INCR one key; the total is exact. Under `always` the
    /// INCRs run on blocking threads, so this also covers the offloaded path.
    @Test(arguments: [FsyncPolicy.everysec, .always])
    func concurrentIncrementsAreAtomic(policy: FsyncPolicy) throws {
        let t = try TestServer("incr-\(policy)") { $0.fsync = policy }
        let clients = 8
        let perClient = policy == .always ? 150 : 500
        let failures = Atomic<Int>(0)
        let port = t.port
        let done = DispatchGroup()
        for _ in 0..<clients {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                guard let c = try? RESPConnection(port: port) else {
                    failures.add(1, ordering: .relaxed)
                    return
                }
                for _ in 0..<perClient {
                    if case .integer = (try? c.call("INCR", "counter")) ?? .null {} else { failures.add(1, ordering: .relaxed) }
                    if case .integer = (try? c.call("APPEND", "log", "x")) ?? .null {} else { failures.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(done.wait(timeout: .now() + 120) == .success)
        #expect(failures.load(ordering: .relaxed) == 0)
        let c = try t.client()
        #expect(try c.call("GET", "counter") == .text(String(clients * perClient)))
        #expect(try c.call("STRLEN", "log") == .integer(clients * perClient))
    }

    /// After a restart no table is open: a GET that needs one cannot be answered on the
    /// event loop without waiting for the disk, so it moves to a blocking thread (INFO counts
    /// it) and is answered all the same; once the table is open, GETs stay on the loop. (Two
    /// restarts: opening reads the keyspace's format record, and after the second its newest
    /// copy is in a table of its own, so the keys' table stays closed.)
    @Test func readsThatNeedTheDiskLeaveTheEventLoop() throws {
        let t = try TestServer("offload-reads")
        let c = try t.client()
        for i in 0..<200 { try c.call("SET", "key:\(i)", "value:\(i)") }
        #expect(try c.call("SAVE") == .ok)  // into a table
        try t.restart()
        try t.restart()
        let d = try t.client()
        func offloaded() throws -> Int {
            let info = try d.call("INFO", "stats").string ?? ""
            let line = info.split(separator: "\r\n").first { $0.hasPrefix("offloaded_commands:") } ?? ""
            return Int(line.split(separator: ":").last ?? "") ?? -1
        }
        let before = try offloaded()
        #expect(try d.call("GET", "key:42") == .text("value:42"))
        let after = try offloaded()
        #expect(after == before + 2)  // the GET, and the INFO that asked
        #expect(try d.call("GET", "key:43") == .text("value:43"))
        #expect(try offloaded() == after + 1)  // only the INFO this time
    }

    /// MSET of 40 keys (more stripes than a command takes one by one: the whole lock table)
    /// against MGETs of the same keys: every MGET sees one MSET whole, never a mix.
    @Test func msetIsSeenWholeByMgetAndOrderedAgainstIncr() throws {
        let t = try TestServer("mset-mget")
        let keys = (0..<40).map { "k\($0)" }
        try t.client().call([Array("MSET".utf8)] + keys.flatMap { [Array($0.utf8), Array("0".utf8)] })
        let port = t.port
        let torn = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let group = DispatchGroup()
        for w in 0..<3 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? RESPConnection(port: port) else {
                    failures.add(1, ordering: .relaxed)
                    return
                }
                for i in 1...150 {
                    let value = Array("\(w * 1000 + i)".utf8)
                    let args = [Array("MSET".utf8)] + keys.flatMap { [Array($0.utf8), value] }
                    if (try? c.call(args)) != .ok { failures.add(1, ordering: .relaxed) }
                    // INCR on one of the keys serializes with the MSETs: never a lost update
                    // that would leave the keys unequal after the MSET that follows.
                    _ = try? c.call("INCR", "counter")
                }
            }
        }
        for _ in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? RESPConnection(port: port) else {
                    failures.add(1, ordering: .relaxed)
                    return
                }
                for _ in 0..<300 {
                    let values = ((try? c.call([Array("MGET".utf8)] + keys.map { Array($0.utf8) })) ?? .null).elements
                    if values.count != keys.count { failures.add(1, ordering: .relaxed); continue }
                    if Set(values).count != 1 { torn.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(torn.load(ordering: .relaxed) == 0, "MGET saw a partial MSET")
        #expect(try t.client().call("GET", "counter") == .text("450"))
    }

    @Test func shutdownAnswersInFlightCommandsSyncsAndCloses() throws {
        let t = try TestServer("shutdown")
        let c = try t.client()
        var batch: [UInt8] = []
        for i in 0..<200 { batch += RESPConnection.encode([Array("SET".utf8), Array("k\(i)".utf8), Array("v\(i)".utf8)]) }
        batch += RESPConnection.encode([Array("SHUTDOWN".utf8)])
        try c.send(raw: batch)
        for _ in 0..<200 { #expect(try c.readReply() == .ok) }
        #expect(c.isClosedByServer())  // SHUTDOWN itself has no reply, as in Redis
        t.server.waitUntilStopped()
        #expect(throws: (any Error).self) { try RESPConnection(port: t.port).call("PING") }
        // The directory is released and holds every write.
        let store = try KVStore.open(at: t.directory.path)
        #expect(try store.get("k199") == Array("v199".utf8))
        try store.close()
    }

    @Test func configFileDirectivesAndErrors() throws {
        var config = ServerConfig()
        let level = try ConfigFile.apply(contents: """
            # a comment
            port 7001
            bind 127.0.0.1
            dir "/tmp/with space"
            appendfsync always
            requirepass "pa ss"
            maxclients 50
            timeout 30
            proto-max-bulk-len 1mb
            block-cache-size 64mb
            row-cache-size 16mb
            compression none
            loglevel warning
            """, path: "kv.conf", to: &config)
        #expect(level == "warning")
        #expect(config.port == 7001 && config.directory == "/tmp/with space" && config.fsync == .always)
        #expect(config.requirePassword == "pa ss" && config.maxClients == 50 && config.idleTimeoutSeconds == 30)
        #expect(config.limits.maxBulkLength == 1 << 20 && config.storeOptions.blockCacheCapacity == 64 << 20)
        #expect(config.storeOptions.rowCacheCapacity == 16 << 20 && config.storeOptions.compression == .none)
        #expect(throws: ServerConfigError.file(path: "kv.conf", line: 2, reason: "unknown directive 'prot' (known: \(ConfigFile.directives.joined(separator: ", ")))")) {
            try ConfigFile.apply(contents: "# x\nprot 1\n", path: "kv.conf", to: &config)
        }
        #expect(throws: ServerConfigError.self) { try ConfigFile.apply(contents: "appendfsync sometimes", path: "kv.conf", to: &config) }
        #expect(throws: ServerConfigError.self) { try ConfigFile.apply(contents: "port many", path: "kv.conf", to: &config) }
        #expect(throws: ServerConfigError.self) { try ConfigFile.apply(contents: "compression snappy", path: "kv.conf", to: &config) }
    }

    @Test func aSecondServerOnTheSameDirectoryIsRefusedClearly() throws {
        let t = try TestServer("locked")
        var c = t.config
        c.port = 0
        do {
            let s = try KVServer.start(c, logger: TestServer.quietLogger)
            s.shutdown()
            Issue.record("two servers opened one directory")
        } catch {
            #expect("\(error)".contains("another kvserver"))
        }
    }

    /// A real `kvserver --fsync always` under write load from several clients, killed with
    /// SIGKILL: every write that got a reply is in the store afterwards.
    @Test func killNineUnderLoadLosesNoAcknowledgedWrite() throws {
        let dir = TemporaryDirectory("kill9")
        let port = try freePort()
        let child = try ChildProcess(productPath("kvserver"), [
            "--port", String(port), "--dir", dir.path, "--fsync", "always", "--loglevel", "warning",
        ])
        try waitForServer(port: port)
        let acknowledged = Mutex<[(key: String, value: String)]>([])
        let writers = 4
        let group = DispatchGroup()
        for w in 0..<writers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? RESPConnection(port: port, timeoutSeconds: 5) else { return }
                var i = 0
                // Bounded: the kill ends it long before the cap.
                while i < 200_000 {
                    let key = "w\(w):\(i)"
                    let value = "value-\(w)-\(i)"
                    guard (try? c.call("SET", key, value)) == .ok else { return }
                    acknowledged.withLock { $0.append((key, value)) }
                    i += 1
                }
            }
        }
        // Kill once the writers have a few thousand acknowledged writes between them (or 30 s).
        let target = 2000
        let deadline = DispatchTime.now() + 30
        while acknowledged.withLock({ $0.count }) < target && DispatchTime.now() < deadline { usleep(10_000) }
        child.kill()
        #expect(group.wait(timeout: .now() + 30) == .success)
        let acked = acknowledged.withLock { $0 }
        #expect(acked.count >= target, "only \(acked.count) writes were acknowledged in 30 s")
        let store = try KVStore.open(at: dir.path)
        var lost = 0
        for (key, value) in acked where try store.get(key) != Array(value.utf8) { lost += 1 }
        #expect(lost == 0, "\(lost) of \(acked.count) acknowledged writes are missing")
        try store.close()
    }
}

/// A port nothing listens on right now.
/// The server on a full disk: `kvserver` under a file-size limit (`prlimit --fsize`, the
/// shell's `ulimit -f`) receives SETs of 1 KiB values until the log cannot grow. Clients get
/// an error naming the cause, the server stays up and answers reads, and after a restart
/// without the limit every acknowledged write is there.
@Suite struct ServerFullDiskTests {
    @Test func aFullDiskGivesClientsAnErrorAndTheServerKeepsReading() throws {
        let dir = TemporaryDirectory("server-fsize")
        let port = try freePort()
        let child = try ChildProcess("/usr/bin/prlimit", [
            "--fsize=\(3 << 19)", "--", productPath("kvserver"), "--port", String(port), "--dir", dir.path,
            "--write-buffer-size", "8mb", "--loglevel", "warning",
        ])
        try waitForServer(port: port)
        let c = try RESPConnection(port: port, timeoutSeconds: 30)
        var acked: [Int] = []
        var refusal: RESPValue?
        let value = String(repeating: "v", count: 1024)
        for i in 0..<100_000 {  // bounded: 1.5 MiB of log is reached after ~1,400
            let reply = try c.call("SET", "k\(i)", value + String(i))
            if reply == .ok {
                acked.append(i)
            } else {
                refusal = reply
                break
            }
        }
        let error = try #require(refusal?.string, "the limit was never reached")
        #expect(error.contains("errno 27") || error.contains("too large"), "\(error)")
        #expect(acked.count > 500)
        // Still up: reads answer, writes keep being refused.
        #expect(try c.call("PING") == .simple("PONG"))
        #expect(try c.call("GET", "k\(acked.last!)") == .text(value + String(acked.last!)))
        let later = try c.call("SET", "later", "x")
        #expect(later.string?.hasPrefix("MISCONF the store refuses writes") == true, "\(later) after \(error)")
        let other = try RESPConnection(port: port, timeoutSeconds: 10)
        #expect(try other.call("GET", "k0") == .text(value + "0"))
        child.kill()

        let store = try KVStore.open(at: dir.path)
        var lost = 0
        for i in acked where try store.get("k\(i)") != Array((value + String(i)).utf8) { lost += 1 }
        #expect(lost == 0, "\(lost) of \(acked.count) acknowledged writes are missing")
        try store.close()
    }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let r = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
            guard bind(fd, sa, len) == 0 else { return -1 }
            return getsockname(fd, sa, &len)
        }
    }
    guard r == 0 else { throw TestError(description: "no free port: errno \(errno)") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Polls until a server answers PING on `port` (at most 20 s).
func waitForServer(port: Int) throws {
    for _ in 0..<400 {
        if let c = try? RESPConnection(port: port, timeoutSeconds: 2), (try? c.call("PING")) == .simple("PONG") { return }
        usleep(50_000)
    }
    throw TestError(description: "no server answered on port \(port)")
}
