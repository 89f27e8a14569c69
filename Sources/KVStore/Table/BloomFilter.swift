/// One Bloom filter per table over its user keys (docs/FORMATS.md, "Filter block").
///
/// Written as a **cache-local** filter: the bits are split into 64-byte lines, a key's hash
/// picks one line, and all of its probes fall inside it, so a lookup touches one cache line
/// instead of one per probe (RocksDB's FastLocalBloom does the same). Layout:
/// `lines[64·n bytes] | k u8 | 0xF1`. The line is `(low 32 bits of h) · n >> 32` (no
/// division); probe i tests bit `g_i >> 23` of the line, where `g_0` is the high 32 bits of
/// `h` and `g_{i+1} = g_i · 0x9E3779B9`. At 10 bits per key and k = 6 the false-positive
/// rate is about 1%.
///
/// Tables written before carry the original layout, `bits[m bytes] | k u8` with k in 1...30,
/// whose probe i tests bit `(h + i·δ) mod 8m` with `δ = h rotated right by 33`; both are read.
enum BloomFilter {
    /// Last byte of a cache-local filter (never a valid k of the original layout).
    static let localMarker: UInt8 = 0xF1
    static let lineBytes = 64

    static func probes(bitsPerKey: Int) -> Int {
        // k = bitsPerKey · ln 2 minimizes false positives.
        max(1, min(30, Int(Double(bitsPerKey) * 0.69)))
    }

    /// Builds a cache-local filter over the given key hashes.
    static func build(hashes: [UInt64], bitsPerKey: Int) -> [UInt8] {
        let k = probes(bitsPerKey: bitsPerKey)
        let bits = max(512, hashes.count * bitsPerKey)
        let lines = (bits + 511) / 512
        var filter = [UInt8](repeating: 0, count: lines * lineBytes + 2)
        filter.withUnsafeMutableBufferPointer { f in
            for h in hashes {
                let line = lineIndex(h, lines) * lineBytes
                var g = UInt32(truncatingIfNeeded: h >> 32)
                for _ in 0..<k {
                    let bit = Int(g >> 23)
                    f[line + (bit >> 3)] |= UInt8(1) << UInt8(bit & 7)
                    g = g &* 0x9E37_79B9
                }
            }
            f[lines * lineBytes] = UInt8(k)
            f[lines * lineBytes + 1] = localMarker
        }
        return filter
    }

    @inline(__always)
    private static func lineIndex(_ h: UInt64, _ lines: Int) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: h)) &* UInt64(lines)) >> 32)
    }

    /// False means the key is certainly absent. Malformed filters answer true (no filtering).
    @inline(__always)
    static func mayContain(_ filter: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        guard filter.count >= 2 else { return true }
        if filter[filter.count - 1] == localMarker {
            let body = filter.count - 2
            let k = Int(filter[body])
            guard body >= lineBytes, body % lineBytes == 0, k >= 1 && k <= 30 else { return true }
            let line = lineIndex(hash, body / lineBytes) * lineBytes
            var g = UInt32(truncatingIfNeeded: hash >> 32)
            for _ in 0..<k {
                let bit = Int(g >> 23)
                if filter[line + (bit >> 3)] & (UInt8(1) << UInt8(bit & 7)) == 0 { return false }
                g = g &* 0x9E37_79B9
            }
            return true
        }
        return mayContainOriginal(filter, hash: hash)
    }

    /// The original layout, for tables written before the cache-local one.
    static func mayContainOriginal(_ filter: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
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

    /// The original layout's builder: kept so tests can check old tables still filter.
    static func buildOriginal(hashes: [UInt64], bitsPerKey: Int) -> [UInt8] {
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
}
