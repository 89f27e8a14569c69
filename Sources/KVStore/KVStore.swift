/// A persistent, ordered key-value store: a log-structured merge tree in one directory.
///
/// ```swift
/// let store = try KVStore.open(at: "/tmp/example")
/// try store.put("greeting", "hello")
/// let value = try store.get("greeting")   // Array("hello".utf8)
/// try store.close()
/// ```
///
/// Keys and values are arbitrary bytes. All methods are safe to call from any thread.
/// A write is durable against a process crash once it returns, and against power loss when
/// made with `WriteOptions(sync: true)`. One process at a time may open a directory.
public final class KVStore: Sendable {
    let engine: Engine
    /// Where async calls block (see `KVStoreAsync.swift`); no thread until one needs it.
    let blocking = BlockingExecutor()

    /// The directory the store lives in.
    public var path: String { engine.directory }

    /// What opening found in the logs: replayed records, torn tails dropped.
    public var recoveryReport: RecoveryReport { engine.recoveryReport }

    /// The clock this store judges expiry by (`Options.clock`): milliseconds since the Unix
    /// epoch.
    public var clock: @Sendable () -> UInt64 { engine.options.clock }

    private init(engine: Engine) {
        self.engine = engine
    }

    deinit {
        try? engine.close()
        blocking.shutdown()
    }

    /// Opens the store in `path`, creating it if `options.createIfMissing` (the default).
    ///
    /// - Throws: `KVError.locked` if another store has the directory open,
    ///   `KVError.corruption` if a log is damaged in the middle, `KVError.io` on system errors.
    public static func open(at path: String, options: Options = Options()) throws(KVError) -> KVStore {
        let engine = try Engine.open(directory: path, options: options)
        return KVStore(engine: engine)
    }

    /// The value stored under `key`, or nil.
    public func get(_ key: [UInt8]) throws(KVError) -> [UInt8]? {
        try key.withBytes { (key) throws(KVError) in try engine.get(key)?.value }
    }

    /// The value stored under `key` as `options.snapshot` (or the latest state) sees it.
    public func get(_ key: [UInt8], options: ReadOptions) throws(KVError) -> [UInt8]? {
        try key.withBytes { (key) throws(KVError) in try read(key, options)?.value }
    }

    /// The value stored under `key` together with its expiry, or nil when the key is absent
    /// or expired.
    public func lookup(_ key: [UInt8], options: ReadOptions = ReadOptions()) throws(KVError) -> StoredValue? {
        try key.withBytes { (key) throws(KVError) in try lookup(key, options) }
    }

    /// The values of `keys` with their expiries, in the order given (nil where a key is
    /// absent or expired), all read at one moment: a write committed while they are read is
    /// seen by all of them or by none, as under one snapshot (`options.snapshot`, if set, is
    /// that moment). Cheaper than a `get` per key: the store's state is taken once.
    public func lookup(keys: [[UInt8]], options: ReadOptions = ReadOptions()) throws(KVError) -> [StoredValue?] {
        try lookupAll(keys, options)
    }

    func lookupAll(_ keys: [[UInt8]], _ options: ReadOptions) throws(KVError) -> [StoredValue?] {
        let sequence = try engine.sequence(for: options.snapshot)
        let found = try engine.get(
            keys: keys, sequence: sequence, verify: options.verifyChecksums, fillCache: options.fillCache,
            nonBlocking: options.nonBlocking)
        try engine.checkStillCurrent(options.snapshot)
        return found.map { found in found.map(StoredValue.init(found:)) }
    }

    /// The point read behind `get` and `lookup`, over the key's bytes where they are.
    func read(_ key: UnsafeRawBufferPointer, _ options: ReadOptions) throws(KVError) -> (value: [UInt8], expiresAt: UInt64, tag: UInt8)? {
        let sequence = try engine.sequence(for: options.snapshot)
        let found = try engine.get(
            key, sequence: sequence, verify: options.verifyChecksums, fillCache: options.fillCache,
            nonBlocking: options.nonBlocking)
        try engine.checkStillCurrent(options.snapshot)
        return found
    }

    func lookup(_ key: UnsafeRawBufferPointer, _ options: ReadOptions) throws(KVError) -> StoredValue? {
        try read(key, options).map(StoredValue.init(found:))
    }

    /// A consistent view of the store as of now; pass it in `ReadOptions.snapshot`.
    public func snapshot() throws(KVError) -> Snapshot {
        try engine.takeSnapshot()
    }

