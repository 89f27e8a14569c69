/// One Bloom filter per table over its user keys (docs/FORMATS.md, "Filter block").
///
/// Layout: `bits[m bytes] | k u8`. Probe i (0 ≤ i < k) tests bit `(h + i·δ) mod 8m`, where
/// `h = hash64(key)` and `δ = h rotated right by 33` (double hashing: one hash, k probes).
/// With 10 bits per key and k = 7 the false-positive rate is about 0.8%.
enum BloomFilter {
    static func probes(bitsPerKey: Int) -> Int {
        // k = bitsPerKey · ln 2 minimizes false positives.
        max(1, min(30, Int(Double(bitsPerKey) * 0.69)))
    }

    /// Builds a filter over the given key hashes.
    static func build(hashes: [UInt64], bitsPerKey: Int) -> [UInt8] {
        let k = probes(bitsPerKey: bitsPerKey)
        let bits = max(64, hashes.count * bitsPerKey)
        let byteCount = (bits + 7) / 8
        var filter = [UInt8](repeating: 0, count: byteCount + 1)
        let bitCount = UInt64(byteCount * 8)
        filter.withUnsafeMutableBufferPointer { f in
            for h0 in hashes {
                var h = h0
                let delta = (h >> 33) | (h << 31)
                for _ in 0..<k {
                    let bit = Int(h % bitCount)
                    f[bit >> 3] |= UInt8(1) << UInt8(bit & 7)
                    h = h &+ delta
                }
            }
            f[byteCount] = UInt8(k)
        }
        return filter
    }

    /// False means the key is certainly absent. Malformed filters answer true (no filtering).
    @inline(__always)
    static func mayContain(_ filter: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        guard filter.count >= 2 else { return true }
        let byteCount = filter.count - 1
        let k = Int(filter[byteCount])
        guard k >= 1 && k <= 30 else { return true }
        let bitCount = UInt64(byteCount * 8)
        var h = hash
        let delta = (h >> 33) | (h << 31)
        for _ in 0..<k {
            let bit = Int(h % bitCount)
            if filter[bit >> 3] & (UInt8(1) << UInt8(bit & 7)) == 0 { return false }
            h = h &+ delta
        }
        return true
    }
}
