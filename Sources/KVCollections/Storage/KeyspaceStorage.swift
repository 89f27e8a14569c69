import KVStore

/// What the keyspace reads through: the store at one moment, or a transaction that sees its
/// own writes.
public protocol KeyspaceReader {
    /// The main entry or element stored at engine key `key`, or nil.
    func lookup(_ key: [UInt8]) throws(KVError) -> StoredValue?
    /// What is stored at each of `keys`, read as one view (one moment of the store).
    func lookup(keys: [[UInt8]]) throws(KVError) -> [StoredValue?]
    /// An ordered cursor over engine keys within `options`' bounds.
    func makeIterator(_ options: ReadOptions) throws(KVError) -> any KVCursor
}

extension KeyspaceReader {
    /// One lookup per key: right for a reader that is already one view (a transaction,
    /// whose keys are locked, or a snapshot's reader).
    public func lookup(keys: [[UInt8]]) throws(KVError) -> [StoredValue?] {
        var found: [StoredValue?] = []
        found.reserveCapacity(keys.count)
        for key in keys { found.append(try lookup(key)) }
        return found
    }
}

/// What the keyspace writes through: a unit of work whose writes commit together, and which
/// remembers the keys it modified (WATCH and blocked clients learn of them).
public protocol KeyspaceWriter: KeyspaceReader {
    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?, tag: UInt8)
    func delete(_ key: [UInt8])
    func deleteRange(from: [UInt8], to: [UInt8]?)
    /// `key` (a keyspace key, not an engine key) was modified.
    func noteModified(_ key: [UInt8])
}

/// The store read directly, as of each read (or `options.snapshot`): for reads outside a
/// transaction.
public struct StoreReader: KeyspaceReader {
    public let store: KVStore
    public let options: ReadOptions

    public init(store: KVStore, options: ReadOptions = ReadOptions()) {
        self.store = store
        self.options = options
    }

    public func lookup(_ key: [UInt8]) throws(KVError) -> StoredValue? {
        try store.lookup(key, options: options)
    }

    /// The engine's multi-get: one state for all keys, a consistent view without a snapshot.
    public func lookup(keys: [[UInt8]]) throws(KVError) -> [StoredValue?] {
        try store.lookup(keys: keys, options: options)
    }

    public func makeIterator(_ options: ReadOptions) throws(KVError) -> any KVCursor {
        var o = self.options
        o.lowerBound = options.lowerBound
        o.upperBound = options.upperBound
        o.prefix = options.prefix
        o.fillCache = options.fillCache
        return try store.makeIterator(o)
    }
}

/// A unit of work on the keyspace: an engine `Transaction` (its writes read back, committed
/// as one batch) and the keys it modified, in the order first modified.
///
/// Not thread-safe: one thread at a time, like the transaction it wraps. `@unchecked
/// Sendable` so that a value carrying it (a server's session) may cross threads — sound only
/// with a happens-before edge between its users (a lock, a queue handing it over), never two
/// threads at once; it belongs to one command, or one EXEC, running on one thread.
public final class KeyspaceTransaction: KeyspaceWriter, @unchecked Sendable {
    public let transaction: Transaction
    /// Keys modified so far, each once.
    public private(set) var modifiedKeys: [[UInt8]] = []
    private var modified: Set<[UInt8]> = []
    /// Every modification noted, in order, repeats included: what one of several commands
    /// sharing the unit (EXEC's) modified is what was noted after it began.
    public private(set) var modificationLog: [[UInt8]] = []

    public init(_ transaction: Transaction) {
        self.transaction = transaction
    }

    public var isEmpty: Bool { transaction.isEmpty }

    public func lookup(_ key: [UInt8]) throws(KVError) -> StoredValue? { try transaction.lookup(key) }

    public func makeIterator(_ options: ReadOptions) throws(KVError) -> any KVCursor {
        try transaction.makeIterator(options)
    }

    public func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?, tag: UInt8) {
        transaction.put(key, value, expiresAt: expiresAt, tag: tag)
    }

    public func delete(_ key: [UInt8]) { transaction.delete(key) }

    public func deleteRange(from: [UInt8], to: [UInt8]?) { transaction.deleteRange(from: from, to: to) }

    public func noteModified(_ key: [UInt8]) {
        if modified.insert(key).inserted { modifiedKeys.append(key) }
        modificationLog.append(key)
    }

    /// Commits the writes (see `Transaction.commit`).
    public func commit(options: WriteOptions = WriteOptions()) throws(KVError) {
        try transaction.commit(options: options)
    }
}