    /// An ordered cursor over the keys, within `options`' bounds and snapshot. Not positioned:
    /// call `seekToFirst()`, `seekToLast()` or `seek(to:)` first.
    public func makeIterator(_ options: ReadOptions = ReadOptions()) throws(KVError) -> KVIterator {
        try engine.makeIterator(options)
    }

    /// Up to `limit` key-value pairs with `from` ≤ key < `to`, in key order (or reverse).
    /// Nil bounds are open.
    public func scan(
        from: [UInt8]? = nil, to: [UInt8]? = nil, limit: Int = .max, reverse: Bool = false,
        options: ReadOptions = ReadOptions()
    ) throws(KVError) -> [(key: [UInt8], value: [UInt8])] {
        var o = options
        o.lowerBound = Self.tighter(o.lowerBound, from, lower: true)
        o.upperBound = Self.tighter(o.upperBound, to, lower: false)
        let it = try makeIterator(o)
        var out: [(key: [UInt8], value: [UInt8])] = []
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid && out.count < limit {
            out.append(it.withCurrent { (Array($0), Array($1)) })
            if reverse { it.previous() } else { it.next() }
        }
        try it.check()
        return out
    }

    /// The pairs with `from` ≤ key < `to` as a `Sequence`, for `for (key, value) in …`.
    /// Each loop iterates a fresh view of the same snapshot. An error ends a loop early and is
    /// left in the sequence's `error` (a read error, or `KVError.closed` for a loop begun
    /// after `close()`): check it after the loop.
    public func entries(
        from: [UInt8]? = nil, to: [UInt8]? = nil, reverse: Bool = false, options: ReadOptions = ReadOptions()
    ) throws(KVError) -> KVEntries {
        var o = options
        o.lowerBound = Self.tighter(o.lowerBound, from, lower: true)
        o.upperBound = Self.tighter(o.upperBound, to, lower: false)
        let engine = self.engine
        let frozen = o.snapshot == nil ? try snapshot() : nil
        if let frozen { o.snapshot = frozen }
        _ = try makeIterator(o)  // fail now, not in the loop, if the store is closed
        let opts = o
        return KVEntries(start: nil, reverse: reverse) { () throws(KVError) in
            try engine.makeIterator(opts)
        }
    }

    /// Number of keys with `from` ≤ key < `to` (exact: it walks the keys, not the values).
    public func count(from: [UInt8]? = nil, to: [UInt8]? = nil, options: ReadOptions = ReadOptions()) throws(KVError) -> Int {
        var o = options
        o.lowerBound = Self.tighter(o.lowerBound, from, lower: true)
        o.upperBound = Self.tighter(o.upperBound, to, lower: false)
        let it = try makeIterator(o)
        var n = 0
        it.seekToFirst()
        while it.isValid {
            n += 1
            it.next()
        }
        try it.check()
        return n
    }

    /// Approximate bytes of table data holding keys in [`from`, `to`), from the tables' index
    /// blocks (as LevelDB's `GetApproximateSizes`); data still in memtables is not counted.
    public func approximateSize(from: [UInt8]? = nil, to: [UInt8]? = nil) throws(KVError) -> Int64 {
        try engine.approximateSize(from: from, to: to)
    }

    /// Removes every key in [`from`, `to`) with one write, however many keys that is; a nil
    /// `to` removes every key from `from` on. Either way it is one record, atomic against
    /// every other write: a key written before it is gone, a key written after it stays.
    /// Reads, iterators and compaction honour it; scans jump over the deleted range.
    public func deleteRange(from: [UInt8], to: [UInt8]?, options: WriteOptions = WriteOptions()) throws(KVError) {
        try engine.write(rangeDeletion(from: from, to: to), sync: options.sync, nonBlocking: options.nonBlocking)
    }

    /// The checked one-record batch behind both `deleteRange`s.
    func rangeDeletion(from: [UInt8], to: [UInt8]?) throws(KVError) -> WriteBatch {
        if let to, compareArrays(from, to) > 0 { throw .invalidArgument("deleteRange: start sorts after end") }
        try check(key: from, value: to ?? [])
        var batch = WriteBatch()
        batch.deleteRange(from: from, to: to)
        return batch
    }

    static func tighter(_ a: [UInt8]?, _ b: [UInt8]?, lower: Bool) -> [UInt8]? {
        guard let a else { return b }
        guard let b else { return a }
        let c = compareArrays(a, b)
        return lower ? (c >= 0 ? a : b) : (c <= 0 ? a : b)
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func put(_ key: [UInt8], _ value: [UInt8], options: WriteOptions = WriteOptions()) throws(KVError) {
        try writePut(key, value, expiresAt: nil, options: options)
    }

    /// Stores `value` under `key` until `Options.clock` reaches `expiresAt` (milliseconds since
    /// the Unix epoch); afterwards every read sees the key as absent, and compaction reclaims
    /// it. The expiry is stored with the value, so it survives restarts. Nil: no expiry.
    public func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?, options: WriteOptions = WriteOptions()) throws(KVError) {
        try writePut(key, value, expiresAt: expiresAt, options: options)
    }

