/// How fast writes may go while flushing and compaction are behind: RocksDB's delayed-write
/// rate, in small — a token bucket whose rate adapts to the debt.
///
/// Below the slowdown trigger writes go at full speed. From it on, the leader of each group
/// pays for the group's bytes from a token bucket refilled at `rate` bytes a second, and
/// sleeps off what it cannot pay. A slowdown starts from what writes were doing (the rate
/// over the last memtable, times `slowdownFactor`), not from the configured maximum: a
/// fixed 64 MiB/s start did nothing to a 25 MiB/s fill until level 0 was three files past the
/// trigger, one short of the stop (19 stops in a 10M-key fillrandom; docs/BENCHMARKS.md).
/// The rate adapts as RocksDB's does: each time the debt (the
/// level-0 files at or past the slowdown trigger, plus one while a memtable waits to flush
/// and the next is half full) is found larger than last time, the rate falls by
/// `slowdownFactor`; each time smaller, it climbs back; with no debt the bucket resets to
/// the full rate. So a burst meets a gradually lower write rate, and the stop trigger (a full
/// wait for compaction) is reached only if compaction cannot keep up even with slowed writes.
///
/// Owned by the `WriteController`, under its lock.
struct DelayedWriteRate {
    /// The rate a slowdown starts at (`Options.delayedWriteRate`).
    private(set) var maxRate: Double
    /// The floor: writes never slow below this.
    private(set) var minRate: Double
    private(set) var rate: Double
    private var lastDebt = 0
    /// Bytes that may be written now without waiting, and when it was last refilled.
    private var credit: Double = 0
    private var refilledAt: UInt64 = 0

    /// Rate drops to 60% for each step the debt grows (measured: see docs/BENCHMARKS.md).
    static let slowdownFactor = 0.6
    /// At most this many seconds' worth of writes go through without a pause.
    static let burstSeconds = 0.002

    init(maxRate: Int) {
        self.maxRate = Double(max(maxRate, 1 << 16))
        self.minRate = self.maxRate / 64
        self.rate = self.maxRate
    }

    /// A new `Options.delayedWriteRate` (`KVStore.setOptions`); a slowdown in force keeps
    /// its rate within the new bounds.
    mutating func setMaxRate(_ maxRate: Int) {
        self.maxRate = Double(max(maxRate, 1 << 16))
        minRate = self.maxRate / 64
        rate = min(self.maxRate, max(minRate, rate))
    }

    private func refilled(now: UInt64) -> Double {
        let elapsed = Double(now &- refilledAt) / 1e9
        return min(credit + elapsed * rate, rate * Self.burstSeconds)
    }

    /// Writes are being held to a rate (the last charge found a debt): the next charge must
    /// run even with no debt, to reset the bucket.
    var isSlowing: Bool { lastDebt > 0 }

    /// Whether a group of `bytes` would have to wait now (a non-blocking writer's question;
    /// it changes nothing).
    func wouldDelay(bytes: Int, debt: Int, now: UInt64) -> Bool {
        guard debt > 0 else { return false }
        // A rising debt lowers the rate first, so the answer can only be "wait" then.
        if debt > lastDebt { return true }
        return refilled(now: now) < Double(bytes)
    }

    /// Charges a group of `bytes` written at `now`; returns how many nanoseconds the leader
    /// must sleep first (0: none).
    /// `recentRate` is the bytes per second written over the last memtable (nil if unknown).
    mutating func delay(bytes: Int, debt: Int, now: UInt64, recentRate: Double?) -> UInt64 {
        guard debt > 0 else {
            rate = maxRate
            lastDebt = 0
            credit = 0
            refilledAt = now
            return 0
        }
        if lastDebt == 0 {
            if let recentRate { rate = min(maxRate, max(minRate, recentRate * Self.slowdownFactor)) }
            credit = rate * Self.burstSeconds
            refilledAt = now
        } else if debt > lastDebt {
            rate = max(minRate, rate * Self.slowdownFactor)
        } else if debt < lastDebt {
            rate = min(maxRate, rate / Self.slowdownFactor)
        }
        lastDebt = debt
        credit = refilled(now: now)
        refilledAt = now
        if credit >= Double(bytes) {
            credit -= Double(bytes)
            return 0
        }
        let wait = (Double(bytes) - credit) / rate
        credit = 0
        // The bucket resumes filling when the sleep ends.
        let nanos = UInt64(min(wait, 1.0) * 1e9)
        refilledAt = now &+ nanos
        return nanos
    }
}
