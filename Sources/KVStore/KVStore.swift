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

    /// The directory the store lives in.
    public var path: String { engine.directory }

    /// What opening found in the logs: replayed records, torn tails dropped.
    public var recoveryReport: RecoveryReport { engine.recoveryReport }

    private init(engine: Engine) {
        self.engine = engine
    }

    deinit {
        try? engine.close()
    }

    /// Opens the store in `path`, creating it if `options.createIfMissing` (the default).
    ///
    /// - Throws: `KVError.locked` if another store has the directory open,
    ///   `KVError.corruption` if a log is damaged in the middle, `KVError.io` on system errors.
    public static func open(at path: String, options: Options = Options()) throws(KVError) -> KVStore {
        let engine = try KVError.typed { try Engine.open(directory: path, options: options) }
        return KVStore(engine: engine)
    }

    /// The value stored under `key`, or nil.
    public func get(_ key: [UInt8]) throws(KVError) -> [UInt8]? {
        try KVError.typed { try key.withUnsafeBytes { try engine.get($0) } }
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func put(_ key: [UInt8], _ value: [UInt8], options: WriteOptions = WriteOptions()) throws(KVError) {
        try check(key: key, value: value)
        var batch = WriteBatch()
        batch.put(key, value)
        try KVError.typed { try engine.write(batch, sync: options.sync) }
    }

    /// Removes `key`. Removing a key that does not exist is not an error.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws(KVError) {
        try check(key: key, value: [])
        var batch = WriteBatch()
        batch.delete(key)
        try KVError.typed { try engine.write(batch, sync: options.sync) }
    }

    /// Applies every operation of `batch` atomically.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) throws(KVError) {
        guard !batch.isEmpty else { return }
        let maxKey = engine.options.maxKeySize
        let maxValue = engine.options.maxValueSize
        try KVError.typed {
            try batch.rep.withUnsafeBytes { rep in
                try WriteBatch.forEach(rep, file: "<batch>", offset: 0) { _, key, value in
                    guard key.count <= maxKey, value.count <= maxValue else {
                        throw KVError.invalidArgument("batch entry of \(key.count)-byte key and \(value.count)-byte value exceeds maxKeySize \(maxKey) or maxValueSize \(maxValue)")
                    }
                }
            }
            try engine.write(batch, sync: options.sync)
        }
    }

    /// Writes the memtable to a level-0 table now (if it holds anything) and waits for that.
    public func flush() throws(KVError) {
        try KVError.typed { try engine.flushMemtable() }
    }

    /// Compacts every table overlapping the user-key range [`from`, `to`] (nil = unbounded)
    /// down the levels, dropping overwritten and deleted data that no snapshot needs, as
    /// LevelDB's `CompactRange`. Flushes the memtable first. Blocks until done.
    public func compactRange(from: [UInt8]? = nil, to: [UInt8]? = nil) throws(KVError) {
        try KVError.typed { try engine.compactRange(begin: from, end: to) }
    }

    /// Counters and per-level figures; `statistics().report` is a readable summary.
    public func statistics() -> Statistics {
        engine.statisticsSnapshot()
    }

    /// Waits until no flush or compaction is due (benchmarks settle with it).
    public func waitForCompactions() {
        engine.waitForBackgroundWork()
    }

    /// Waits for queued writes, syncs the log and releases the directory. Later calls throw
    /// `KVError.closed`. Closing twice is harmless. Also happens when the store is deinitialized.
    public func close() throws(KVError) {
        try KVError.typed { try engine.close() }
    }

    private func check(key: [UInt8], value: [UInt8]) throws(KVError) {
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
