#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Histogram
import KVStore
import KVStoreTesting

/// kvbench: the workloads of ../shared/BENCHMARKS.md on KVStore, with the flags, key and value
/// generators and output line of peerbench, so results compare line by line with LevelDB and
/// RocksDB. `--json` prints JSON lines instead. `--server HOST:PORT` drives a running kvserver
/// over RESP with the same workloads (`ServerMode.swift`).
@main
struct KVBench {
    struct Flags {
        var benchmarks = "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,seekrandom,deleterandom"
        var num = 1_000_000
        var reads = -1
        var keySize = 16
        var valueSize = 100
        var compressionRatio = 0.5
        var writeBufferSize = 4 << 20
        var blockSize = 4096
        var bloomBits = 10
        var compression = "lz4"
        var cacheSize = 8 << 20
        var rowCacheSize = 0
        var openFiles = 1000
        var verifyChecksums = true
        var sync = false
        var batch = 1
        var threads = 1
        var seekNexts = 10
        var seed: UInt64 = 301
        var db = "/tmp/kvbench-kvstore"
        var useExistingDB = false
        var settle = true
        var stats = false
        var json = false
        var server = ""
        var connections = 50
        var pipeline = 1
        var password = ""
        /// The `load` workload: run this many seconds (0: `--num` operations).
        var duration = 0.0
        /// Target operations a second over all threads or connections (0: as fast as possible).
        var rate = 0
        /// Fraction of `load`'s operations that are reads (GET of a key in [0, num)).
        var readRatio = 0.5
        /// `--value_size=MIN-MAX`: each value's size drawn uniformly from the range.
        var valueSizeMax: Int?
        /// `--timeline=PATH`: per-second CSV (`{name}` in PATH becomes the workload's name).
        var timeline = ""

        func timelinePath(_ name: String) -> String? {
            guard !timeline.isEmpty else { return nil }
            if timeline.contains("{name}") { return timeline.replacingOccurrences(of: "{name}", with: name) }
            let many = benchmarks.split(separator: ",").count > 1
            guard many else { return timeline }
            if let dot = timeline.lastIndex(of: "."), !timeline[dot...].contains("/") {
                return String(timeline[..<dot]) + "-" + name + String(timeline[dot...])
            }
            return timeline + "-" + name
        }
    }

