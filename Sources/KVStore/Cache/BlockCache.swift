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
    var mixedHash: UInt64 { Self.mix(file, offset) }
}

/// The shared cache of decompressed, verified blocks, each charged for the buffer it holds.
typealias BlockCache = ShardedCache<BlockCacheKey, Block>

extension ShardedCache where Key == BlockCacheKey, Value == Block {
    static func make(capacity: Int) -> BlockCache {
        BlockCache(capacity: capacity, shardCount: 16)
    }
}
