import KVStore

/// A sorted set — members ordered by a score, then by member bytes — at one key of a
/// `Keyspace`, with Redis's semantics (ZADD, ZSCORE, ZRANK, ZRANGE, ZPOPMIN …): a
/// leaderboard, a priority queue, a time index. Ranks are found through the set's rank
/// directory, so `rank(of:)` and `range(ranks:)` cost about the same at any size.
///
/// Made on a keyspace, each call is atomic on its own; made on a `KeyspaceUnit`, calls join
/// the unit's transaction. A key that holds another type throws `KeyspaceError.wrongType`;
/// a NaN score throws `invalidArgument`.
public struct KVSortedSet: KVCollectionHandle {
    public let key: [UInt8]
    let scope: HandleScope

    public init(key: [UInt8], scope: HandleScope) {
        self.key = key
        self.scope = scope
    }

    /// Adds `member` or changes its score; true when it was new.
    @discardableResult
    public func add(_ member: some Collection<UInt8>, score: Double) throws(KeyspaceError) -> Bool {
        try add([(score, Array(member))]).added == 1
    }

    /// Adds or updates members, as ZADD with `options` (NX, XX, GT, LT; `increment` takes
    /// one pair).
    @discardableResult
    public func add(_ pairs: [(score: Double, member: [UInt8])], options: SortedSetAddOptions = SortedSetAddOptions()) throws(KeyspaceError) -> SortedSetAddResult {
        guard !pairs.contains(where: { $0.score.isNaN }) else { throw .invalidArgument("score is not a number (NaN)") }
        guard !options.increment || pairs.count == 1 else { throw .invalidArgument("an increment takes one member") }
        return try scope.write { (w) throws(KeyspaceError) in try w.sortedSetAdd(key, pairs, options: options) }
    }

    /// Adds `delta` to a member's score (a new member starts at 0); returns the new score.
    @discardableResult
    public func increment(_ member: some Collection<UInt8>, by delta: Double) throws(KeyspaceError) -> Double {
        var options = SortedSetAddOptions()
        options.increment = true
        return try add([(delta, Array(member))], options: options).incremented ?? delta
    }

    /// Removes members; returns how many were there. The set goes with its last member.
    @discardableResult
    public func remove(_ members: [[UInt8]]) throws(KeyspaceError) -> Int {
        try scope.write { (w) throws(KeyspaceError) in try w.sortedSetRemove(key, members) }
    }

    /// A member's score, nil when it is not there.
    public func score(of member: some Collection<UInt8>) throws(KeyspaceError) -> Double? {
        try scope.read { (r) throws(KeyspaceError) in try r.sortedSetScore(key, Array(member)) }
    }

    /// A member's 0-based rank by ascending score (`descending`: from the highest), nil when
    /// it is not there.
    public func rank(of member: some Collection<UInt8>, descending: Bool = false) throws(KeyspaceError) -> Int? {
        try scope.read { (r) throws(KeyspaceError) in try r.sortedSetRank(key, Array(member), reverse: descending) }
    }

    /// Number of members (0 when the set does not exist).
    public func count() throws(KeyspaceError) -> Int {
        try scope.read { (r) throws(KeyspaceError) in try r.sortedSetCount(key) }
    }

    /// Number of members with a score within `min`…`max`.
    public func count(min: ScoreBound, max: ScoreBound) throws(KeyspaceError) -> Int {
        try scope.read { (r) throws(KeyspaceError) in try r.sortedSetCount(key, min: min, max: max) }
    }

    /// The members at 0-based ranks `ranks` (clamped to the set), with their scores, by
    /// ascending score (`descending`: ranks counted from the highest score).
    public func range(ranks: ClosedRange<Int>, descending: Bool = false) throws(KeyspaceError) -> [(member: [UInt8], score: Double)] {
        try scope.read { (r) throws(KeyspaceError) in
            var out: [(member: [UInt8], score: Double)] = []
            try r.sortedSetWalkRanks(key, from: ranks.lowerBound, to: ranks.upperBound, reverse: descending) { m, s in
                out.append((Array(m), s))
                return true
            }
            return out
        }
    }

    /// Up to `limit` members with a score within `min`…`max`, in score order (`descending`:
    /// from `max` down).
    public func range(min: ScoreBound, max: ScoreBound, descending: Bool = false, limit: Int = .max) throws(KeyspaceError) -> [(member: [UInt8], score: Double)] {
        try scope.read { (r) throws(KeyspaceError) in
            var out: [(member: [UInt8], score: Double)] = []
            guard limit > 0 else { return out }
            try r.sortedSetWalk(key, min: min, max: max, reverse: descending) { m, s in
                out.append((Array(m), s))
                return out.count < limit
            }
            return out
        }
    }

    /// Removes and returns up to `count` members with the lowest scores (ZPOPMIN).
    public func popMin(_ count: Int = 1) throws(KeyspaceError) -> [(member: [UInt8], score: Double)] {
        try pop(count, highest: false)
    }

    /// Removes and returns up to `count` members with the highest scores (ZPOPMAX).
    public func popMax(_ count: Int = 1) throws(KeyspaceError) -> [(member: [UInt8], score: Double)] {
        try pop(count, highest: true)
    }

    private func pop(_ count: Int, highest: Bool) throws(KeyspaceError) -> [(member: [UInt8], score: Double)] {
        guard count > 0 else { return [] }
        return try scope.write { (w) throws(KeyspaceError) in try w.sortedSetPop(key, count: count, max: highest) }
    }

    /// Up to `limit` members from `cursor` (nil: the lowest score), in score order.
    public func page(from cursor: KVPageCursor? = nil, limit: Int = 1000) throws(KeyspaceError) -> KVPage<(member: [UInt8], score: Double)> {
        try scope.read { (r) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    /// Every member and score in score order, a page at a time from one snapshot.
    public func elements(pageSize: Int = 1000) -> KVElements<(member: [UInt8], score: Double)> {
        let key = key
        return KVElements(scope: scope, pageSize: pageSize) { (r, cursor, limit) throws(KeyspaceError) in try Self.page(r, key, cursor, limit) }
    }

    static func page(
        _ r: KeyspaceAccess<KeyspaceTransaction>, _ key: [UInt8], _ cursor: KVPageCursor?, _ limit: Int
    ) throws(KeyspaceError) -> KVPage<(member: [UInt8], score: Double)> {
        var start = 0
        if case .position(let p)? = cursor?.mark { start = p }
        let n = max(limit, 1)
        var out: [(member: [UInt8], score: Double)] = []
        try r.sortedSetWalkRanks(key, from: start, to: start + n - 1) { m, s in
            out.append((Array(m), s))
            return true
        }
        let total = try r.sortedSetCount(key)
        let more = out.count == n && start + n < total
        return KVPage(elements: out, next: more ? KVPageCursor(mark: .position(start + n)) : nil)
    }
}
