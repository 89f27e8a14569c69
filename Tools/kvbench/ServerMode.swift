#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KVClient
import KVStore
import KVStoreTesting

/// `kvbench --server HOST:PORT`: the same workloads, keys, values and result line, driven
/// over RESP against a running kvserver (or any Redis-protocol server) from `--connections`
/// client connections, each on its own thread, each keeping `--pipeline` requests in flight.
/// A request's latency is the round trip of the pipelined batch it was sent in (what
/// redis-benchmark reports).
struct ServerBench {
    let f: KVBench.Flags
    let host: String
    let port: Int
    let reporter: Bench

    init(flags: KVBench.Flags) {
        f = flags
        reporter = Bench(flags: flags)
        let address = flags.server
        guard let colon = address.lastIndex(of: ":"), let p = Int(address[address.index(after: colon)...]) else {
            KVBench.die("--server wants HOST:PORT, e.g. 127.0.0.1:6380")
        }
        host = colon == address.startIndex ? "127.0.0.1" : String(address[..<colon])
        port = p
    }

    func connect() -> RESPConnection {
        do {
            let c = try RESPConnection(host: host, port: port, timeoutSeconds: 60)
            if !f.password.isEmpty {
                guard (try? c.call("AUTH", f.password)) == .ok else { KVBench.die("the server refused --password") }
            }
            return c
        } catch {
            KVBench.die("\(error)")
        }
    }

    func run() {
        reporter.comment("kvbench  \(Date())  server mode")
        reporter.comment("server \(host):\(port), \(f.connections) connections, pipeline \(f.pipeline); --num=\(f.num) --reads=\(f.reads) --key_size=\(f.keySize) --value_size=\(f.valueSize) --seed=\(f.seed)")
        reporter.comment("durability and engine options are the server's (its --fsync policy applies to fillsync too)")
        let admin = connect()
        for name in f.benchmarks.split(separator: ",").map(String.init) where !name.isEmpty {
            if name == "fillseq" || name == "fillrandom" || name == "fillsync" {
                guard (try? admin.call("FLUSHALL")) == .ok else { KVBench.die("FLUSHALL failed") }
            }
            // One connection for the sampler, used by its thread alone after the first read.
            nonisolated(unsafe) let sampling = connect()
            let sampler = f.timelinePath(name).map { _ in EngineSampler(origin: nanos()) { Self.engineFigures(sampling) } }
            let stats = workload(name)
            reporter.report(name, stats)
            if name == "load" { reporter.loadSummary(stats) }
            if let path = f.timelinePath(name), let sampler {
                let wall = Double((stats.map(\.finish).max() ?? 0) &- (stats.map(\.start).min() ?? 0)) / 1e9
                TimelineFile.write(path, threads: stats.compactMap(\.timeline), engine: sampler.stop(), wallSeconds: wall)
                reporter.comment("\(name): timeline written to \(path)")
            }
            if name.hasPrefix("fill") || name == "overwrite" || name == "deleterandom" {
                engineSummary(name, admin)
            }
            fflush(nil)
        }
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        reporter.comment("client peak_rss=\(format(Double(ru.ru_maxrss) / 1024, 1)) MiB")
    }

