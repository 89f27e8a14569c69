import KVStore

/// A list of values at one key of a `Keyspace`, with Redis's semantics (LPUSH, RPUSH, LPOP,
/// RPOP, LINDEX, LSET, LRANGE, LTRIM): a queue, a stack, a capped log. An element is reached
/// by index in one point read, at either end or in the middle.
///
/// Made on a keyspace, each call is atomic on its own; made on a `KeyspaceUnit`, calls join
/// the unit's transaction (moving an element between two lists atomically, for instance).
/// Indexes are 0-based; negative ones count from the end (-1 is the last). A key that holds
/// another type throws `KeyspaceError.wrongType`.
public struct KVList: KVCollectionHandle {
    public let key: [UInt8]
    let scope: HandleScope

    public init(key: [UInt8], scope: HandleScope) {
        self.key = key
        self.scope = scope
    }

    /// Appends values at the end (RPUSH); returns the new length.
    @discardableResult
    public func append(_ values: [[UInt8]]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.listPush(key, values, left: false) }
    }

    /// Inserts values at the front, one after another (LPUSH: the last ends up first);
    /// returns the new length.
    @discardableResult
    public func prepend(_ values: [[UInt8]]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.listPush(key, values, left: true) }
    }

    /// Removes and returns up to `count` values from the front (LPOP).
    public func popFirst(_ count: Int = 1) throws(KeyspaceError) -> [[UInt8]] {
        guard count > 0 else { return [] }
        return try scope.write { (w) throws(KeyspaceError) in try w.listPop(key, left: true, count: count) ?? [] }
    }

    /// Removes and returns up to `count` values from the end (RPOP).
    public func popLast(_ count: Int = 1) throws(KeyspaceError) -> [[UInt8]] {
        guard count > 0 else { return [] }
        return try scope.write { (w) throws(KeyspaceError) in try w.listPop(key, left: false, count: count) ?? [] }
    }

    /// Number of values (0 when the list does not exist).
    public func count() throws(KeyspaceError) -> Int {
        try scope.read { (r) throws(KeyspaceError) in try r.listCount(key) }
    }

    /// The value at `index`, nil when it is out of range.
    public func element(at index: Int) throws(KeyspaceError) -> [UInt8]? {
        try scope.read { (r) throws(KeyspaceError) in try r.listIndex(key, index) }
    }

    /// Replaces the value at `index`; false when it is out of range (or the list does not
    /// exist).
    @discardableResult
    public func set(at index: Int, _ value: some Collection<UInt8>) throws(KeyspaceError) -> Bool {
        let v = Array(value)
        return try scope.write { (w) throws(KeyspaceError) in try w.listSet(key, index, v) }
    }

    /// The values at indexes `start...stop` (LRANGE's normalization: negative from the end,
    /// clamped to the list).
    public func range(_ start: Int, _ stop: Int) throws(KeyspaceError) -> [[UInt8]] {
        try scope.read { (r) throws(KeyspaceError) in
            let n = try r.listCount(key)
            let lo = start < 0 ? max(n + start, 0) : start
            let hi = stop < 0 ? n + stop : stop
            var out: [[UInt8]] = []
            try r.listWalk(key, from: lo, to: hi) { v in
                out.append(Array(v))
                return true
            }
            return out
        }
    }

    /// Keeps only indexes `start...stop` (LTRIM); the list goes when nothing is left.
    public func trim(_ start: Int, _ stop: Int) throws(KeyspaceError) {
        try scope.write { (w) throws(KeyspaceError) in try w.listTrim(key, start: start, stop: stop) }
    }

    /// Up to `limit` values from `cursor` (nil: the front), in order.
    public func page(from cursor: KVPageCursor? = nil, limit: Int = 1000) throws(KeyspaceError) -> KVPage<[UInt8]> {
        try scope.read { (r) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    /// Every value, front to back, a page at a time from one snapshot.
    public func elements(pageSize: Int = 1000) -> KVElements<[UInt8]> {
        let key = key
        return KVElements(scope: scope, pageSize: pageSize) { (r, cursor, limit) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    static func page(_ r: KeyspaceAccess<KeyspaceTransaction>, _ key: [UInt8], _ cursor: KVPageCursor?, _ limit: Int) throws(KeyspaceError) -> KVPage<[UInt8]> {
        var start = 0
        if case .position(let p)? = cursor?.mark { start = p }
        let n = max(limit, 1)
        var out: [[UInt8]] = []
        try r.listWalk(key, from: start, to: start + n - 1) { v in
            out.append(Array(v))
            return true
        }
        let total = try r.listCount(key)
        let more = out.count == n && start + n < total
        return KVPage(elements: out, next: more ? KVPageCursor(mark: .position(start + n)) : nil)
    }
}
