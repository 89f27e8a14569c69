/// A range deletion: every key in [start, end) with a sequence below `sequence` is deleted;
/// a nil `end` is past every key.
package struct RangeTombstone: Sendable, Equatable {
    var start: [UInt8]
    var end: [UInt8]?
    var sequence: UInt64

    package init(start: [UInt8], end: [UInt8]?, sequence: UInt64) {
        self.start = start
        self.end = end
        self.sequence = sequence
    }
}

/// Range tombstones cut into disjoint fragments, each with the sequences of the tombstones
/// covering it (newest first), so "what deletes this key at that sequence" is a binary
/// search. Built once per read state or compaction; tombstones are expected to number in
/// the thousands at most (each is garbage-collected once compaction dropped what it covered).
struct TombstoneIndex: Sendable {
    struct Fragment: Sendable {
        var start: [UInt8]
        /// Nil: past every key (only the last fragment).
        var end: [UInt8]?
        var sequences: [UInt64]  // descending
    }

    private(set) var fragments: [Fragment] = []
    let tombstones: [RangeTombstone]

    var isEmpty: Bool { fragments.isEmpty }

    init(_ tombstones: [RangeTombstone]) {
        self.tombstones = tombstones
        let live = tombstones.filter { t in t.end.map { compareArrays(t.start, $0) < 0 } ?? true }
        guard !live.isEmpty else { return }
        var points = live.flatMap { t in [t.start] + (t.end.map { [$0] } ?? []) }
        points.sort { compareArrays($0, $1) < 0 }
        var unique: [[UInt8]] = []
        for p in points where unique.last.map({ compareArrays($0, p) != 0 }) ?? true { unique.append(p) }
        let byStart = live.sorted { compareArrays($0.start, $1.start) < 0 }
        var next = 0
        var active: [RangeTombstone] = []
        // The last point starts a fragment without end: only open-ended tombstones reach it.
        for i in 0..<unique.count {
            let lo = unique[i], hi = i + 1 < unique.count ? unique[i + 1] : nil
            while next < byStart.count && compareArrays(byStart[next].start, lo) <= 0 {
                active.append(byStart[next])
                next += 1
            }
            active.removeAll { t in t.end.map { compareArrays($0, lo) <= 0 } ?? false }
            if !active.isEmpty {
                fragments.append(Fragment(start: lo, end: hi, sequences: active.map(\.sequence).sorted(by: >)))
            }
        }
    }

    /// The fragment containing `key`, if any.
    func fragment(containing key: UnsafeRawBufferPointer) -> Fragment? {
        var lo = 0
        var hi = fragments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let beyond = fragments[mid].end?.withUnsafeBytes { compareBytes($0.baseAddress, $0.count, key.baseAddress, key.count) <= 0 } ?? false
            if beyond { lo = mid + 1 } else { hi = mid }
        }
        guard lo < fragments.count else { return nil }
        let f = fragments[lo]
        let inside = f.start.withUnsafeBytes { compareBytes($0.baseAddress, $0.count, key.baseAddress, key.count) <= 0 }
        return inside ? f : nil
    }

    /// The newest tombstone sequence ≤ `sequence` covering `key`, or 0.
    func coveringSequence(_ key: UnsafeRawBufferPointer, atOrBelow sequence: UInt64) -> UInt64 {
        guard !fragments.isEmpty, let f = fragment(containing: key) else { return 0 }
        return f.sequences.first { $0 <= sequence } ?? 0
    }
}

func compareArrays(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x.baseAddress, x.count, y.baseAddress, y.count) } }
}

/// Newest covering tombstone sequence ≤ `sequence` in a plain list (memtables keep few).
func coveringSequence(in tombstones: [RangeTombstone], _ key: UnsafeRawBufferPointer, atOrBelow sequence: UInt64) -> UInt64 {
    var best: UInt64 = 0
    for t in tombstones where t.sequence <= sequence && t.sequence > best {
        let afterStart = t.start.withUnsafeBytes { compareBytes($0.baseAddress, $0.count, key.baseAddress, key.count) <= 0 }
        let beforeEnd = t.end?.withUnsafeBytes { compareBytes(key.baseAddress, key.count, $0.baseAddress, $0.count) < 0 } ?? true
        if afterStart && beforeEnd { best = t.sequence }
    }
    return best
}
