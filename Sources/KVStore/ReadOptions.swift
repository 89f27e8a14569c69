/// Per-read settings for `get`, iterators and scans.
public struct ReadOptions: Sendable {
    /// Read as of this snapshot instead of the latest writes.
    public var snapshot: Snapshot?
    /// Iterators start at or after this key.
    public var lowerBound: [UInt8]?
    /// Iterators stop before this key (exclusive).
    public var upperBound: [UInt8]?
    /// Iterate only keys starting with these bytes (narrows the bounds). If the store's
    /// `Options.prefixFilterLength` equals the prefix's length, tables whose Bloom filter has
    /// no key with this prefix are skipped without being read.
    public var prefix: [UInt8]?
    /// Check block checksums on reads from disk (default true). Cached blocks were checked
    /// when they were read.
    public var verifyChecksums = true
    /// Keep blocks read by this operation in the block cache (default true; turn off for
    /// one-off bulk scans so they do not evict the working set).
    public var fillCache = true
    /// Fail with `KVError.wouldBlock` instead of waiting for the device: answer only from
    /// memtables, the block cache, tables already open, and the OS page cache (like
    /// RocksDB's block-cache read tier, one level further out). An event loop reads this way
    /// and hands the misses to a thread that may wait. Point lookups only (`get`, `lookup`).
    public var nonBlocking = false

    /// Per-read settings; every parameter defaults to the property's default.
    public init(
        snapshot: Snapshot? = nil, lowerBound: [UInt8]? = nil, upperBound: [UInt8]? = nil, prefix: [UInt8]? = nil,
        verifyChecksums: Bool = true, fillCache: Bool = true
    ) {
        self.snapshot = snapshot
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.prefix = prefix
        self.verifyChecksums = verifyChecksums
        self.fillCache = fillCache
    }
}
