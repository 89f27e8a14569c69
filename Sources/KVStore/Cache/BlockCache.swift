/// Identifies a block: the table's file number and the block's offset in it.
struct BlockCacheKey: Hashable, Sendable {
    var file: UInt64
    var offset: UInt64
}

/// The shared cache of uncompressed, verified blocks, charged by block size.
typealias BlockCache = ShardedCache<BlockCacheKey, Block>

extension ShardedCache where Key == BlockCacheKey, Value == Block {
    static func make(capacity: Int) -> BlockCache {
        BlockCache(capacity: capacity, shardCount: 16)
    }
}
