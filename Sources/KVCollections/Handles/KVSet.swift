import KVStore

/// A set of distinct members at one key of a `Keyspace`, with Redis's semantics (SADD, SREM,
/// SISMEMBER, SCARD …). Made on a keyspace, each call is atomic on its own; made on a
/// `KeyspaceUnit`, calls join the unit's transaction. A key that holds another type throws
/// `KeyspaceError.wrongType`. Members come back in byte order.
public struct KVSet: KVCollectionHandle {
    public let key: [UInt8]
    let scope: HandleScope

    public init(key: [UInt8], scope: HandleScope) {
        self.key = key
        self.scope = scope
    }

    /// Adds members; returns how many were new.
    @discardableResult
    public func add(_ members: [[UInt8]]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.setAdd(key, members) }
    }

    /// Adds one member; true when it was new.
    @discardableResult
    public func add(_ member: some Collection<UInt8>) throws(KeyspaceError) -> Bool {
        try add([Array(member)]) == 1
    }

    /// Removes members; returns how many were there. The set goes with its last member.
    @discardableResult
    public func remove(_ members: [[UInt8]]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.setRemove(key, members) }
    }

    /// Whether `member` is in the set.
    public func contains(_ member: some Collection<UInt8>) throws(KeyspaceError) -> Bool {
        try scope.read { (r) throws(KeyspaceError) in try r.setContains(key, Array(member)) }
    }

    /// Number of members (0 when the set does not exist).
    public func count() throws(KeyspaceError) -> Int {
        try scope.read { (r) throws(KeyspaceError) in try r.setCount(key) }
    }

    /// Every member, in byte order, read at one moment. For a set too large to hold, use
    /// `elements()` or `page(from:limit:)`.
    public func members() throws(KeyspaceError) -> [[UInt8]] {
        try scope.read { (r) throws(KeyspaceError) in try r.setMembers(key) }
    }

    /// Up to `limit` members after `cursor` (nil: from the first).
    public func page(from cursor: KVPageCursor? = nil, limit: Int = 1000) throws(KeyspaceError) -> KVPage<[UInt8]> {
        try scope.read { (r) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    /// Every member, a page at a time from one snapshot.
    public func elements(pageSize: Int = 1000) -> KVElements<[UInt8]> {
        let key = key
        return KVElements(scope: scope, pageSize: pageSize) { (r, cursor, limit) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    static func page(_ r: KeyspaceAccess<KeyspaceTransaction>, _ key: [UInt8], _ cursor: KVPageCursor?, _ limit: Int) throws(KeyspaceError) -> KVPage<[UInt8]> {
        var after: [UInt8]?
        if case .after(let a)? = cursor?.mark { after = a }
        var out: [[UInt8]] = []
        let last = try r.scanElements(key, .set, after: after, count: max(limit, 1)) { m, _ in out.append(Array(m)) }
        return KVPage(elements: out, next: last.map { KVPageCursor(mark: .after($0)) })
    }
}
