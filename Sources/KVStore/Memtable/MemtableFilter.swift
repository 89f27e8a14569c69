import Atomics

/// A cache-local Bloom filter over the user keys in a memtable, so a point read of a key the
/// memtable does not hold (nearly every read, once data has been flushed) skips the skip-list
/// search: that search was half of a missing-key read (measured with perf on readmissing).
///
/// Same probing as the table filter (`BloomFilter`): one 64-byte line per key, six probes in
/// it. Sized at 1/64 of the write buffer (64 KiB for 4 MiB): about 17 bits per key for 100-byte
/// values; smaller entries fill it more and raise its false positives, never its misses.
///
/// Concurrency: one writer (the commit leader) sets bits with plain load-then-store of atomic
/// words (no read-modify-write needed with one writer); readers load them. A key's bits are set
/// before its entry is inserted and before its sequence is published (release), and a reader
/// looks only after loading the published sequence (acquire), so a visible entry's bits are
/// always seen: no false negatives. `@unchecked Sendable` rests on that protocol.
final class MemtableFilter: @unchecked Sendable {
    private static let wordsPerLine = 64 / MemoryLayout<UInt>.size
    private static let probes = 6
    private let words: UnsafeMutablePointer<UnsafeAtomic<UInt>.Storage>
    private let lines: Int

    init(writeBufferSize: Int) {
        let bytes = max(4096, min(1 << 20, writeBufferSize / 64))
        lines = bytes / 64
        words = .allocate(capacity: lines * Self.wordsPerLine)
        words.initialize(repeating: UnsafeAtomic<UInt>.Storage(0), count: lines * Self.wordsPerLine)
    }

    deinit { words.deallocate() }

    @inline(__always)
    private func word(_ i: Int) -> UnsafeAtomic<UInt> { UnsafeAtomic(at: words + i) }

    @inline(__always)
    private func lineStart(_ h: UInt64) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: h)) &* UInt64(lines)) >> 32) * Self.wordsPerLine
    }

    /// Writer only.
    func add(_ h: UInt64) {
        let base = lineStart(h)
        var g = UInt32(truncatingIfNeeded: h >> 32)
        for _ in 0..<Self.probes {
            let bit = Int(g >> 23)
            let w = word(base + bit / UInt.bitWidth)
            let old = w.load(ordering: .relaxed)
            let mask = UInt(1) << UInt(bit % UInt.bitWidth)
            if old & mask == 0 { w.store(old | mask, ordering: .relaxed) }
            g = g &* 0x9E37_79B9
        }
    }

    /// False means no entry for a key with this hash was added.
    @inline(__always)
    func mayContain(_ h: UInt64) -> Bool {
        let base = lineStart(h)
        var g = UInt32(truncatingIfNeeded: h >> 32)
        for _ in 0..<Self.probes {
            let bit = Int(g >> 23)
            if word(base + bit / UInt.bitWidth).load(ordering: .relaxed) & (UInt(1) << UInt(bit % UInt.bitWidth)) == 0 { return false }
            g = g &* 0x9E37_79B9
        }
        return true
    }
}
