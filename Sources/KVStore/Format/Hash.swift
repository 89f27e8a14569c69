/// MurmurHash64A over bytes. The Bloom filters store bit positions derived from it, so it is
/// part of the table format and must never change for format version 1.
@inline(__always)
package func hash64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0x5bd1_e995) -> UInt64 {
    let m: UInt64 = 0xc6a4_a793_5bd1_e995
    let r: UInt64 = 47
    let n = bytes.count
    var h = seed ^ (UInt64(n) &* m)
    var i = 0
    if let base = bytes.baseAddress {
        while n - i >= 8 {
            var k = loadFixed64(base + i)
            k = k &* m
            k ^= k >> r
            k = k &* m
            h ^= k
            h = h &* m
            i += 8
        }
        let rest = n - i
        if rest > 0 {
            var tail: UInt64 = 0
            for j in 0..<rest { tail |= UInt64(base.load(fromByteOffset: i + j, as: UInt8.self)) << (8 * UInt64(j)) }
            h ^= tail
            h = h &* m
        }
    }
    h ^= h >> r
    h = h &* m
    h ^= h >> r
    return h
}

/// Seed for the hashes of key prefixes in Bloom filters, so a prefix never collides with a
/// whole key by construction (only by chance, like any false positive).
let prefixHashSeed: UInt64 = 0x7072_6566_6978_0001

@inline(__always)
func filterPrefixHash(_ prefix: UnsafeRawBufferPointer) -> UInt64 {
    hash64(prefix, seed: prefixHashSeed)
}
