import KVStore

/// A hash — fields and their values — at one key of a `Keyspace`, with Redis's semantics
/// (HSET, HGET, HDEL, HINCRBY …). No Redis server is involved: the handle reads and writes the
/// store directly, and a server over the same store sees the same hash.
///
/// Made on a keyspace, each call is atomic on its own (a write is an optimistic transaction,
/// retried on conflict); made on a `KeyspaceUnit`, calls join the unit's transaction. A key
/// that holds another type throws `KeyspaceError.wrongType`. Fields come back in byte order.
public struct KVHash: KVCollectionHandle {
    public let key: [UInt8]
    let scope: HandleScope

    public init(key: [UInt8], scope: HandleScope) {
        self.key = key
        self.scope = scope
    }

    /// A field's value, nil when the field (or the hash) does not exist.
    public func get(_ field: some Collection<UInt8>) throws(KeyspaceError) -> [UInt8]? {
        try scope.read { (r) throws(KeyspaceError) in try r.hashGet(key, Array(field)) }
    }

    /// Number of fields (0 when the hash does not exist).
    public func count() throws(KeyspaceError) -> Int {
        try scope.read { (r) throws(KeyspaceError) in try r.hashCount(key) }
    }

    /// Whether `field` exists.
    public func contains(_ field: some Collection<UInt8>) throws(KeyspaceError) -> Bool {
        try get(field) != nil
    }

    /// Sets a field; true when it is new.
    @discardableResult
    public func set(_ field: some Collection<UInt8>, _ value: some Collection<UInt8>) throws(KeyspaceError) -> Bool {
        try set([(Array(field), Array(value))]) == 1
    }

    /// Sets fields (a later pair wins over an earlier one of the same field); returns how
    /// many were new.
    @discardableResult
    public func set(_ pairs: [(field: [UInt8], value: [UInt8])]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.hashSet(key, pairs) }
    }

    /// Sets a field only when it does not exist (HSETNX); true when it was set.
    @discardableResult
    public func setIfAbsent(_ field: some Collection<UInt8>, _ value: some Collection<UInt8>) throws(KeyspaceError) -> Bool {
        try scope.write { (w) throws(KeyspaceError) in try w.hashSet(key, [(Array(field), Array(value))], onlyIfAbsent: true) } == 1
    }

    /// Removes fields; returns how many existed. The hash goes with its last field.
    @discardableResult
    public func remove(_ fields: [[UInt8]]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.hashDelete(key, fields) }
    }

    /// Adds `delta` to a field holding a decimal integer (a missing field counts as 0) and
    /// returns the result (HINCRBY). Throws `invalidArgument` for a value that is not an
    /// integer or a result that overflows, changing nothing.
    @discardableResult
    public func increment(_ field: some Collection<UInt8>, by delta: Int64) throws(KeyspaceError) -> Int64 {
        let f = Array(field)
        return try scope.write { (w) throws(KeyspaceError) -> Int64 in
            var current: Int64 = 0
            if let v = try w.hashGet(key, f) {
                guard let n = Int64(String(decoding: v, as: UTF8.self)), String(n).utf8.elementsEqual(v) else {
                    throw .invalidArgument("hash value is not an integer")
                }
                current = n
            }
            let (sum, overflow) = current.addingReportingOverflow(delta)
            guard !overflow else { throw .invalidArgument("increment or decrement would overflow") }
            try w.hashSet(key, [(f, Array(String(sum).utf8))])
            return sum
        }
    }

    /// Every field and value, in field order, read at one moment. For a hash too large to
    /// hold, use `elements()` or `page(from:limit:)`.
    public func all() throws(KeyspaceError) -> [(field: [UInt8], value: [UInt8])] {
        try scope.read { (r) throws(KeyspaceError) in
            var out: [(field: [UInt8], value: [UInt8])] = []
            try r.hashForEach(key) { f, v in out.append((Array(f), Array(v))) }
            return out
        }
    }

    /// Up to `limit` fields after `cursor` (nil: from the first), in field order.
    public func page(from cursor: KVPageCursor? = nil, limit: Int = 1000) throws(KeyspaceError) -> KVPage<(field: [UInt8], value: [UInt8])> {
        try scope.read { (r) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    /// Every field and value, a page at a time from one snapshot.
    public func elements(pageSize: Int = 1000) -> KVElements<(field: [UInt8], value: [UInt8])> {
        let key = key
        return KVElements(scope: scope, pageSize: pageSize) { (r, cursor, limit) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    static func page(
        _ r: KeyspaceAccess<KeyspaceTransaction>, _ key: [UInt8], _ cursor: KVPageCursor?, _ limit: Int
    ) throws(KeyspaceError) -> KVPage<(field: [UInt8], value: [UInt8])> {
        var after: [UInt8]?
        if case .after(let a)? = cursor?.mark { after = a }
        var out: [(field: [UInt8], value: [UInt8])] = []
        let last = try r.scanElements(key, .hash, after: after, count: max(limit, 1)) { f, v in out.append((Array(f), Array(v))) }
        return KVPage(elements: out, next: last.map { KVPageCursor(mark: .after($0)) })
    }
}