    static func main() {
        var f = Flags()
        // `--name=value` (db_bench's form) or `--name value`.
        var args: [String] = []
        var rest = Array(CommandLine.arguments.dropFirst())[...]
        while let a = rest.popFirst() {
            if a.hasPrefix("--"), !a.contains("="), a != "--json", a != "--help", let v = rest.first, !v.hasPrefix("--") {
                args.append(a + "=" + v)
                rest = rest.dropFirst()
            } else {
                args.append(a)
            }
        }
        for arg in args {
            if arg == "--help" || arg == "-h" {
                print("""
                    usage: kvbench [--benchmarks=a,b,...] [--num=1000000] [--reads=-1] [--key_size=16] [--value_size=100]
                      [--compression_ratio=0.5] [--write_buffer_size=4194304] [--block_size=4096] [--bloom_bits=10]
                      [--compression=lz4|zlib|none] [--cache_size=8388608] [--row_cache_size=0] [--open_files=1000] [--verify_checksums=1]
                      [--sync=0] [--batch=1] [--threads=1] [--seek_nexts=10] [--seed=301] [--db=/tmp/kvbench-kvstore]
                      [--use_existing_db=0] [--settle=1] [--stats=0] [--json]
                      [--server=HOST:PORT [--connections=50] [--pipeline=1] [--password=]]
                      [--duration=60s] [--rate=50000] [--read_ratio=0.5] [--value_size=MIN-MAX] [--timeline=FILE]
                    benchmarks: fillseq fillrandom overwrite fillsync readrandom readmissing readhot readseq seekrandom
                                deleterandom readwhilewriting load
                    readhot: random reads of a hot 1% of the keys, scattered over the key space (the row cache's case)
                    load: a mix of GETs (--read_ratio of them) and SETs of random keys in [0, num), for --duration
                      (or --num operations), at --rate operations a second (0: as fast as it goes; with a rate,
                      latency counts from when each operation was due), values of --value_size bytes or a size
                      drawn from MIN-MAX. Embedded or with --server.
                    --timeline=FILE: per-second ops, p99, max, stall ms and flush+compaction bytes as CSV
                      ({name} in FILE becomes the workload's name; with several workloads it is appended).
                    Flags take --name=value or --name value.
                    Result lines: "<name> : <us> micros/op; <n> ops/sec; <MB/s> MB/s; p50= p99= p999=" (microseconds);
                    other lines start with "# ". With --threads=N the fill and overwrite workloads write from N threads.
                    """)
                exit(0)
            }
            if arg == "--json" { f.json = true; continue }
            guard arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") else { die("bad argument (want --name=value): \(arg)") }
            let name = String(arg[arg.index(arg.startIndex, offsetBy: 2)..<eq])
            let v = String(arg[arg.index(after: eq)...])
            func int() -> Int { guard let x = Int(v) else { die("--\(name) wants an integer") }; return x }
            func bool() -> Bool { guard v == "0" || v == "1" || v == "true" || v == "false" else { die("--\(name) wants 0 or 1") }; return v == "1" || v == "true" }
            switch name {
            case "benchmarks": f.benchmarks = v
            case "num": f.num = int()
            case "reads": f.reads = int()
            case "key_size": f.keySize = int()
            case "value_size":
                let parts = v.split(separator: "-")
                if parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]), lo >= 0, hi >= lo {
                    f.valueSize = lo
                    f.valueSizeMax = hi
                } else {
                    f.valueSize = int()
                }
            case "duration":
                let scale: Double = v.hasSuffix("ms") ? 0.001 : v.hasSuffix("m") ? 60 : v.hasSuffix("h") ? 3600 : 1
                guard let x = Double(v.trimmingCharacters(in: CharacterSet(charactersIn: "mhs"))), x > 0 else { die("--duration wants seconds, e.g. 60s or 2m") }
                f.duration = x * scale
            case "rate": f.rate = int()
            case "read_ratio":
                guard let x = Double(v), x >= 0, x <= 1 else { die("--read_ratio wants a fraction in [0, 1]") }
                f.readRatio = x
            case "timeline": f.timeline = v
            case "compression_ratio": f.compressionRatio = Double(v) ?? 0.5
            case "write_buffer_size": f.writeBufferSize = int()
            case "block_size": f.blockSize = int()
            case "bloom_bits": f.bloomBits = int()
            case "compression": f.compression = v
            case "cache_size": f.cacheSize = int()
            case "row_cache_size": f.rowCacheSize = int()
            case "open_files": f.openFiles = int()
            case "verify_checksums": f.verifyChecksums = bool()
            case "sync": f.sync = bool()
            case "batch": f.batch = int()
            case "threads": f.threads = int()
            case "seek_nexts": f.seekNexts = int()
            case "seed": f.seed = UInt64(v) ?? 301
            case "db": f.db = v
            case "use_existing_db": f.useExistingDB = bool()
            case "settle": f.settle = bool()
            case "stats": f.stats = bool()
            case "server": f.server = v
            case "connections": f.connections = int()
            case "pipeline": f.pipeline = int()
            case "password": f.password = v
            default: die("unknown flag --\(name)")
            }
        }
        if f.reads < 0 { f.reads = f.num }
        guard f.rate >= 0 else { die("--rate must not be negative") }
        ThreadStats.recordsTimeline = !f.timeline.isEmpty
        guard f.num >= 1, f.batch >= 1, f.threads >= 1, f.keySize >= 1, f.keySize <= 64, f.valueSize >= 0 else { die("bad numeric flag") }
        if f.keySize < 19 && Double(f.num) > pow(10, Double(f.keySize)) { die("--num does not fit in --key_size decimal digits") }
        if !f.server.isEmpty {
            guard f.connections >= 1, f.pipeline >= 1 else { die("--connections and --pipeline must be at least 1") }
            ServerBench(flags: f).run()
            return
        }
        var bench = Bench(flags: f)
        bench.run()
    }

    static func die(_ message: String) -> Never {
        _ = Array("kvbench: \(message)\n".utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}

struct Bench {
    let f: KVBench.Flags
    var store: KVStore?
    let showProgress = isatty(1) == 1 && isatty(2) == 1

    init(flags: KVBench.Flags) { f = flags }

    var options: Options {
        var o = Options()
        o.writeBufferSize = f.writeBufferSize
        o.blockSize = f.blockSize
        o.bloomBitsPerKey = f.bloomBits
        o.compression = Compression.allCases.first { $0.description == f.compression } ?? .lz4
        o.blockCacheCapacity = f.cacheSize
        o.rowCacheCapacity = f.rowCacheSize
        o.maxOpenFiles = max(16, f.openFiles)
        return o
    }

    mutating func open(fresh: Bool) {
        try? store?.close()
        store = nil
        if fresh { try? FileManager.default.removeItem(atPath: f.db) }
        do {
            store = try KVStore.open(at: f.db, options: options)
        } catch {
            KVBench.die("cannot open \(f.db): \(error)")
        }
    }

    mutating func run() {
        AnonymousMemory.startSampling()
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        comment("kvbench  \(Date())")
        comment("engine: KVStore (Swift), compression \(f.compression), \(ProcessInfo.processInfo.activeProcessorCount) cpus, \(machine)")
        comment("flags: --num=\(f.num) --reads=\(f.reads) --key_size=\(f.keySize) --value_size=\(f.valueSize) --write_buffer_size=\(f.writeBufferSize) --block_size=\(f.blockSize) --bloom_bits=\(f.bloomBits) --cache_size=\(f.cacheSize) --row_cache_size=\(f.rowCacheSize) --sync=\(f.sync ? 1 : 0) --batch=\(f.batch) --threads=\(f.threads) --seed=\(f.seed) --db=\(f.db)")
        open(fresh: !f.useExistingDB)
        for name in f.benchmarks.split(separator: ",").map(String.init) where !name.isEmpty {
            runOne(name)
            fflush(nil)
        }
        try? store?.close()
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        comment("peak_rss=\(format(Double(ru.ru_maxrss) / 1024, 1)) MiB peak_rss_anon=\(format(Double(AnonymousMemory.peakKiB) / 1024, 1)) MiB")
    }

    func comment(_ s: String) {
        if f.json {
            print("{\"comment\":\(jsonString(s))}")
        } else {
            print("# " + s)
        }
    }

    mutating func runOne(_ name: String) {
        let fresh = name == "fillseq" || name == "fillrandom" || name == "fillsync"
        let isWrite = fresh || name == "overwrite" || name == "deleterandom"
        if fresh {
            open(fresh: true)
        } else if f.settle {
            let t = nanos()
            store!.waitForCompactions()
            let s = Double(nanos() - t) / 1e9
            if s > 0.05 { comment("settle before \(name): \(format(s, 1)) s of background work") }
        }
        let before = store!.statistics()
        let n = f.num
        var stats: [ThreadStats]
        let store = self.store!
        let sampler = f.timelinePath(name).map { _ in
            EngineSampler(origin: nanos()) {
                let s = store.statistics()
                return (s.stallSeconds, s.flushBytesWritten + s.compactionBytesWritten)
            }
        }
        defer {
            if let path = f.timelinePath(name), let sampler {
                let wall = Double((stats.map(\.finish).max() ?? 0) &- (stats.map(\.start).min() ?? 0)) / 1e9
                TimelineFile.write(path, threads: stats.compactMap(\.timeline), engine: sampler.stop(), wallSeconds: wall)
                comment("\(name): timeline written to \(path)")
            }
        }
        switch name {
        case "fillseq":
            stats = writes(name, threads: 1, total: n, delete: false, sync: f.sync) { _, _ in { i in UInt64(i) } }
        case "fillrandom":
            var perm = [UInt32](unsafeUninitializedCapacity: n) { b, c in
                for i in 0..<n { b[i] = UInt32(i) }
                c = n
            }
            var rng = SplitMix64(seed: streamSeed(.fillRandom, 0, f.seed))
            var i = n - 1
            while i > 0 {
                perm.swapAt(i, Int(rng.uniform(UInt64(i + 1))))
                i -= 1
            }
            let permutation = perm
            stats = writes(name, threads: f.threads, total: n, delete: false, sync: f.sync) { t, threads in
                // Thread t writes every threads-th element of the one permutation.
                { i in UInt64(permutation[i * threads + t]) }
            }
        case "overwrite", "fillsync", "deleterandom":
            let stream: Stream = name == "overwrite" ? .overwrite : name == "fillsync" ? .fillSync : .deleteRandom
            let ops = name == "fillsync" ? max(1, n / 100) : n
            let seed = f.seed
            let threads = name == "deleterandom" ? 1 : f.threads
            stats = writes(name, threads: threads, total: ops, delete: name == "deleterandom", sync: name == "fillsync" || f.sync) { t, _ in
                var rng = SplitMix64(seed: streamSeed(stream, t, seed))
                return { _ in rng.uniform(UInt64(n)) }
            }
        case "readrandom", "readmissing", "readhot":
            let missing = name == "readmissing"
            let hot = name == "readhot"
            let me = self
            stats = parallel(f.threads) { t, s in
                me.readRandom(&s, seed: streamSeed(missing ? .readMissing : hot ? .readHot : .readRandom, t, me.f.seed), missing: missing, hot: hot)
            }
        case "readseq":
            var s = ThreadStats()
            readSeq(&s)
            stats = [s]
        case "seekrandom":
            let me = self
            stats = parallel(f.threads) { t, s in me.seekRandom(&s, seed: streamSeed(.seekRandom, t, me.f.seed)) }
        case "readwhilewriting":
            stats = readWhileWriting()
        case "load":
            let me = self
            stats = parallel(f.threads) { t, s in me.load(&s, thread: t) }
        default:
            KVBench.die("unknown benchmark: \(name)")
        }
        report(name, stats)
        if name == "load" { loadSummary(stats) }
        if isWrite { summary(name, stats.reduce(0) { $0 + $1.ops }, delete: name == "deleterandom", before: before) }
    }

    /// `threads` writer threads; `keys(t, threads)` makes thread t's key-index function.
    func writes(_ name: String, threads: Int, total: Int, delete: Bool, sync: Bool, keys: (Int, Int) -> ((Int) -> UInt64)) -> [ThreadStats] {
        let per = total / threads
        let makers = (0..<threads).map { keys($0, threads) }
        let keySize = f.keySize, valueSize = f.valueSize, batchSize = f.batch
        let store = self.store!
        let ratio = f.compressionRatio, seed = f.seed
        let progress = showProgress
        nonisolated(unsafe) let keyFunctions = makers
        return parallel(threads) { t, s in
            var keyOf = keyFunctions[t]
            var key = KeyMaker(width: keySize)
            var values = ValueMaker(size: valueSize, ratio: ratio, seed: seed)
            let count = t == threads - 1 ? total - per * (threads - 1) : per
            let entry = keySize + (delete ? 0 : valueSize)
            if progress && t == 0 { s.progress = Progress(name: name, total: count) }
            var batch = WriteBatch()
            s.begin()
            var i = 0
            while i < count {
                let m = min(batchSize, count - i)
                do {
                    if m == 1 {
                        let k = key.set(keyOf(i))
                        if delete { try store.delete(k, options: WriteOptions(sync: sync)) } else { try store.put(k, Array(values.next()), options: WriteOptions(sync: sync)) }
                    } else {
                        batch.removeAll()
                        for j in 0..<m {
                            let k = key.set(keyOf(i + j))
                            if delete { batch.delete(k) } else { batch.put(k, Array(values.next())) }
                        }
                        try store.write(batch, options: WriteOptions(sync: sync))
                    }
                } catch {
                    KVBench.die("\(name): \(error)")
                }
                s.done(m, bytes: m * entry)
                i += m
            }
            s.end()
            s.progress?.clear()
            _ = keyOf
            keyOf = { _ in 0 }
        }
    }

    /// `hot`: a fixed 1% of the keys only.
    func readRandom(_ s: inout ThreadStats, seed: UInt64, missing: Bool, hot: Bool = false) {
        var rng = SplitMix64(seed: seed)
        var key = KeyMaker(width: f.keySize)
        let store = self.store!
        let options = ReadOptions(verifyChecksums: f.verifyChecksums)
        if showProgress { s.progress = Progress(name: missing ? "readmissing" : hot ? "readhot" : "readrandom", total: f.reads) }
        let num = UInt64(f.num)
        let range = hot ? max(1, num / 100) : num
        s.begin()
        for _ in 0..<f.reads {
            var i = rng.uniform(range)
            // The hot keys are scattered over the whole key space (a multiplicative hash of
            // their rank), as hot sessions or users are, not one run of neighbouring keys.
            if hot { i = (i &* 0x9E37_79B9_7F4A_7C15) % num }
            let k = key.set(i, missing: missing)
            let v = try? store.get(k, options: options)
            var b = 0
            if let v {
                s.found += 1
                b = k.count + v.count
            }
            s.done(1, bytes: b)
        }
        s.end()
        s.progress?.clear()
    }

    /// `load` on one thread: its share of `--rate` (each operation due at a fixed interval,
    /// latency counted from then), reads with probability `--read_ratio`, until `--duration`
    /// has passed or its share of `--num` operations is done.
    func load(_ s: inout ThreadStats, thread t: Int) {
        var plan = LoadPlan(flags: f, thread: t, workers: f.threads)
        var key = KeyMaker(width: f.keySize)
        var values = ValueMaker(size: f.valueSizeMax ?? f.valueSize, ratio: f.compressionRatio, seed: f.seed)
        let store = self.store!
        let readOptions = ReadOptions(verifyChecksums: f.verifyChecksums)
        if showProgress && t == 0 && f.duration == 0 { s.progress = Progress(name: "load", total: plan.count) }
        s.begin()
        plan.start(at: s.start)
        while let due = plan.next(now: nanos()) {
            let op = plan.operation()
            let k = key.set(op.key)
            var b = 0
            do {
                if op.isRead {
                    if let v = try store.get(k, options: readOptions) {
                        s.found += 1
                        b = k.count + v.count
                    }
                } else {
                    let v = values.next(size: op.valueSize)
                    try store.put(k, Array(v), options: WriteOptions(sync: f.sync))
                    b = k.count + v.count
                }
            } catch {
                KVBench.die("load: \(error)")
            }
            let now = nanos()
            s.record(now: now, latency: now - (due ?? s.last), bytes: b)
            s.last = now
            plan.reads += op.isRead ? 1 : 0
        }
        s.reads = plan.reads
        s.end()
        s.progress?.clear()
    }

    func loadSummary(_ stats: [ThreadStats]) {
        let ops = stats.reduce(0) { $0 + $1.ops }, reads = stats.reduce(0) { $0 + $1.reads }
        let found = stats.reduce(0) { $0 + $1.found }
        comment("load: \(reads) reads (\(found) found), \(ops - reads) writes; read_ratio \(f.readRatio), rate \(f.rate == 0 ? "unlimited" : "\(f.rate)/s"), values \(f.valueSize)\(f.valueSizeMax.map { "-\($0)" } ?? "") bytes")
    }

    func readSeq(_ s: inout ThreadStats) {
        guard let it = try? store!.makeIterator(ReadOptions(verifyChecksums: f.verifyChecksums)) else { return }
        if showProgress { s.progress = Progress(name: "readseq", total: f.num) }
        s.begin()
        it.seekToFirst()
        while it.isValid {
            let b = it.withCurrent { $0.count + $1.count }
            it.next()
            s.found += 1
            s.done(1, bytes: b)
        }
        s.end()
        s.progress?.clear()
    }

    func seekRandom(_ s: inout ThreadStats, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var key = KeyMaker(width: f.keySize)
        guard let it = try? store!.makeIterator(ReadOptions(verifyChecksums: f.verifyChecksums)) else { return }
        if showProgress { s.progress = Progress(name: "seekrandom", total: f.reads) }
        s.begin()
        for _ in 0..<f.reads {
            it.seek(to: key.set(rng.uniform(UInt64(f.num))))
            if it.isValid { s.found += 1 }
            var b = 0
            var j = 0
            while j < f.seekNexts && it.isValid {
                b += it.withCurrent { $0.count + $1.count }
                it.next()
                j += 1
            }
            s.done(1, bytes: b)
        }
        s.end()
        s.progress?.clear()
    }

    func readWhileWriting() -> [ThreadStats] {
        let store = self.store!
        let stop = Atomic(false)
        let n = f.num, keySize = f.keySize, valueSize = f.valueSize, ratio = f.compressionRatio, seed = f.seed
        let writerDone = DispatchSemaphore(value: 0)
        let writerOps = Atomic(0)
        Thread {
            var rng = SplitMix64(seed: streamSeed(.readWhileWritingWriter, 0, seed))
            var key = KeyMaker(width: keySize)
            var values = ValueMaker(size: valueSize, ratio: ratio, seed: seed)
            while !stop.load() {
                try? store.put(key.set(rng.uniform(UInt64(n))), Array(values.next()))
                writerOps.add(1)
            }
            writerDone.signal()
        }.start()
        let start = nanos()
        let stats = parallel(f.threads) { t, s in self.readRandom(&s, seed: streamSeed(.readWhileWritingReader, t, self.f.seed), missing: false) }
        stop.store(true)
        writerDone.wait()
        let seconds = Double(nanos() - start) / 1e9
        comment("readwhilewriting writer: \(writerOps.load()) puts in \(format(seconds, 3)) s = \(Int(Double(writerOps.load()) / seconds)) ops/sec")
        return stats
    }

    /// Runs `body` on `count` threads released together; returns their stats.
    func parallel(_ count: Int, _ body: @escaping (Int, inout ThreadStats) -> Void) -> [ThreadStats] {
        if count == 1 {
            var s = ThreadStats()
            body(0, &s)
            return [s]
        }
        let results = Mutexed([ThreadStats](repeating: ThreadStats(), count: count))
        let group = DispatchGroup()
        nonisolated(unsafe) let work = body
        for t in 0..<count {
            group.enter()
            Thread {
                var s = ThreadStats()
                work(t, &s)
                results.set(t, s)
                group.leave()
            }.start()
        }
        group.wait()
        return results.value
    }

    func report(_ name: String, _ stats: [ThreadStats]) {
        var h = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two)
        var ops = 0, bytes = 0, found = 0
        var start = UInt64.max, finish: UInt64 = 0
        var busy = 0.0
        for s in stats {
            h.add(s.histogram)
            ops += s.ops
            bytes += s.bytes
            found += s.found
            start = min(start, s.start)
            finish = max(finish, s.finish)
            busy += Double(s.finish - s.start) / 1e9
        }
        let opsCount = max(ops, 1)
        let wall = max(1e-9, Double(finish - start) / 1e9)
        let microsPerOp = busy * 1e6 / Double(opsCount)
        let opsPerSec = Double(ops) / wall
        let mbps = Double(bytes) / 1_048_576 / wall
        let p50 = Double(h.valueAtPercentile(50)) / 1e3, p99 = Double(h.valueAtPercentile(99)) / 1e3, p999 = Double(h.valueAtPercentile(99.9)) / 1e3
        let maximum = Double(h.max) / 1e3
        if f.json {
            print("{\"benchmark\":\(jsonString(name)),\"micros_per_op\":\(format(microsPerOp, 3)),\"ops_per_sec\":\(Int(opsPerSec)),\"mb_per_sec\":\(format(mbps, 1)),\"p50_us\":\(format(p50, 2)),\"p99_us\":\(format(p99, 2)),\"p999_us\":\(format(p999, 2)),\"max_us\":\(format(maximum, 2)),\"ops\":\(ops),\"found\":\(found),\"wall_s\":\(format(wall, 3))}")
        } else {
            print("\(name) : \(format(microsPerOp, 3)) micros/op; \(Int(opsPerSec)) ops/sec; \(format(mbps, 1)) MB/s; p50=\(format(p50, 2)) p99=\(format(p99, 2)) p999=\(format(p999, 2)) max=\(format(maximum, 2))")
            comment("\(name): ops=\(ops) wall=\(format(wall, 3)) s" + (name.hasPrefix("read") || name == "seekrandom" ? " found=\(found)" : ""))
        }
    }

    /// After a write workload: settle, then size on disk and the engine's statistics.
    func summary(_ name: String, _ ops: Int, delete: Bool, before: Statistics) {
        let t = nanos()
        if f.settle { store!.waitForCompactions() }
        let waited = Double(nanos() - t) / 1e9
        let s = store!.statistics()
        let user = Double(ops * (f.keySize + (delete ? 0 : f.valueSize)))
        let lsm = Double((s.flushBytesWritten - before.flushBytesWritten) + (s.compactionBytesWritten - before.compactionBytesWritten))
        let size = directorySize(f.db)
        comment("\(name): db_size=\(format(Double(size) / 1_048_576, 1)) MiB (tables \(format(Double(s.liveTableBytes) / 1_048_576, 1)) MiB in \(s.levels.reduce(0) { $0 + $1.files }) files); files per level \(s.levels.map(\.files))")
        comment("\(name): user_bytes=\(format(user / 1_048_576, 1)) MiB flush+compaction=\(format(lsm / 1_048_576, 1)) MiB lsm_write_amp=\(format(user > 0 ? lsm / user : 0, 2)) stalls: \(s.slowdowns - before.slowdowns) slowdowns, \(s.stops - before.stops) stops, \(format(s.stallSeconds - before.stallSeconds, 2)) s (bg settle \(format(waited, 1)) s)")
        if f.stats {
            for line in s.report.split(separator: "\n") { comment("  " + line) }
        }
    }

    func directorySize(_ path: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.reduce(0) { total, n in
            let attrs = try? FileManager.default.attributesOfItem(atPath: path + "/" + n)
            return total + ((attrs?[.size] as? Int) ?? 0)
        }
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}

/// A small locked box for collecting thread results.
final class Mutexed<T>: @unchecked Sendable {
    // `value` is only touched under `lock`.
    private let lock = NSLock()
    private var storage: T
    init(_ v: T) { storage = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return storage }
    func set<E>(_ i: Int, _ e: E) where T == [E] { lock.lock(); storage[i] = e; lock.unlock() }
}

/// A minimal atomic for the benchmark's flags (Synchronization.Atomic cannot be captured).
final class Atomic<T>: @unchecked Sendable {
    // `v` is only touched under `lock`.
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    func load() -> T { lock.lock(); defer { lock.unlock() }; return v }
    func store(_ n: T) { lock.lock(); v = n; lock.unlock() }
}

extension Atomic where T == Int {
    func add(_ d: Int) { lock.lock(); v += d; lock.unlock() }
}
