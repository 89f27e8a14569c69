import KVStore

/// What the typed handles (`KVHash`, `KVSet`, `KVSortedSet`, `KVList`) have in common: a key,
/// and where they read and write — the keyspace, each call its own atomic operation, or a
/// `KeyspaceUnit`, whose writes commit together.
public protocol KVCollectionHandle: Sendable {
    /// The key the collection is stored at.
    var key: [UInt8] { get }
    /// The handle for `key` in `scope` (use `init(_:in:)`).
    init(key: [UInt8], scope: HandleScope)
}

extension KVCollectionHandle {
    /// The collection at `key`, each call its own atomic operation.
    public init(_ key: some Collection<UInt8>, in keyspace: Keyspace) {
        self.init(key: Array(key), scope: HandleScope(target: .keyspace(keyspace)))
    }

    /// The collection at `key`, each call its own atomic operation.
    public init(_ key: String, in keyspace: Keyspace) { self.init(key.utf8, in: keyspace) }

    /// The collection at `key` within a unit of work (`Keyspace.transaction(_:)`).
    public init(_ key: some Collection<UInt8>, in unit: KeyspaceUnit) {
        self.init(key: Array(key), scope: HandleScope(target: .unit(unit)))
    }

    /// The collection at `key` within a unit of work (`Keyspace.transaction(_:)`).
    public init(_ key: String, in unit: KeyspaceUnit) { self.init(key.utf8, in: unit) }
}

/// Where a handle reads and writes: the keyspace directly (each call its own atomic
/// operation) or a unit of work. Made by the handles' initializers.
public struct HandleScope: Sendable {
    enum Target: Sendable {
        case keyspace(Keyspace)
        case unit(KeyspaceUnit)
    }

    let target: Target

    var keyspace: Keyspace {
        switch target {
        case .keyspace(let k): return k
        case .unit(let u): return u.keyspace
        }
    }

    /// Runs a read: in a unit, through it; else on the latest state.
    func read<R>(_ body: (KeyspaceAccess<KeyspaceTransaction>) throws(KeyspaceError) -> R) throws(KeyspaceError) -> R {
        switch target {
        case .unit(let u):
            return try body(u.access)
        case .keyspace(let k):
            let t: Transaction
            do { t = try k.store.beginTransaction(isolation: .none) } catch { throw .store(error) }
            return try body(k.access(KeyspaceTransaction(t)))
        }
    }

    /// Runs a write: in a unit, as part of it; else as one optimistic transaction of its
    /// own, retried when another writer changed its keys first.
    func write<R>(_ body: (KeyspaceAccess<KeyspaceTransaction>) throws(KeyspaceError) -> R) throws(KeyspaceError) -> R {
        switch target {
        case .unit(let u):
            return try body(u.access)
        case .keyspace(let k):
            return try k.typedTransaction { (u) throws(KeyspaceError) in try body(u.access) }
        }
    }
}