    /// Stores `value` under `key` for `timeToLive` from now by `Options.clock` (rounded up to a
    /// whole millisecond), as `put(_:_:expiresAt:)`. A zero or negative duration stores a
    /// value that has already expired.
    public func put(_ key: [UInt8], _ value: [UInt8], timeToLive: Duration, options: WriteOptions = WriteOptions()) throws(KVError) {
        try put(key, value, expiresAt: Self.deadline(now: engine.options.clock(), after: timeToLive), options: options)
    }

    /// `now` plus `duration` in milliseconds, rounded up, saturating; at most `now` for a
    /// duration that is not positive.
    static func deadline(now: UInt64, after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds > 0 || (seconds == 0 && attoseconds > 0) else { return now }
        let whole = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1000)
        let fraction = UInt64((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        let milliseconds = whole.partialValue.addingReportingOverflow(fraction)
        let total = now.addingReportingOverflow(milliseconds.partialValue)
        return whole.overflow || milliseconds.overflow || total.overflow ? .max : total.partialValue
    }

    /// Removes `key`. Removing a key that does not exist is not an error.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws(KVError) {
        try writeDelete(key, options: options)
    }

    /// The one single-put write behind every `put` overload.
    func writePut(
        _ key: some Collection<UInt8>, _ value: some Collection<UInt8>, expiresAt: UInt64?, options: WriteOptions
    ) throws(KVError) {
        try check(key: key, value: value)
        var batch = WriteBatch(reservingCapacity: 20 + key.count + value.count)
        batch.appendPut(key, value, expiresAt: expiresAt)
        try engine.write(batch, sync: options.sync, nonBlocking: options.nonBlocking)
    }

    /// The one single-delete write behind every `delete` overload.
    func writeDelete(_ key: some Collection<UInt8>, options: WriteOptions) throws(KVError) {
        try check(key: key, value: EmptyCollection<UInt8>())
        var batch = WriteBatch(reservingCapacity: 6 + key.count)
        batch.appendDelete(key)
        try engine.write(batch, sync: options.sync, nonBlocking: options.nonBlocking)
    }

