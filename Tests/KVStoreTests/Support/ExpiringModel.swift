import Synchronization

@testable import KVStore
import KVStoreTesting

/// What reads of a store must see, for the random read-path workloads (multi-get, row
/// cache): key → value and expiry, with range deletions applied as the store applies them.
struct ExpiringModel {
    var entries: [[UInt8]: (value: [UInt8], expiresAt: UInt64?)] = [:]

    /// The value a read at clock `t` sees: expiry is judged at the read, not at the write.
    func visible(_ k: [UInt8], at t: UInt64) -> [UInt8]? {
        guard let e = entries[k] else { return nil }
        if let x = e.expiresAt, x <= t { return nil }
        return e.value
    }

    /// What a random step asks of the caller, which keeps its own snapshots.
    enum Step { case none, takeSnapshot, releaseSnapshot }

    /// One random step over keys `key(0..<keyCount)`, applied alike to every store and to the
    /// model: a put (one in six with an expiry), a deletion, a range deletion, the clock
    /// moving, a flush or a compaction; or a request to take or release a snapshot.
    mutating func randomStep(
        _ stores: [KVStore], keyCount: Int, key: (Int) -> [UInt8], now: borrowing Atomic<UInt64>, _ rng: inout SplitMix64
    ) throws -> Step {
        let k = key(Int(rng.uniform(UInt64(keyCount))))
        switch rng.uniform(100) {
        case 0..<50:
            let v = randomBytes(Int(rng.uniform(150)), &rng)
            for s in stores { try s.put(k, v) }
            entries[k] = (v, nil)
        case 50..<60:
            let v = randomBytes(Int(rng.uniform(40)), &rng)
            let deadline = now.load(ordering: .relaxed) + 1 + rng.uniform(2000)
            for s in stores { try s.put(k, v, expiresAt: deadline) }
            entries[k] = (v, deadline)
        case 60..<75:
            for s in stores { try s.delete(k) }
            entries[k] = nil
        case 75..<78:
            let a = Int(rng.uniform(UInt64(keyCount)))
            let (lo, hi) = (key(a), key(min(keyCount - 1, a + Int(rng.uniform(UInt64(keyCount / 10 + 1))))))
            for s in stores { try s.deleteRange(from: lo, to: hi) }
            for m in entries.keys where !bytesPrecede(m, lo) && bytesPrecede(m, hi) { entries[m] = nil }
        case 78..<85:
            now.add(rng.uniform(500), ordering: .relaxed)
        case 85..<88:
            return .takeSnapshot
        case 88..<90:
            return .releaseSnapshot
        case 90..<93:
            for s in stores { try s.flush() }
        case 93:
            for s in stores { try s.compactRange() }
        default:
            break
        }
        return .none
    }
}