    /// Per connection: a function from its i-th operation to the command to send.
    private func workload(_ name: String) -> [ThreadStats] {
        let n = f.num
        let conns = f.connections
        let keySize = f.keySize, valueSize = f.valueSize, ratio = f.compressionRatio, seed = f.seed
        switch name {
        case "fillseq", "fillrandom", "overwrite", "fillsync", "deleterandom":
            let total = name == "fillsync" ? max(1, n / 100) : n
            var permutation: [UInt32] = []
            if name == "fillrandom" {
                permutation = (0..<UInt32(n)).map { $0 }
                var rng = SplitMix64(seed: streamSeed(.fillRandom, 0, seed))
                var i = n - 1
                while i > 0 {
                    permutation.swapAt(i, Int(rng.uniform(UInt64(i + 1))))
                    i -= 1
                }
            }
            let perm = permutation
            let stream: Stream = name == "overwrite" ? .overwrite : name == "fillsync" ? .fillSync : .deleteRandom
            return drive(name, total: total) { c in
                var key = KeyMaker(width: keySize)
                var values = ValueMaker(size: valueSize, ratio: ratio, seed: seed)
                var rng = SplitMix64(seed: streamSeed(stream, c, seed))
                return { i in
                    let index: UInt64 = switch name {
                    case "fillseq": UInt64(i * conns + c)
                    case "fillrandom": UInt64(perm[i * conns + c])
                    default: rng.uniform(UInt64(n))
                    }
                    let k = key.set(index)
                    if name == "deleterandom" { return ([Array("DEL".utf8), k], k.count) }
                    let v = Array(values.next())
                    return ([Array("SET".utf8), k, v], k.count + v.count)
                }
            }
        case "readrandom", "readmissing":
            let missing = name == "readmissing"
            return drive(name, total: f.reads) { c in
                var key = KeyMaker(width: keySize)
                var rng = SplitMix64(seed: streamSeed(missing ? .readMissing : .readRandom, c, seed))
                return { _ in
                    let k = key.set(rng.uniform(UInt64(n)), missing: missing)
                    return ([Array("GET".utf8), k], k.count)
                }
            }
        case "seekrandom":
            let nexts = String(f.seekNexts)
            return drive(name, total: f.reads) { c in
                var key = KeyMaker(width: keySize)
                var rng = SplitMix64(seed: streamSeed(.seekRandom, c, seed))
                return { _ in
                    let k = key.set(rng.uniform(UInt64(n)))
                    return ([Array("RANGE".utf8), k, [], Array("LIMIT".utf8), Array(nexts.utf8)], k.count)
                }
            }
        case "readseq":
            return [readSeq()]
        case "load":
            return load()
        default:
            KVBench.die("\(name) has no server-mode form (server mode runs fillseq fillrandom overwrite fillsync readrandom readmissing readseq seekrandom deleterandom load)")
        }
    }

    /// Runs `total` operations split over the connections, `pipeline` in flight on each.
    private func drive(_ name: String, total: Int, _ make: @escaping (Int) -> ((Int) -> ([[UInt8]], Int))) -> [ThreadStats] {
        let conns = f.connections
        let per = total / conns
        let pipeline = f.pipeline
        nonisolated(unsafe) let makeCommand = make
        return onConnections(name) { c, connection, errors in
            let count = c == conns - 1 ? total - per * (conns - 1) : per
            let next = makeCommand(c)
            return { s in
                var i = 0
                var batch: [[[UInt8]]] = []
                var sizes: [Int] = []
                while i < count {
                    batch.removeAll(keepingCapacity: true)
                    sizes.removeAll(keepingCapacity: true)
                    let m = min(pipeline, count - i)
                    for j in 0..<m {
                        let (cmd, bytes) = next(i + j)
                        batch.append(cmd)
                        sizes.append(bytes)
                    }
                    let sent = nanos()
                    guard let replies = try? connection.pipeline(batch) else {
                        errors.add(1)
                        break
                    }
                    let now = nanos()
                    for (r, b) in zip(replies, sizes) {
                        if r.isError { errors.add(1) }
                        s.record(now: now, latency: now - sent, bytes: b + Self.found(r, &s))
                    }
                    s.last = now
                    i += m
                }
            }
        }
    }

    /// One thread per connection, all released together: `prepare(c, connection, errors)`
    /// runs before the start and returns the work, which fills the thread's `ThreadStats`
    /// between its begin and end. Each connection is used by its one thread only.
    private func onConnections(
        _ name: String, _ prepare: @escaping (Int, RESPConnection, Atomic<Int>) -> ((inout ThreadStats) -> Void)
    ) -> [ThreadStats] {
        let conns = f.connections
        let results = Mutexed([ThreadStats](repeating: ThreadStats(), count: conns))
        let ready = DispatchGroup(), done = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        let errors = Atomic(0)
        nonisolated(unsafe) let makeWork = prepare
        for c in 0..<conns {
            ready.enter()
            done.enter()
            nonisolated(unsafe) let connection = connect()
            Thread {
                let work = makeWork(c, connection, errors)
                var s = ThreadStats()
                ready.leave()
                go.wait()
                s.begin()
                work(&s)
                s.end()
                results.set(c, s)
                done.leave()
            }.start()
        }
        ready.wait()
        for _ in 0..<conns { go.signal() }
        done.wait()
        if errors.load() > 0 { reporter.comment("\(name): \(errors.load()) error replies or failed connections") }
        return results.value
    }

    /// Bytes a reply brought back, counting it as found when it holds a value.
    static func found(_ r: RESPValue, _ s: inout ThreadStats) -> Int {
        if case .bulk(let v?) = r {
            s.found += 1
            return v.count
        } else if case .array(let items?) = r, !items.isEmpty {
            s.found += 1
            return items.reduce(0) { $0 + ($1.bytes?.count ?? 0) }
        }
        return 0
    }

