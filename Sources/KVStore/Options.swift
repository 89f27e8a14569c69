#if canImport(Glibc)
import Glibc
#endif

/// How a store is opened. The defaults suit most uses.
public struct Options: Sendable {
    /// Create the directory and an empty store if none exists (default true).
    public var createIfMissing = true
    /// Fail with `KVError.alreadyExists` if a store exists (default false).
    public var errorIfExists = false

    // MARK: Memtable and tables

    /// Memtable size in bytes before it is frozen and flushed to a level-0 table (default 4 MiB).
    public var writeBufferSize = 4 << 20
    /// Uncompressed size of a table data block (default 4 KiB).
    public var blockSize = 4096
    /// Compression of table data blocks (default lz4). A block is stored raw when compression
    /// saves less than 12.5%.
    public var compression: Compression = .lz4
    /// Bloom filter bits per key; 0 disables filters (default 10, about 1% false positives).
    public var bloomBitsPerKey = 10
    /// When > 0, Bloom filters also record the first `prefixFilterLength` bytes of every key,
    /// and an iterator whose `ReadOptions.prefix` is exactly that long skips tables that hold
    /// no key with its prefix (default 0: whole keys only).
    public var prefixFilterLength = 0
    /// Bytes of uncompressed blocks kept in the shared block cache (default 8 MiB; 0 turns
    /// the cache off).
    public var blockCacheCapacity = 8 << 20
    /// Bytes of table rows kept in the row cache (RocksDB's `row_cache`): what a table holds
    /// for a key, so a repeated point read of a hot key skips the table's index and blocks.
    /// Default 0, off: it pays for itself only when reads repeat keys (a cache-shaped
    /// workload); for reads spread evenly over a store larger than it, each miss costs a
    /// lookup and an insert (docs/BENCHMARKS.md has the measurements).
    public var rowCacheCapacity = 0
    /// Table files kept open, with their parsed index and filter (default 1000).
    public var maxOpenFiles = 1000
    /// Reads for `get` and iterators take data blocks straight from a read-only memory
    /// mapping of each open table instead of `pread` (default true, as LevelDB does on 64-bit
    /// systems). Pages read this way count towards the process's resident memory, but they are
    /// the file system's page cache and the kernel reclaims them under pressure. Compaction
    /// always reads with `pread`.
    public var memoryMappedReads = true

    // MARK: Compaction

    /// Size at which compaction starts a new output table (default 2 MiB).
    public var targetFileSize = 2 << 20
    /// Level-1 size target; each deeper level is `levelSizeMultiplier` times larger (default 10 MiB).
    public var maxBytesForLevelBase = 10 << 20
    /// How many times larger each level's size target is than the one above (default 10).
    public var levelSizeMultiplier = 10
    /// Level-0 file count that starts an L0 → L1 compaction (default 4).
    public var level0CompactionTrigger = 4
    /// Level-0 file count at which writes are slowed to `delayedWriteRate`, and slowed
    /// further while the count keeps rising (default 8).
    public var level0SlowdownTrigger = 8
    /// Level-0 file count at which writes wait for compaction (default 20, as RocksDB's 20/36
    /// leave room between slowing and stopping). With LevelDB's 12, a 10M-key fill stopped
    /// while one 12-file level-0 merge ran (0.4 s writes); at 20 the slowdown, which grows
    /// steeper with each file past its trigger, held level 0 below it: no stops, longest
    /// write 15–28 ms (docs/BENCHMARKS.md).
    public var level0StopTrigger = 20
    /// The fastest writes may go, in bytes a second, once level 0 reaches the slowdown
    /// trigger (default 64 MiB/s). A slowdown starts at 60% of the recent write rate, below
    /// this cap, and falls further as level 0 keeps growing, down to 1/64 of the cap.
    public var delayedWriteRate = 64 << 20

    // MARK: Limits

    /// Largest key accepted, in bytes (default 64 MiB).
    public var maxKeySize = 64 << 20
    /// Largest value accepted, in bytes (default 1 GiB).
    public var maxValueSize = 1 << 30

    // MARK: Expiry

    /// The wall clock that decides whether a value written with an expiry has expired, in
    /// milliseconds since the Unix epoch (default: the system clock). Reads hide expired
    /// values and compaction drops them; tests substitute a clock they control.
    public var clock: @Sendable () -> UInt64 = Options.systemClock

    /// Milliseconds since the Unix epoch from `CLOCK_REALTIME`.
    public static let systemClock: @Sendable () -> UInt64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Compaction filter

    /// Makes the `CompactionFilter` for each compaction (nil: none, the default). It decides,
    /// for every value a compaction writes that is its key's newest and visible to every
    /// reader, whether it stays; see `CompactionFilter`. The context reads the store as of the
    /// compaction's cut-off. Flushes do not run it.
    public var compactionFilter: (@Sendable (CompactionContext) -> any CompactionFilter)?

    /// The file system the engine uses; tests substitute a fault-injecting one.
    package var fileSystem: any FileSystem = PosixFileSystem()
    /// Tests hold the background thread's compactions (flushes still run) to provoke stalls.
    package var compactionHold: (any CompactionHold)?

    /// The defaults.
    public init() {}

    /// Throws `KVError.invalidArgument` for settings the engine cannot work with.
    func validate() throws(KVError) {
        func check(_ ok: Bool, _ what: String) throws(KVError) {
            if !ok { throw KVError.invalidArgument(what) }
        }
        try check(writeBufferSize >= 64 << 10, "writeBufferSize must be at least 64 KiB")
        try check(delayedWriteRate >= 64 << 10, "delayedWriteRate must be at least 64 KiB a second")
        try check(blockSize >= 256 && blockSize <= 64 << 20, "blockSize must be between 256 bytes and 64 MiB")
        try check(bloomBitsPerKey >= 0 && bloomBitsPerKey <= 64, "bloomBitsPerKey must be 0...64")
        try check(prefixFilterLength >= 0, "prefixFilterLength must not be negative")
        try check(blockCacheCapacity >= 0, "blockCacheCapacity must not be negative")
        try check(rowCacheCapacity >= 0, "rowCacheCapacity must not be negative")
        try check(maxOpenFiles >= 16, "maxOpenFiles must be at least 16")
        try check(targetFileSize >= 64 << 10, "targetFileSize must be at least 64 KiB")
        try check(maxBytesForLevelBase >= 1 << 20, "maxBytesForLevelBase must be at least 1 MiB")
        try check(levelSizeMultiplier >= 2, "levelSizeMultiplier must be at least 2")
        try check(level0CompactionTrigger >= 1 && level0CompactionTrigger <= level0SlowdownTrigger
                  && level0SlowdownTrigger <= level0StopTrigger,
                  "need 1 ≤ level0CompactionTrigger ≤ level0SlowdownTrigger ≤ level0StopTrigger")
    }
}

/// Per-write settings.
public struct WriteOptions: Sendable {
    /// Wait for `fdatasync` before returning, so the write survives power loss (default
    /// false: a write survives a process crash as soon as the call returns).
    public var sync = false
    /// Fail with `KVError.wouldBlock`, having written nothing, instead of waiting: for a
    /// caller that must never block, such as an event loop, which then hands the write to a
    /// thread that may wait. A write would wait while another group commits, when the
    /// memtable is full (switching it syncs the old log), and while writes are being slowed
    /// or stopped for compaction.
    public var nonBlocking = false

    /// Per-write settings; the defaults are neither synced nor non-blocking.
    public init(sync: Bool = false, nonBlocking: Bool = false) {
        self.sync = sync
        self.nonBlocking = nonBlocking
    }
}
