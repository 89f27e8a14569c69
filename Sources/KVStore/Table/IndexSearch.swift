/// A table's index block as a sorted array of 8-byte integers, so that a point read finds its
/// data block by comparing integers in a few cache lines.
///
/// The index holds one entry per data block, each stored whole (restart interval 1). Searching
/// it directly costs, per probe of the binary search, a load from the restart array and one
/// from the entry it points to — two cache misses in a block of tens of kilobytes — and a
/// varint decode; the index search was most of the 8% of a server GET's profile spent in
/// `keyAtRestart` (2026-12-07, docs/BENCHMARKS.md). Here each entry is summarised, in one
/// contiguous array, by the 8 bytes of its user key that follow the prefix every key in the
/// table shares (big-endian, zero-padded). That summary never decreases along the index, so
/// it narrows the search to the entries whose summary equals the target's, and only those are
/// compared in full (usually none or one).
///
/// Built at table open from the index block, which has been checksum-verified; memory only,
/// nothing on disk. A table whose index is not one restart per entry (or is malformed) gets
/// none and is searched with a `BlockCursor`, which reports any damage.
struct IndexSearch: Sendable {
    /// The bytes every index entry's user key starts with.
    private let common: [UInt8]
    /// Per entry: the 8 bytes of its user key after `common`, big-endian, zero-padded.
    private let summaries: [UInt64]

    init?(_ index: Block) {
        let count = index.restartCount
        // Every entry must be a restart, end where the next begins, and hold an internal key.
        var offset = 0
        for i in 0..<count {
            guard index.restartPoint(i) == offset, let h = index.entryHeader(at: offset), h.shared == 0, h.unshared >= 8 else {
                return nil
            }
            offset = h.keyStart + h.unshared + h.valueCount
        }
        guard offset == index.restartsOffset, let first = index.keyAtRestart(0), let last = index.keyAtRestart(count - 1) else {
            return nil
        }
        // Sorted keys between two others share the prefix those two share.
        let a = userKey(first)
        let b = userKey(last)
        var n = 0
        while n < min(a.count, b.count) && a[n] == b[n] { n += 1 }
        common = Array(a[0..<n])
        var summaries = [UInt64]()
        summaries.reserveCapacity(count)
        for i in 0..<count {
            guard let key = index.keyAtRestart(i) else { return nil }
            summaries.append(Self.summary(userKey(key), after: n))
        }
        self.summaries = summaries
    }

    /// Bytes `n ..< n + 8` of `key` as a big-endian integer, zero past its end. Never
    /// decreases as keys increase: for `x < y`, either `x` is a prefix of `y` (zeros against
    /// `y`'s bytes) or they first differ at some byte, which either falls in the window
    /// (smaller) or after it (equal).
    @inline(__always)
    private static func summary(_ key: UnsafeRawBufferPointer, after n: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = 0
        while i < 8 {
            v <<= 8
            if n + i < key.count { v |= UInt64(key[n + i]) }
            i += 1
        }
        return v
    }

    /// The index of the first entry whose key is ≥ `target` (an internal key), `count` when
    /// every key is before it. Nil when an entry it must compare in full is unreadable, which
    /// cannot happen for an index this was built from (kept so nothing traps).
    func find(_ target: UnsafeRawBufferPointer, in index: Block) -> Int? {
        let count = summaries.count
        let u = userKey(target)
        let n = common.count
        let m = min(n, u.count)
        let c = common.withUnsafeBytes { compareBytes(u.baseAddress, m, $0.baseAddress, m) }
        if c < 0 || (c == 0 && u.count < n) { return 0 }  // before every key: below the shared prefix
        if c > 0 { return count }  // after every key
        let s = Self.summary(u, after: n)
        var lo = 0
        var hi = count
        summaries.withUnsafeBufferPointer { p in
            // First entry whose summary is ≥ s: every one before it has a smaller key.
            while lo < hi {
                let mid = (lo + hi) / 2
                if p[mid] < s { lo = mid + 1 } else { hi = mid }
            }
            // First entry whose summary is > s: it and every one after it has a larger key.
            hi = count
            var x = lo
            while x < hi {
                let mid = (x + hi) / 2
                if p[mid] <= s { x = mid + 1 } else { hi = mid }
            }
        }
        // Only the entries whose summary equals s need the full comparison.
        while lo < hi {
            let mid = (lo + hi) / 2
            guard let key = index.keyAtRestart(mid) else { return nil }
            if compareInternalKeys(key, target) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The value (a block handle) of entry `i` of `index`.
    static func value(_ i: Int, in index: Block) -> UnsafeRawBufferPointer? {
        guard let h = index.entryHeader(at: index.restartPoint(i)) else { return nil }
        return UnsafeRawBufferPointer(start: index.bytes.baseAddress! + h.keyStart + h.unshared, count: h.valueCount)
    }

    /// Memory it holds, for the table cache's accounting.
    var size: Int { common.count + summaries.count * 8 }
}