    /// `load` over the connections: each follows its `LoadPlan` (its share of `--rate`),
    /// sending up to `--pipeline` operations that are due at once; an operation's latency
    /// runs from when it was due to when its batch's replies were read.
    private func load() -> [ThreadStats] {
        let conns = f.connections, pipeline = f.pipeline, flags = f
        return onConnections("load") { c, connection, errors in
            var plan = LoadPlan(flags: flags, thread: c, workers: conns)
            var key = KeyMaker(width: flags.keySize)
            var values = ValueMaker(size: flags.valueSizeMax ?? flags.valueSize, ratio: flags.compressionRatio, seed: flags.seed)
            return { s in
                plan.start(at: s.start)
                var batch: [[[UInt8]]] = [], sizes: [Int] = [], dues: [UInt64?] = []
                var finished = false
                while !finished {
                    batch.removeAll(keepingCapacity: true)
                    sizes.removeAll(keepingCapacity: true)
                    dues.removeAll(keepingCapacity: true)
                    // The first operation waits for its turn; more join while already due.
                    while batch.count < pipeline {
                        guard let due = plan.next(now: nanos()) else { finished = true; break }
                        let op = plan.operation()
                        let k = key.set(op.key)
                        if op.isRead {
                            batch.append([Array("GET".utf8), k])
                            sizes.append(k.count)
                            plan.reads += 1
                        } else {
                            let v = Array(values.next(size: op.valueSize))
                            batch.append([Array("SET".utf8), k, v])
                            sizes.append(k.count + v.count)
                        }
                        dues.append(due)
                        if !plan.nextIsDue(now: nanos()) { break }
                    }
                    guard !batch.isEmpty else { break }
                    let sent = nanos()
                    guard let replies = try? connection.pipeline(batch) else {
                        errors.add(1)
                        break
                    }
                    let now = nanos()
                    for (i, r) in replies.enumerated() {
                        if r.isError { errors.add(1) }
                        s.record(now: now, latency: now - (dues[i] ?? sent), bytes: sizes[i] + Self.found(r, &s))
                    }
                    s.last = now
                }
                s.reads = plan.reads
            }
        }
    }

    /// readseq: one connection pages through every key in order with RANGE … LIMIT 1000.
    private func readSeq() -> ThreadStats {
        let c = connect()
        var s = ThreadStats()
        s.begin()
        var from: [UInt8] = []
        while true {
            let sent = nanos()
            guard let reply = try? c.call([Array("RANGE".utf8), from, [], Array("LIMIT".utf8), Array("1000".utf8)]) else { break }
            let items = reply.elements
            let now = nanos()
            var i = 0
            while i + 1 < items.count {
                _ = s.histogram.record((now - sent) / UInt64(max(1, items.count / 2)))
                s.ops += 1
                s.found += 1
                s.bytes += (items[i].bytes?.count ?? 0) + (items[i + 1].bytes?.count ?? 0)
                i += 2
            }
            guard items.count >= 2000, let last = items[items.count - 2].bytes else { break }
            from = last + [0]
        }
        s.end()
        return s
    }

    /// The server's cumulative stall seconds and flush+compaction bytes (INFO engine).
    static func engineFigures(_ c: RESPConnection) -> (stallSeconds: Double, lsmBytes: Int64)? {
        guard let info = try? c.call("INFO", "engine").string else { return nil }
        var stall = 0.0, bytes: Int64 = 0
        for line in info.split(separator: "\r\n") {
            let kv = line.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "stall_seconds": stall = Double(kv[1]) ?? 0
            case "compaction_bytes_written", "flush_bytes_written": bytes += Int64(kv[1]) ?? 0
            default: break
            }
        }
        return (stall, bytes)
    }

    private func engineSummary(_ name: String, _ c: RESPConnection) {
        guard let info = try? c.call("INFO", "engine").string else { return }
        let fields = info.split(separator: "\r\n").filter { !$0.hasPrefix("#") }
        let keep = fields.filter { $0.hasPrefix("level") || $0.hasPrefix("write_amplification") || $0.hasPrefix("stall_seconds") || $0.hasPrefix("live_table_bytes") }
        reporter.comment("\(name): server engine: " + keep.joined(separator: " "))
    }
}