    /// Applies every operation of `batch` atomically.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) throws(KVError) {
        guard !batch.isEmpty else { return }
        try check(batch)
        try engine.write(batch, sync: options.sync, nonBlocking: options.nonBlocking)
    }

    /// Shows every committed group's log record to `observe`, in commit order (nil: stop).
    /// For replication, inside the package: the record format is the WAL's (docs/FORMATS.md).
    package func observeCommits(_ observe: CommitObserver?) {
        engine.observeCommits(observe)
    }

    /// Makes every write acknowledged so far durable against power loss: one `fdatasync` of
    /// the log. Writers are not held up while it runs (a server's once-a-second sync uses it).
    public func syncWAL() throws(KVError) {
        try engine.syncLogConcurrently()
    }

    /// Writes the memtable to a level-0 table now (if it holds anything) and waits for that.
    public func flush() throws(KVError) {
        try engine.flushMemtable()
    }

    /// Compacts every table overlapping the user-key range [`from`, `to`] (nil = unbounded)
    /// down the levels, dropping overwritten and deleted data that no snapshot needs, as
    /// LevelDB's `CompactRange`. Flushes the memtable first. Blocks until done.
    public func compactRange(from: [UInt8]? = nil, to: [UInt8]? = nil) throws(KVError) {
        try engine.compactRange(begin: from, end: to)
    }

    /// Counters and per-level figures; `statistics().report` is a readable summary.
    public func statistics() -> Statistics {
        engine.statisticsSnapshot()
    }

    /// Makes a consistent, openable copy of the store in `directory` (which must not exist)
    /// while writes go on: every write acknowledged before the call is in it, and it is the
    /// store as of one moment (a prefix of its history). Tables are hard-linked where the
    /// file system allows, so a checkpoint on the same file system costs little space until
    /// compaction replaces the shared tables. A crash midway leaves no `directory`, only a
    /// `directory.tmp` the next checkpoint there removes.
    ///
    /// - Throws: `KVError.invalidArgument` if `directory` exists; `KVError.io` naming the
    ///   file and errno.
    @discardableResult
    public func checkpoint(to directory: String) throws(KVError) -> CheckpointInfo {
        try Checkpoint.create(engine, to: directory)
    }

    /// Replaces everything the store holds with the checkpoint in `directory` (one that
    /// ``checkpoint(to:)`` made, on this store or another), atomically: a crash midway reopens
    /// the old contents or the new, never a mixture, and readers see one or the other. The
    /// checkpoint's tables are hard-linked (copied across devices); `directory` is left as it
    /// was. Writes wait while it runs (and for a compaction the background thread is finishing).
    /// Snapshots taken before or during it are stale afterwards (reads with them throw
    /// `KVError.invalidArgument`; an optimistic transaction that read through one conflicts);
    /// iterators made before go on reading the old contents. Replication's full
    /// synchronisation installs what a primary sent with it.
    ///
    /// - Parameter expected: the checkpoint's last sequence, if the caller knows it (a
    ///   replica, from its primary): a checkpoint with another is refused before anything
    ///   changes.
    /// - Returns: the checkpoint's last sequence.
    /// - Throws: `KVError.corruption` for a damaged checkpoint (its MANIFEST, a table shorter
    ///   or longer than it says, a sequence other than `expected`), `KVError.io` naming the
    ///   file and errno. The store is unchanged unless starting the new log or writing the
    ///   MANIFEST failed (then it is read-only, as after any such failure).
    @discardableResult
    package func replaceContents(withCheckpointAt directory: String, expecting expected: UInt64? = nil) throws(KVError) -> UInt64 {
        try engine.replaceContents(withCheckpointAt: directory, expecting: expected)
    }

    /// The options in force that ``setOptions(_:)`` may change.
    public var liveOptions: LiveOptions { engine.liveOptions }

    /// Changes options while the store is open: block-cache size and the write-stall
    /// settings. The new values must pass the same checks as at open (with the fixed
    /// options); otherwise nothing changes.
    ///
    /// ```swift
    /// var live = store.liveOptions
    /// live.blockCacheCapacity = 256 << 20
    /// try store.setOptions(live)
    /// ```
    ///
    /// - Throws: `KVError.invalidArgument` naming the rule broken; `KVError.closed`.
    public func setOptions(_ options: LiveOptions) throws(KVError) {
        try engine.setOptions(options)
    }

    /// Waits until no flush or compaction is due (benchmarks settle with it).
    public func waitForCompactions() {
        engine.waitForBackgroundWork()
    }

    /// Waits for queued writes, syncs the log and releases the directory. Later calls throw
    /// `KVError.closed`. Closing twice is harmless. Also happens when the store is deinitialized.
    public func close() throws(KVError) {
        defer { blocking.shutdown() }
        try engine.close()
    }

    /// Every entry of `batch` within the key and value size limits.
    func check(_ batch: WriteBatch) throws(KVError) {
        let maxKey = engine.options.maxKeySize
        let maxValue = engine.options.maxValueSize
        try batch.encoded.withBytes { (encoded) throws(KVError) in
            try WriteBatch.forEach(encoded, file: "<batch>", offset: 0) { (_, key, value) throws(KVError) in
                guard key.count <= maxKey, value.count <= maxValue else {
                    throw KVError.invalidArgument("batch entry of \(key.count)-byte key and \(value.count)-byte value exceeds maxKeySize \(maxKey) or maxValueSize \(maxValue)")
                }
            }
        }
    }

    func check(key: some Collection<UInt8>, value: some Collection<UInt8>) throws(KVError) {
        guard key.count <= engine.options.maxKeySize else {
            throw .invalidArgument("key of \(key.count) bytes exceeds maxKeySize \(engine.options.maxKeySize)")
        }
        guard value.count <= engine.options.maxValueSize else {
            throw .invalidArgument("value of \(value.count) bytes exceeds maxValueSize \(engine.options.maxValueSize)")
        }
    }
}

extension KVStore {
    /// The value stored under the UTF-8 bytes of `key`, or nil.
    public func get(_ key: String) throws(KVError) -> [UInt8]? {
        try get(Array(key.utf8))
    }

    /// Stores the UTF-8 bytes of `value` under the UTF-8 bytes of `key`.
    public func put(_ key: String, _ value: String, options: WriteOptions = WriteOptions()) throws(KVError) {
        try put(Array(key.utf8), Array(value.utf8), options: options)
    }

    /// Removes the UTF-8 bytes of `key`.
    public func delete(_ key: String, options: WriteOptions = WriteOptions()) throws(KVError) {
        try delete(Array(key.utf8), options: options)
    }
}
