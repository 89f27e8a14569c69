/// The options that may change while the store is open (as RocksDB's `SetOptions`), read
/// with ``KVStore/liveOptions`` and changed with ``KVStore/setOptions(_:)``. Everything else
/// in ``Options`` is fixed at open: it shapes files already written.
public struct LiveOptions: Sendable, Equatable {
    /// ``Options/blockCacheCapacity``: a smaller budget evicts at once.
    public var blockCacheCapacity: Int
    /// ``Options/rowCacheCapacity``: a smaller budget evicts at once; 0 turns it off.
    public var rowCacheCapacity: Int
    /// ``Options/level0SlowdownTrigger``.
    public var level0SlowdownTrigger: Int
    /// ``Options/level0StopTrigger``.
    public var level0StopTrigger: Int
    /// ``Options/delayedWriteRate``, bytes a second.
    public var delayedWriteRate: Int

    /// The live part of `options`.
    public init(_ options: Options) {
        blockCacheCapacity = options.blockCacheCapacity
        rowCacheCapacity = options.rowCacheCapacity
        level0SlowdownTrigger = options.level0SlowdownTrigger
        level0StopTrigger = options.level0StopTrigger
        delayedWriteRate = options.delayedWriteRate
    }

    /// `options` with these values in place (so ``Options/validate()`` judges them together
    /// with the fixed ones).
    func applied(to options: Options) -> Options {
        var o = options
        o.blockCacheCapacity = blockCacheCapacity
        o.rowCacheCapacity = rowCacheCapacity
        o.level0SlowdownTrigger = level0SlowdownTrigger
        o.level0StopTrigger = level0StopTrigger
        o.delayedWriteRate = delayedWriteRate
        return o
    }
}
