#if canImport(Glibc)
import Glibc
#endif
import Histogram
import KVStore
import KVStoreTesting

// The workload definitions of ../shared/BENCHMARKS.md and the header of peerbench.cc, so
// that kvbench and peerbench measure the same thing line by line: SplitMix64 streams seeded
// (seed << 16) | (stream << 8) | thread, keys "%0<key_size>d" (missing keys end in "."),
// values from db_bench's compressible 1 MiB buffer.

enum Stream: UInt64 {
    case fillRandom = 1, overwrite, fillSync, readRandom, readMissing, seekRandom, deleteRandom
    case readWhileWritingReader, readWhileWritingWriter, values, load, readHot
}

func streamSeed(_ stream: Stream, _ thread: Int, _ seed: UInt64) -> UInt64 {
    (seed << 16) | (stream.rawValue << 8) | UInt64(thread & 0xff)
}

/// Zero-padded decimal keys in a reused buffer.
struct KeyMaker {
    let width: Int
    var bytes: [UInt8]

    init(width: Int) {
        self.width = width
        bytes = [UInt8](repeating: UInt8(ascii: "0"), count: width)
    }

    mutating func set(_ index: UInt64, missing: Bool = false) -> [UInt8] {
        if bytes.count != width + (missing ? 1 : 0) {
            bytes = [UInt8](repeating: UInt8(ascii: "0"), count: width + (missing ? 1 : 0))
            if missing { bytes[width] = UInt8(ascii: ".") }
        }
        var v = index
        for i in stride(from: width - 1, through: 0, by: -1) {
            bytes[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
        return bytes
    }
}

/// db_bench's RandomGenerator with CompressibleString(compression_ratio): 100-byte pieces,
/// each `ratio × 100` random printable characters repeated to 100 bytes.
struct ValueMaker {
    let data: [UInt8]
    let size: Int
    var position = 0

    init(size: Int, ratio: Double, seed: UInt64) {
        self.size = size
        var rng = SplitMix64(seed: streamSeed(.values, 0, seed))
        let raw = max(1, Int(100 * ratio))
        var d: [UInt8] = []
        let want = max(1 << 20, size)
        while d.count < want {
            var rawData: [UInt8] = []
            for _ in 0..<raw { rawData.append(UInt8(32 + rng.uniform(95))) }
            var piece: [UInt8] = []
            while piece.count < 100 { piece += rawData }
            d += piece.prefix(100)
        }
        data = d
    }

    mutating func next() -> ArraySlice<UInt8> {
        next(size: size)
    }

    /// A value of `size` bytes (at most the 1 MiB buffer, or `size` at construction).
    mutating func next(size: Int) -> ArraySlice<UInt8> {
        let size = min(size, data.count)
        if position + size > data.count { position = 0 }
        position += size
        return data[(position - size)..<position]
    }
}

/// One thread's figures: operations, bytes, busy time and per-operation latencies (time
/// since the previous operation finished on the thread, as db_bench).
struct ThreadStats {
    var ops = 0
    var bytes = 0
    var found = 0
    /// Of `ops`, reads (the `load` workload's mix).
    var reads = 0
    var start: UInt64 = 0
    var finish: UInt64 = 0
    var last: UInt64 = 0
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two)
    var progress: Progress?
    /// Per-second figures for `--timeline` (nil without it: nothing recorded).
    var timeline: TimelineRecorder?
    /// Set once at start-up, before any workload thread runs.
    nonisolated(unsafe) static var recordsTimeline = false

    mutating func begin() {
        start = nanos()
        last = start
        if Self.recordsTimeline { timeline = TimelineRecorder(origin: start) }
    }

    @inline(__always)
    mutating func done(_ n: Int, bytes b: Int) {
        let now = nanos()
        record(now: now, latency: now - last, ops: n, bytes: b)
        last = now
    }

    /// An operation that finished at `now` after `latency` (with `--rate`, measured from
    /// when it was due, so a stall delays every operation queued behind it, as wrk2 and
    /// memtier measure: no coordinated omission).
    @inline(__always)
    mutating func record(now: UInt64, latency: UInt64, ops n: Int = 1, bytes b: Int) {
        _ = histogram.record(latency)
        timeline?.record(now: now, latency: latency, ops: n)
        ops += n
        bytes += b
        progress?.tick(ops, now: now)
    }

    mutating func end() { finish = nanos() }
}

/// Sleeps `n` nanoseconds (a rate-limited worker waiting for its next operation's turn).
func sleepNanos(_ n: UInt64) {
    var ts = timespec(tv_sec: Int(n / 1_000_000_000), tv_nsec: Int(n % 1_000_000_000))
    var left = timespec()
    while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
}

@inline(__always)
func nanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The live progress line on a terminal: ops/s so far, elapsed, ETA.
struct Progress {
    let name: String
    let total: Int
    let start = nanos()
    var lastPrint: UInt64 = 0

    mutating func tick(_ done: Int, now: UInt64) {
        guard done & 0x3ff == 0, now - lastPrint > 250_000_000 else { return }
        lastPrint = now
        let elapsed = Double(now - start) / 1e9
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = "\r\(name): \(done)/\(total) ops, \(Int(rate)) ops/s, \(String(format1(elapsed)))s elapsed, ETA \(String(format1(eta)))s   "
        _ = Array(line.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    func clear() {
        let blank = "\r" + String(repeating: " ", count: 90) + "\r"
        _ = Array(blank.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

func format1(_ v: Double) -> String { format(v, 1) }

func format(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = String(r)
    if s.contains("e") { return String(Int(r)) }
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < digits { s += String(repeating: "0", count: digits - have) }
        if digits == 0 { s = String(s[..<dot]) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}
