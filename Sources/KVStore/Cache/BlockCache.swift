/// Identifies a block: the table's file number and the block's offset in it.
///
/// Hashed with a multiply-xorshift mix instead of SipHash: every block-cache miss hashes its
/// key about five times (shard, lookup, insert, eviction), and SipHash was 5% of seekrandom's
/// cycles. The keys are file numbers and offsets the engine assigns, not input an attacker
/// chooses, so flooding resistance buys nothing here.
struct BlockCacheKey: Hashable, Sendable, CacheShardable {
    var file: UInt64
    var offset: UInt64

    @inline(__always)
    var mixedHash: UInt64 {
        var h = (file &* 0x9E37_79B9_7F4A_7C15) ^ offset
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    func hash(into hasher: inout Hasher) { hasher.combine(mixedHash) }

    /// What `Dictionary` calls: the mix, perturbed by the table's seed.
    func _rawHashValue(seed: Int) -> Int {
        var h = mixedHash ^ UInt64(UInt(bitPattern: seed))
        h = h &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: h ^ (h >> 31))
    }
}

/// The shared cache of decompressed, verified blocks, each charged for the buffer it holds.
typealias BlockCache = ShardedCache<BlockCacheKey, Block>

extension ShardedCache where Key == BlockCacheKey, Value == Block {
    static func make(capacity: Int) -> BlockCache {
        BlockCache(capacity: capacity, shardCount: 16)
    }
}
