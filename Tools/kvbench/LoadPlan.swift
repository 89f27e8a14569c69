import KVStoreTesting

/// The `load` workload's schedule for one thread or connection: how many operations (or
/// until when), when each is due under `--rate`, and what each is (a read or a write, which
/// key, what value size), from its own SplitMix64 stream so runs repeat.
struct LoadPlan {
    let count: Int
    let durationNanos: UInt64
    /// Nanoseconds between operations at this worker's share of the rate (0: unlimited).
    let interval: UInt64
    let readThreshold: UInt64
    let keys: UInt64
    let minValue: Int
    let maxValue: Int
    var rng: SplitMix64
    var issued = 0
    var reads = 0
    private var origin: UInt64 = 0

    init(flags f: KVBench.Flags, thread t: Int, workers: Int) {
        count = f.duration > 0 ? Int.max : f.num / workers + (t < f.num % workers ? 1 : 0)
        durationNanos = UInt64(f.duration * 1e9)
        interval = f.rate > 0 ? UInt64(1e9 * Double(workers) / Double(f.rate)) : 0
        readThreshold = UInt64(f.readRatio * Double(UInt64.max >> 11)) << 11
        keys = UInt64(max(1, f.num))
        minValue = f.valueSize
        maxValue = f.valueSizeMax ?? f.valueSize
        rng = SplitMix64(seed: streamSeed(.load, t, f.seed))
    }

    mutating func start(at now: UInt64) { origin = now }

    /// Waits until the next operation is due; nil when the plan is done. The result is the
    /// time it was due (nil inside: no rate, so latency runs from the previous operation).
    mutating func next(now: UInt64) -> UInt64?? {
        guard issued < count else { return nil }
        // With a rate, an operation belongs to the run when it is due within the duration.
        let due = origin + UInt64(issued) * interval
        guard durationNanos == 0 || (interval > 0 ? due : now) &- origin < durationNanos else { return nil }
        issued += 1
        guard interval > 0 else { return .some(nil) }
        if due > now { sleepNanos(due - now) }
        return .some(due)
    }

    /// Whether the next operation is already due (a pipelining connection adds it to the
    /// batch it is about to send).
    func nextIsDue(now: UInt64) -> Bool {
        interval == 0 || origin + UInt64(issued) * interval <= now
    }

    mutating func operation() -> (isRead: Bool, key: UInt64, valueSize: Int) {
        let isRead = readThreshold > 0 && rng.next() < readThreshold
        let key = rng.uniform(keys)
        let size = maxValue > minValue ? minValue + Int(rng.uniform(UInt64(maxValue - minValue + 1))) : minValue
        return (isRead, key, size)
    }
}
