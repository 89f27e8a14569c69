// The store for callers on Swift concurrency. Every method here is safe to await from any
// task: none blocks a thread of the cooperative pool on the disk, a write stall, an
// fdatasync or a compaction. Work that may wait runs on the store's own threads
// (`BlockingExecutor`, started on first need, at most 16); work that cannot wait is done on
// the caller's thread: a read the memtables, the block cache or the OS page cache can
// answer, and an unsynced write that can lead its group at once into a memtable with room.
// The synchronous API stays as it is; in an async context these overloads are the ones
// chosen.

extension KVStore {
    /// The value stored under `key`, or nil.
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) async throws(KVError) -> [UInt8]? {
        try await lookup(key, options: options)?.value
    }

    /// The values of `keys` with their expiries, read as one view (`lookup(keys:options:)`).
    public func lookup(keys: [[UInt8]], options: ReadOptions = ReadOptions()) async throws(KVError) -> [StoredValue?] {
        if !options.nonBlocking {
            var here = options
            here.nonBlocking = true
            do {
                return try lookupAll(keys, here)
            } catch {
                guard error == .wouldBlock else { throw error }
            }
        }
        return try await blocking.run { () throws(KVError) in try self.lookupAll(keys, options) }
    }

    /// The value stored under `key` together with its expiry, or nil.
    public func lookup(_ key: [UInt8], options: ReadOptions = ReadOptions()) async throws(KVError) -> StoredValue? {
        if !options.nonBlocking {
            var here = options
            here.nonBlocking = true
            do {
                return try key.withBytes { (key) throws(KVError) in try lookup(key, here) }
            } catch {
                guard error == .wouldBlock else { throw error }
            }
        }
        return try await blocking.run { () throws(KVError) in
            try key.withBytes { (key) throws(KVError) in try self.lookup(key, options) }
        }
    }

    /// Stores `value` under `key` (nil `expiresAt`: no expiry).
    public func put(
        _ key: [UInt8], _ value: [UInt8], expiresAt: UInt64? = nil, options: WriteOptions = WriteOptions()
    ) async throws(KVError) {
        try check(key: key, value: value)
        var batch = WriteBatch(reservingCapacity: 20 + key.count + value.count)
        batch.put(key, value, expiresAt: expiresAt)
        try await commit(batch, options)
    }

    /// Removes `key`.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) async throws(KVError) {
        try check(key: key, value: [])
        var batch = WriteBatch(reservingCapacity: 6 + key.count)
        batch.delete(key)
        try await commit(batch, options)
    }

    /// Applies every operation of `batch` atomically.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) async throws(KVError) {
        guard !batch.isEmpty else { return }
        try check(batch)
        try await commit(batch, options)
    }

    /// Removes every key in [`from`, `to`) (a nil `to`: every key from `from` on) with one
    /// atomic write.
    public func deleteRange(from: [UInt8], to: [UInt8]?, options: WriteOptions = WriteOptions()) async throws(KVError) {
        try await commit(rangeDeletion(from: from, to: to), options)
    }

    /// Makes every write acknowledged so far durable against power loss.
    public func syncWAL() async throws(KVError) {
        try await blocking.run { () throws(KVError) in try self.engine.syncLogConcurrently() }
    }

    /// Writes the memtable to a level-0 table and waits for it.
    public func flush() async throws(KVError) {
        try await blocking.run { () throws(KVError) in try self.engine.flushMemtable() }
    }

    /// Compacts every table overlapping [`from`, `to`] down the levels (see the synchronous
    /// `compactRange`).
    public func compactRange(from: [UInt8]? = nil, to: [UInt8]? = nil) async throws(KVError) {
        try await blocking.run { () throws(KVError) in try self.engine.compactRange(begin: from, end: to) }
    }

    /// Waits for queued writes, syncs the log and releases the directory.
    public func close() async throws(KVError) {
        try await blocking.run { () throws(KVError) in try self.engine.close() }
        blocking.shutdown()
    }

    /// The pairs with `from` ≤ key < `to`, in key order (or reverse), as an `AsyncSequence`
    /// of one snapshot: `for try await (key, value) in store.entries(…)`. Entries are read in
    /// batches of `batchSize` on the store's threads.
    public func entries(
        from: [UInt8]? = nil, to: [UInt8]? = nil, reverse: Bool = false, batchSize: Int = 256,
        options: ReadOptions = ReadOptions()
    ) async throws(KVError) -> KVAsyncEntries {
        var o = options
        o.lowerBound = Self.tighter(o.lowerBound, from, lower: true)
        o.upperBound = Self.tighter(o.upperBound, to, lower: false)
        if o.snapshot == nil { o.snapshot = try engine.takeSnapshot() }
        let it = try engine.makeIterator(o)
        return KVAsyncEntries(iterator: it, reverse: reverse, batchSize: max(1, batchSize), executor: blocking)
    }

    /// An unsynced write that can lead at once goes in on the caller's thread; anything that
    /// would wait (a synced write, a full memtable, a stall, another group committing) goes
    /// to the store's threads.
    private func commit(_ batch: WriteBatch, _ options: WriteOptions) async throws(KVError) {
        if !options.sync && !options.nonBlocking {
            do {
                return try engine.write(batch, sync: false, nonBlocking: true)
            } catch {
                guard error == .wouldBlock else { throw error }
            }
        }
        try await blocking.run { () throws(KVError) in
            try self.engine.write(batch, sync: options.sync, nonBlocking: options.nonBlocking)
        }
    }
}
