/// A snapshot of what the store holds and has done since it was opened.
public struct Statistics: Sendable {
    /// One level of the tree.
    public struct Level: Sendable {
        /// The level's number, 0 the newest.
        public var level: Int
        /// Table files at the level.
        public var files: Int
        /// Bytes of those files.
        public var bytes: Int64
        /// The level's size target (level 0: file-count trigger × write buffer, for reference).
        public var targetBytes: Int64
        /// Compaction score: ≥ 1 means the level is due for compaction.
        public var score: Double
    }

    /// Every level, from 0 down.
    public var levels: [Level] = []
    /// Bytes of keys and values the application wrote.
    public var userBytesWritten: Int64 = 0
    /// Bytes appended to write-ahead logs.
    public var walBytesWritten: Int64 = 0
    /// `fdatasync` calls on write-ahead logs.
    public var walSyncs: Int64 = 0
    /// Memtables written out as level-0 tables.
    public var flushes: Int64 = 0
    /// Bytes of tables those flushes wrote.
    public var flushBytesWritten: Int64 = 0
    /// Compactions that merged tables into new ones.
    public var compactions: Int64 = 0
    /// Compactions that moved a table down a level without rewriting it.
    public var trivialMoves: Int64 = 0
    /// Compactions started because point reads kept consulting a file in vain (of
    /// `compactions` + `trivialMoves`).
    public var seekCompactions: Int64 = 0
    /// Bytes of tables compactions read.
    public var compactionBytesRead: Int64 = 0
    /// Bytes of tables compactions wrote.
    public var compactionBytesWritten: Int64 = 0
    /// Values compaction removed through a `CompactionFilter` (expired values included).
    public var compactionEntriesFiltered: Int64 = 0
    /// (flush + compaction bytes written) / user bytes written.
    public var writeAmplification: Double = 0
    /// Write groups delayed to keep writes to the delayed rate (level 0 at or past the
    /// slowdown trigger, or a flush behind).
    public var slowdowns: Int64 = 0
    /// The rate writes are held to now, in bytes a second; 0 when they are not slowed.
    public var delayedWriteRate: Int64 = 0
    /// Non-blocking writes (`WriteOptions.nonBlocking`) that returned `wouldBlock`.
    public var writesWouldBlock: Int64 = 0
    /// Times writes stopped until a flush or compaction finished.
    public var stops: Int64 = 0
    /// Total time writers spent delayed or stopped, in seconds.
    public var stallSeconds: Double = 0
    /// Of that, time write groups slept to keep to the delayed rate (a slowdown), in seconds.
    public var slowdownSeconds: Double = 0
    /// Time writers stopped because a full memtable waited for the previous one's flush.
    public var memtableStopSeconds: Double = 0
    /// Time writers stopped because level 0 reached `Options.level0StopTrigger`.
    public var level0StopSeconds: Double = 0
    /// Estimated bytes compaction must rewrite to bring every level within its target (as
    /// RocksDB's `estimate-pending-compaction-bytes`): all of level 0 once it reaches its
    /// compaction trigger, and each deeper level's bytes over its target.
    public var pendingCompactionBytes: Int64 = 0
    /// Whether writers are delayed or stopped right now, and the last reason they were.
    public var isStalled = false
    /// Writes in the commit queue right now: the group being committed and the writers
    /// waiting behind it (group commit's backlog).
    public var writersQueued = 0
    /// Why writers were last delayed or stopped, or nil if they never were.
    public var lastStallReason: String?
    /// Data-block reads the block cache answered.
    public var blockCacheHits: Int64 = 0
    /// Data-block reads that went to the table file.
    public var blockCacheMisses: Int64 = 0
    /// Table lookups the row cache answered (``Options/rowCacheCapacity``).
    public var rowCacheHits: Int64 = 0
    /// Table lookups past the Bloom filter that the row cache did not answer (0 when it is off).
    public var rowCacheMisses: Int64 = 0
    /// Bytes charged to the row cache's entries.
    public var rowCacheBytes: Int64 = 0
    /// Table lookups the Bloom filter answered "absent" without reading a block.
    public var bloomNegatives: Int64 = 0
    /// Table lookups the filter let through for a key the table did not hold.
    public var bloomFalsePositives: Int64 = 0
    /// Memory used by memtables (active and flushing), the block cache, and open tables'
    /// filters and index blocks, in bytes.
    public var memtableBytes: Int64 = 0
    /// Bytes of uncompressed blocks in the block cache.
    public var blockCacheBytes: Int64 = 0
    /// Bytes of open tables' filters and index blocks.
    public var tableReaderBytes: Int64 = 0
    /// Table files open in the table cache.
    public var openTables: Int = 0
    /// The sequence number of the last acknowledged write.
    public var lastSequence: UInt64 = 0
    /// Total bytes of live table files.
    public var liveTableBytes: Int64 { levels.reduce(0) { $0 + $1.bytes } }

    /// All zero.
    public init() {}

    /// A human-readable report, like LevelDB's `leveldb.stats` property.
    public var report: String {
        func mib(_ b: Int64) -> String { fmt(Double(b) / 1_048_576, 1) }
        var s = "                               Compactions\n"
        s += "Level  Files  Size(MiB)  Target(MiB)  Score\n"
        s += "-------------------------------------------\n"
        for l in levels {
            s += pad(String(l.level), 5) + "  " + pad(String(l.files), 5) + "  " + pad(mib(l.bytes), 9) + "  "
                + pad(mib(l.targetBytes), 11) + "  " + pad(fmt(l.score, 2), 5) + "\n"
        }
        s += "user bytes written: \(mib(userBytesWritten)) MiB; WAL: \(mib(walBytesWritten)) MiB in \(walSyncs) syncs\n"
        s += "flushes: \(flushes) (\(mib(flushBytesWritten)) MiB); compactions: \(compactions) + \(trivialMoves) trivial moves, \(seekCompactions) seek-triggered "
        s += "(read \(mib(compactionBytesRead)) MiB, wrote \(mib(compactionBytesWritten)) MiB)\n"
        s += "write amplification: \(fmt(writeAmplification, 2))\n"
        s += "stalls: \(slowdowns) slowdowns, \(stops) stops, \(fmt(stallSeconds, 3)) s"
        s += isStalled ? " (stalled now)" : ""
        if let r = lastStallReason { s += "; last reason: \(r)" }
        s += "\n"
        s += "block cache: \(blockCacheHits) hits, \(blockCacheMisses) misses, \(mib(blockCacheBytes)) MiB\n"
        if rowCacheHits + rowCacheMisses + rowCacheBytes > 0 {
            s += "row cache: \(rowCacheHits) hits, \(rowCacheMisses) misses, \(mib(rowCacheBytes)) MiB\n"
        }
        s += "bloom filter: \(bloomNegatives) negatives, \(bloomFalsePositives) false positives\n"
        s += "memory: memtables \(mib(memtableBytes)) MiB, block cache \(mib(blockCacheBytes)) MiB, "
        s += "table index+filter \(mib(tableReaderBytes)) MiB (\(openTables) open tables)\n"
        s += "last sequence: \(lastSequence)\n"
        return s
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    private func fmt(_ v: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        var s = String(r)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        } else if digits > 0 {
            s += "." + String(repeating: "0", count: digits)
        }
        return s
    }
}
