#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `--timeline FILE`: what each second of a workload looked like — operations, p99 and max
/// latency of the operations that finished in it, time writers stalled, bytes flushes and
/// compactions wrote — as CSV for `Tools/bench/charts.py`:
///
///     t_s,ops,ops_per_s,p99_us,max_us,stall_ms,compaction_bytes
///
/// Each thread keeps its own seconds (no lock per operation); a sampler thread reads the
/// engine's cumulative figures once a second; the rows are the merge.
struct SecondStats {
    var ops = 0
    var maxNanos: UInt64 = 0
    /// Log-linear latency buckets: 8 per power of two (≤ 12.5% error on p99).
    var buckets = [UInt32](repeating: 0, count: SecondStats.bucketCount)

    static let bucketCount = 64 * 8

    @inline(__always)
    static func bucket(_ nanos: UInt64) -> Int {
        guard nanos >= 8 else { return Int(nanos) }
        let p = 63 - nanos.leadingZeroBitCount  // ≥ 3
        let sub = Int((nanos >> UInt64(p - 3)) & 7)
        return min(bucketCount - 1, (p - 2) * 8 + sub)
    }

    /// The bucket's upper bound, nanoseconds.
    static func upper(_ bucket: Int) -> UInt64 {
        guard bucket >= 8 else { return UInt64(bucket) }
        let p = bucket / 8 + 2, sub = UInt64(bucket % 8)
        return (8 + sub + 1) << UInt64(p - 3)
    }

    mutating func add(_ other: SecondStats) {
        ops += other.ops
        maxNanos = max(maxNanos, other.maxNanos)
        for i in buckets.indices { buckets[i] &+= other.buckets[i] }
    }

    func percentileNanos(_ p: Double) -> UInt64 {
        let total = buckets.reduce(0) { $0 + Int($1) }
        guard total > 0 else { return 0 }
        let rank = Int((Double(total) * p / 100).rounded(.up))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += Int(n)
            if seen >= rank { return min(Self.upper(i), maxNanos) }
        }
        return maxNanos
    }
}

/// One thread's seconds, indexed from the workload's start.
struct TimelineRecorder {
    let origin: UInt64
    var seconds: [SecondStats] = []

    init(origin: UInt64) { self.origin = origin }

    @inline(__always)
    mutating func record(now: UInt64, latency: UInt64, ops: Int = 1) {
        let i = Int((now &- origin) / 1_000_000_000)
        while seconds.count <= i { seconds.append(SecondStats()) }
        seconds[i].ops += ops
        seconds[i].maxNanos = max(seconds[i].maxNanos, latency)
        seconds[i].buckets[SecondStats.bucket(latency)] &+= 1
    }
}

/// The engine's cumulative stall time and flush+compaction bytes, once a second.
final class EngineSampler: @unchecked Sendable {
    // `samples` and `stopped` are only touched under `lock`.
    private let lock = NSLock()
    private var samples: [(stallSeconds: Double, lsmBytes: Int64)] = []
    private var stopped = false
    private let read: () -> (stallSeconds: Double, lsmBytes: Int64)?
    let origin: UInt64

    /// Samples `read` at the origin and at each whole second after it until `stop`.
    init(origin: UInt64, read: @escaping () -> (stallSeconds: Double, lsmBytes: Int64)?) {
        self.origin = origin
        self.read = read
        let first = read() ?? (0, 0)
        samples = [first]
        let me = self
        Thread {
            var k: UInt64 = 1
            while true {
                let due = me.origin + k * 1_000_000_000
                let now = nanos()
                if due > now { usleep(UInt32(min((due - now) / 1000, 1_000_000))) }
                if nanos() < due { continue }
                let s = me.read()
                me.lock.lock()
                let done = me.stopped
                if !done { me.samples.append(s ?? me.samples.last ?? (0, 0)) }
                me.lock.unlock()
                if done { return }
                k += 1
            }
        }.start()
    }

    /// Stops sampling; the per-second deltas (index i: second i).
    func stop() -> [(stallMs: Double, lsmBytes: Int64)] {
        lock.lock()
        stopped = true
        let s = samples
        lock.unlock()
        return zip(s, s.dropFirst()).map { a, b in (max(0, (b.stallSeconds - a.stallSeconds) * 1000), max(0, b.lsmBytes - a.lsmBytes)) }
    }
}

enum TimelineFile {
    /// Merges the threads' seconds with the sampler's and writes the CSV.
    static func write(_ path: String, threads: [TimelineRecorder], engine: [(stallMs: Double, lsmBytes: Int64)], wallSeconds: Double) {
        var merged: [SecondStats] = []
        for t in threads {
            for (i, s) in t.seconds.enumerated() {
                while merged.count <= i { merged.append(SecondStats()) }
                merged[i].add(s)
            }
        }
        var text = "t_s,ops,ops_per_s,p99_us,max_us,stall_ms,compaction_bytes\n"
        for (i, s) in merged.enumerated() {
            // The last second may be partial: its rate is over the part that ran.
            let length = min(1.0, max(1e-3, wallSeconds - Double(i)))
            let stallMs: Double = i < engine.count ? engine[i].stallMs : 0
            let lsmBytes: Int64 = i < engine.count ? engine[i].lsmBytes : 0
            let end: Double = Double(i) + length
            let perSecond = Int(Double(s.ops) / length)
            let p99: Double = Double(s.percentileNanos(99)) / 1000
            let maxUs: Double = Double(s.maxNanos) / 1000
            let fields: [String] = [format(end, 3), String(s.ops), String(perSecond), format(p99, 1), format(maxUs, 1), format(stallMs, 1), String(lsmBytes)]
            text += fields.joined(separator: ",") + "\n"
        }
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            KVBench.die("cannot write --timeline \(path): \(error)")
        }
    }
}
