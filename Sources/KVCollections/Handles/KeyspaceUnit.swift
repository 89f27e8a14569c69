import KVStore

/// A unit of work across any number of keys and collections: what `Keyspace.transaction(_:)`
/// hands its closure. Handles made from it (`KVHash(_:in:)` …) read its own writes, and all
/// their writes commit together, atomically, when the closure returns.
///
/// `@unchecked Sendable` so that handles made from it can be `Sendable` values; it belongs to
/// one closure run on one thread (as the engine `Transaction` it wraps), and must not be used
/// after the closure returns or from two threads at once.
public final class KeyspaceUnit: @unchecked Sendable {
    public let keyspace: Keyspace
    let work: KeyspaceTransaction

    init(keyspace: Keyspace, work: KeyspaceTransaction) {
        self.keyspace = keyspace
        self.work = work
    }

    /// The unit's view of the keyspace, for operations the handles do not cover (`type(of:)`,
    /// `delete(_:)`, `setExpiry(_:_:)`, `copy` …).
    public var access: KeyspaceAccess<KeyspaceTransaction> { keyspace.access(work) }
}
