/// A unit of work on a store: reads that see its own writes, and writes that reach the store
/// together, atomically, when it commits — `KVStore.beginTransaction(isolation:)`.
///
/// ```swift
/// let t = try store.beginTransaction()           // optimistic
/// let n = Int(String(decoding: try t.get(Array("hits".utf8)) ?? Array("0".utf8), as: UTF8.self)) ?? 0
/// t.put(Array("hits".utf8), Array(String(n + 1).utf8))
/// try t.commit()                                  // KVError.conflict if "hits" changed meanwhile
/// ```
///
/// With `.optimistic` isolation (the default) the transaction reads the store as of its
/// snapshot, taken when it began, and its commit fails with `KVError.conflict` — writing
/// nothing — if any key it read with `get`/`lookup` or wrote was written by someone else
/// after that snapshot: run it again. Ranges walked with an iterator are not checked, only
/// keys. With `.none` it reads the latest state at each read and its commit never conflicts:
/// for callers that keep others off the keys themselves (a server holding key locks).
///
/// Not thread-safe: one thread at a time. Dropping it without committing discards its writes.
public final class Transaction {
    /// How a transaction is kept apart from other writers.
    public enum Isolation: Sendable {
        /// Reads at a snapshot; the commit fails if a key read or written changed since.
        case optimistic
        /// Reads the latest state; the commit never conflicts (the caller excludes others).
        case none
    }

    let store: KVStore
    public let isolation: Isolation
    /// How reads are made (`snapshot` is set by the transaction for `.optimistic`).
    public var readOptions: ReadOptions
    /// The writes so far.
    public private(set) var writes = IndexedBatch()
    private let snapshot: Snapshot?
    /// Keys read or written (optimistic only): the commit checks them.
    private var tracked: Set<[UInt8]> = []

    init(store: KVStore, isolation: Isolation, readOptions: ReadOptions) throws(KVError) {
        self.store = store
        self.isolation = isolation
        var options = readOptions
        if isolation == .optimistic {
            let s = try store.snapshot()
            options.snapshot = s
            snapshot = s
        } else {
            snapshot = nil
        }
        self.readOptions = options
    }

    /// Whether the transaction has written nothing.
    public var isEmpty: Bool { writes.isEmpty }

    /// The value of `key` as this transaction sees it, or nil.
    public func get(_ key: [UInt8]) throws(KVError) -> [UInt8]? {
        try lookup(key)?.value
    }

    /// The value, expiry and tag of `key` as this transaction sees it, or nil.
    public func lookup(_ key: [UInt8]) throws(KVError) -> StoredValue? {
        if isolation == .optimistic { tracked.insert(key) }
        switch writes.lookup(key, now: store.engine.options.clock()) {
        case .value(let v): return v
        case .deleted: return nil
        case .untouched: return try store.lookup(key, options: readOptions)
        }
    }

    /// Stores `value` under `key` (nil `expiresAt`: no expiry; `tag`: see `WriteBatch`).
    public func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64? = nil, tag: UInt8 = 0) {
        if isolation == .optimistic { tracked.insert(key) }
        writes.put(key, value, expiresAt: expiresAt, tag: tag)
    }

    /// Removes `key`.
    public func delete(_ key: [UInt8]) {
        if isolation == .optimistic { tracked.insert(key) }
        writes.delete(key)
    }

    /// Removes every key in [`from`, `to`) (nil `to`: every key from `from` on).
    public func deleteRange(from: [UInt8], to: [UInt8]?) {
        writes.deleteRange(from: from, to: to)
    }

    /// An ordered cursor over the keys as this transaction sees them now, within `options`'
    /// bounds and prefix (its snapshot and read settings are the transaction's).
    public func makeIterator(_ options: ReadOptions = ReadOptions()) throws(KVError) -> any KVCursor {
        var o = readOptions
        o.lowerBound = options.lowerBound
        o.upperBound = options.upperBound
        o.prefix = options.prefix
        o.fillCache = options.fillCache
        let base = try store.makeIterator(o)
        guard !writes.isEmpty else { return base }
        var lower = options.lowerBound
        var upper = options.upperBound
        if let prefix = options.prefix {
            lower = KVStore.tighter(lower, prefix, lower: true)
            upper = KVStore.tighter(upper, prefixSuccessor(prefix), lower: false)
        }
        return TransactionIterator(store: base, writes: writes.view(from: lower, to: upper, now: store.engine.options.clock()))
    }

    /// Writes everything at once (all or nothing, also across a crash). `.optimistic`: throws
    /// `KVError.conflict`, writing nothing, if a key this transaction read or wrote was
    /// written by someone else since its snapshot. A transaction commits at most once.
    public func commit(options: WriteOptions = WriteOptions()) throws(KVError) {
        defer { snapshot?.release() }
        guard !writes.isEmpty || isolation == .optimistic else { return }
        var condition: CommitCondition?
        if isolation == .optimistic, let snapshot {
            condition = CommitCondition(readSequence: snapshot.sequence, contents: snapshot.contents, keys: Array(tracked))
        }
        guard !writes.isEmpty else { return }
        try store.check(writes.batch)
        try store.engine.write(writes.batch, sync: options.sync, nonBlocking: options.nonBlocking, condition: condition)
    }
}

extension KVStore {
    /// Starts a transaction (see `Transaction`): `.optimistic` reads a snapshot taken now and
    /// checks at commit that nobody wrote its keys since; `.none` reads the latest state and
    /// never conflicts. `readOptions` set how its reads are made (`nonBlocking`,
    /// `verifyChecksums`, `fillCache`).
    public func beginTransaction(isolation: Transaction.Isolation = .optimistic, readOptions: ReadOptions = ReadOptions()) throws(KVError) -> Transaction {
        guard !engine.isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        return try Transaction(store: self, isolation: isolation, readOptions: readOptions)
    }
}
