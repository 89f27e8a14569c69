import KVStore

/// A score range bound: a score, and whether it is excluded (`(1.5` in Redis).
public struct ScoreBound: Sendable, Equatable {
    public var score: Double
    public var exclusive: Bool

    public init(_ score: Double, exclusive: Bool = false) {
        self.score = score
        self.exclusive = exclusive
    }

    public static let negativeInfinity = ScoreBound(-.infinity)
    public static let positiveInfinity = ScoreBound(.infinity)
}

/// A member range bound for lexicographic ranges (`-`, `+`, `[a`, `(a` in Redis).
public enum LexBound: Sendable, Equatable {
    case minimum
    case maximum
    case inclusive([UInt8])
    case exclusive([UInt8])
}

/// ZADD's options.
public struct SortedSetAddOptions: Sendable {
    public var onlyNew = false        // NX
    public var onlyExisting = false   // XX
    public var onlyGreater = false    // GT
    public var onlyLess = false       // LT
    public var increment = false      // INCR
    public init() {}
}

/// What ZADD did.
public struct SortedSetAddResult: Sendable {
    /// Members added.
    public var added = 0
    /// Members whose score changed (not counting added ones).
    public var updated = 0
    /// With `increment`: the member's new score, nil when an option stopped it.
    public var incremented: Double?
}

/// Sorted sets: per member, a member entry (suffix 0x00 + member, value: the score) and an
/// index entry (suffix 0x01 + sortable score + member, empty) that keeps members in score
/// order, then member order for equal scores (Redis's order).
extension KeyspaceAccess {
    static var memberSpace: [UInt8] { [0x00] }
    static var indexSpace: [UInt8] { [0x01] }

    static func indexSuffix(_ score: Double, _ member: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = [0x01]
        appendBigEndian(ScoreEncoding.sortable(score), to: &out)
        out.append(contentsOf: member)
        return out
    }

    /// A member's score, nil when it (or the key) is not there.
    public func sortedSetScore(_ key: [UInt8], _ member: [UInt8]) throws(KeyspaceError) -> Double? {
        guard let (meta, _) = try metadata(key, .sortedSet) else { return nil }
        return try score(key, meta, member)
    }

    func score(_ key: [UInt8], _ meta: CollectionMetadata, _ member: [UInt8]) throws(KeyspaceError) -> Double? {
        guard let v = try element(key, meta, [0x00] + member) else { return nil }
        guard let s = ScoreEncoding.score(fromValue: v) else {
            throw .corruption(key: key, reason: "sorted-set member entry holds \(v.count) bytes, not a score")
        }
        return s
    }

    public func sortedSetCount(_ key: [UInt8]) throws(KeyspaceError) -> Int {
        try metadata(key, .sortedSet).map { Int($0.meta.count) } ?? 0
    }

    /// Walks members in score order (or reverse) from the first within `min`…`max`, calling
    /// `body` with each member and score until it returns false.
    public func sortedSetWalk(
        _ key: [UInt8], min: ScoreBound = .negativeInfinity, max: ScoreBound = .positiveInfinity, reverse: Bool = false,
        _ body: (UnsafeRawBufferPointer, Double) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        guard let (meta, _) = try metadata(key, .sortedSet) else { return }
        try walkIndex(key, meta, min: min, max: max, reverse: reverse, body)
    }

    func walkIndex(
        _ key: [UInt8], _ meta: CollectionMetadata, min: ScoreBound, max: ScoreBound, reverse: Bool,
        _ body: (UnsafeRawBufferPointer, Double) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        var lo: [UInt8] = []
        appendBigEndian(ScoreEncoding.sortable(min.score), to: &lo)
        var hi: [UInt8] = []
        appendBigEndian(ScoreEncoding.sortable(max.score), to: &hi)
        // Upper bound: just past every member with score `max`.
        var upper = KeyspaceKeys.successor(hi)
        // Within the set's known bounds: entries popped from an end are not stepped over.
        if let low = meta.low, lo.lexicographicallyPrecedes(low) { lo = low }
        if let high = meta.high, upper.map({ (high + [0]).lexicographicallyPrecedes($0) }) ?? true { upper = high + [0] }
        let it = try elements(key, meta, suffixPrefix: Self.indexSpace, from: lo, to: upper)
        let skip = KeyspaceKeys.elementPrefix(key, version: meta.version).count + 1
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid {
            let go = try it.withCurrent { (k, _) throws(KeyspaceError) -> Bool in
                let suffix = UnsafeRawBufferPointer(rebasing: k[skip...])
                let s = ScoreEncoding.score(fromSortable: loadBigEndian64(suffix, at: 0))
                if (min.exclusive && s == min.score) || (max.exclusive && s == max.score) { return true }
                return try body(UnsafeRawBufferPointer(rebasing: suffix[8...]), s)
            }
            if !go { break }
            if reverse { it.previous() } else { it.next() }
        }
        try read { () throws(KVError) in try it.check() }
    }

    /// Walks members in member order (or reverse) within lexicographic bounds.
    public func sortedSetWalkLex(
        _ key: [UInt8], min: LexBound, max: LexBound, reverse: Bool = false,
        _ body: (UnsafeRawBufferPointer, Double) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        guard let (meta, _) = try metadata(key, .sortedSet) else { return }
        var from: [UInt8]?
        var to: [UInt8]?
        switch min {
        case .minimum: from = nil
        case .maximum: return
        case .inclusive(let m): from = m
        case .exclusive(let m): from = m + [0]
        }
        switch max {
        case .maximum: to = nil
        case .minimum: return
        case .inclusive(let m): to = m + [0]
        case .exclusive(let m): to = m
        }
        if let f = from, let t = to, !f.lexicographicallyPrecedes(t) { return }
        let it = try elements(key, meta, suffixPrefix: Self.memberSpace, from: from, to: to)
        let skip = KeyspaceKeys.elementPrefix(key, version: meta.version).count + 1
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid {
            let go = try it.withCurrent { (k, v) throws(KeyspaceError) -> Bool in
                guard let s = ScoreEncoding.score(fromValue: Array(v)) else {
                    throw .corruption(key: key, reason: "sorted-set member entry is not a score")
                }
                return try body(UnsafeRawBufferPointer(rebasing: k[skip...]), s)
            }
            if !go { break }
            if reverse { it.previous() } else { it.next() }
        }
        try read { () throws(KVError) in try it.check() }
    }

    /// A member's 0-based rank in score order (or reverse), nil when absent. A set with a
    /// rank directory reads about 2,000 entries whatever its size; a small one walks.
    public func sortedSetRank(_ key: [UInt8], _ member: [UInt8], reverse: Bool = false) throws(KeyspaceError) -> Int? {
        guard let (meta, _) = try metadata(key, .sortedSet), let s = try score(key, meta, member) else { return nil }
        let below = try indexEntries(before: Array(Self.indexSuffix(s, member).dropFirst()), key, meta)
        return reverse ? Int(meta.count) - 1 - below : below
    }

    /// The number of members with a score within `min`…`max` (ZCOUNT), counted through the
    /// rank directory: the difference of two ranks.
    public func sortedSetCount(_ key: [UInt8], min: ScoreBound, max: ScoreBound) throws(KeyspaceError) -> Int {
        guard let (meta, _) = try metadata(key, .sortedSet) else { return 0 }
        // An index entry is sortable score + member; a bound is every entry of that score (the
        // score alone, or past all of them: its successor).
        func position(_ b: ScoreBound, after: Bool) throws(KeyspaceError) -> Int {
            var p: [UInt8] = []
            appendBigEndian(ScoreEncoding.sortable(b.score), to: &p)
            guard after else { return try indexEntries(before: p, key, meta) }
            guard let next = KeyspaceKeys.successor(p) else { return Int(meta.count) }
            return try indexEntries(before: next, key, meta)
        }
        let lo = try position(min, after: min.exclusive)
        let hi = try position(max, after: !max.exclusive)
        return Swift.max(0, hi - lo)
    }

    /// Calls `body` with the members at 0-based ranks `start...stop` (clamped to the set;
    /// `reverse`: ranks from the highest score, walked that way) until it returns false.
    /// Finds `start` through the rank directory, then walks.
    public func sortedSetWalkRanks(
        _ key: [UInt8], from start: Int, to stop: Int, reverse: Bool = false,
        _ body: (UnsafeRawBufferPointer, Double) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        guard let (meta, _) = try metadata(key, .sortedSet) else { return }
        try walkRanks(key, meta, lo: Swift.max(start, 0), hi: stop, reverse: reverse, body)
    }
}

extension KeyspaceAccess where Storage: KeyspaceWriter {
    func putMember(_ key: [UInt8], _ meta: CollectionMetadata, _ member: [UInt8], _ score: Double, replacing old: Double?, _ rank: inout RankChanges) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        if let old {
            let entry = Self.indexSuffix(old, member)
            storage.delete(prefix + entry)
            rank.note(entry, -1)
        }
        storage.put(prefix + [0x00] + member, ScoreEncoding.value(score), expiresAt: nil, tag: 0)
        let entry = Self.indexSuffix(score, member)
        storage.put(prefix + entry, [], expiresAt: nil, tag: 0)
        rank.note(entry, 1)
    }

    func removeMember(_ key: [UInt8], _ meta: CollectionMetadata, _ member: some Collection<UInt8>, _ score: Double, _ rank: inout RankChanges) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        storage.delete(prefix + [0x00] + member)
        let entry = Self.indexSuffix(score, member)
        storage.delete(prefix + entry)
        rank.note(entry, -1)
    }

    /// ZADD: adds or updates members. Scores must not be NaN (the caller checks). With
    /// `increment`, one pair; a NaN result throws `invalidArgument("resulting score is not a
    /// number (NaN)")`.
    public func sortedSetAdd(
        _ key: [UInt8], _ pairs: [(score: Double, member: [UInt8])], options: SortedSetAddOptions = SortedSetAddOptions(),
        nonBlocking: Bool = false
    ) throws(KeyspaceError) -> SortedSetAddResult {
        var result = SortedSetAddResult()
        var found = try metadata(key, .sortedSet)
        if found == nil && options.onlyExisting { return result }
        if found == nil {
            var m = try newCollection(.sortedSet, nonBlocking: nonBlocking)
            if keyspace.limits[.zsetMaxEntries] == 0 { m.converted = true }
            found = (m, nil)
        }
        var (meta, expiresAt) = found!
        var changed = false
        var rank = RankChanges()
        for (given, member) in pairs {
            let old = try score(key, meta, member)
            if old != nil && options.onlyNew { continue }
            if old == nil && options.onlyExisting { continue }
            var new = given
            if options.increment, let old {
                new = old + given
                if new.isNaN { throw .invalidArgument("resulting score is not a number (NaN)") }
            }
            if let old {
                if options.onlyGreater && !(new > old) { continue }
                if options.onlyLess && !(new < old) { continue }
                result.incremented = new
                if new == old { continue }
                putMember(key, meta, member, new, replacing: old, &rank)
                meta.widenBounds(Array(Self.indexSuffix(new, member).dropFirst()))
                result.updated += 1
            } else {
                result.incremented = new
                putMember(key, meta, member, new, replacing: nil, &rank)
                meta.widenBounds(Array(Self.indexSuffix(new, member).dropFirst()))
                meta.count += 1
                result.added += 1
                if member.count > keyspace.limits[.zsetMaxValue] { meta.converted = true }
            }
            changed = true
        }
        if meta.count > UInt64(keyspace.limits[.zsetMaxEntries]) { meta.converted = true }
        try rankApply(key, meta, rank)
        try rankBuildIfNeeded(key, &meta)
        if changed { save(key, meta, expiresAt: expiresAt) }
        return result
    }

    /// Removes members; returns how many were there.
    @discardableResult
    public func sortedSetRemove(_ key: [UInt8], _ members: [[UInt8]]) throws(KeyspaceError) -> Int {
        guard let found = try metadata(key, .sortedSet) else { return 0 }
        var meta = found.meta
        let expiresAt = found.expiresAt
        var removed = 0
        var rank = RankChanges()
        for member in members {
            guard let s = try score(key, meta, member) else { continue }
            removeMember(key, meta, member, s, &rank)
            meta.count -= 1
            removed += 1
        }
        try rankApply(key, meta, rank)
        if removed > 0 { save(key, meta, expiresAt: expiresAt) }
        return removed
    }

    /// Removes the members `select` yields (member, score pairs gathered first); returns them.
    @discardableResult
    public func sortedSetRemove(
        _ key: [UInt8], gathered: [(member: [UInt8], score: Double)]
    ) throws(KeyspaceError) -> Int {
        guard !gathered.isEmpty, let found = try metadata(key, .sortedSet) else { return 0 }
        var meta = found.meta
        let expiresAt = found.expiresAt
        var rank = RankChanges()
        for (m, s) in gathered { removeMember(key, meta, m, s, &rank) }
        try rankApply(key, meta, rank)
        meta.count -= UInt64(gathered.count)
        save(key, meta, expiresAt: expiresAt)
        return gathered.count
    }

    /// Removes and returns up to `count` members from the low end (or the high end, `max`):
    /// ZPOPMIN, ZPOPMAX and their blocking and multi-key forms. The set's bound at that end
    /// moves past what was removed, so the next pop does not step over it again.
    public func sortedSetPop(_ key: [UInt8], count: Int, max: Bool) throws(KeyspaceError) -> [(member: [UInt8], score: Double)] {
        guard count > 0, let found = try metadata(key, .sortedSet) else { return [] }
        var meta = found.meta
        var taken: [(member: [UInt8], score: Double)] = []
        var next: [UInt8]?  // the first member left at that end, as an index entry
        try walkIndex(key, meta, min: .negativeInfinity, max: .positiveInfinity, reverse: max) { m, score in
            if taken.count == count {
                next = Array(Self.indexSuffix(score, m).dropFirst())
                return false
            }
            taken.append((Array(m), score))
            return true
        }
        guard !taken.isEmpty else { return [] }
        var rank = RankChanges()
        for (m, s) in taken { removeMember(key, meta, m, s, &rank) }
        try rankApply(key, meta, rank)
        meta.count -= UInt64(taken.count)
        if let next { if max { meta.high = next } else { meta.low = next } }
        save(key, meta, expiresAt: found.expiresAt)
        return taken
    }

    /// Replaces `key` with a sorted set of `pairs` (distinct members), or deletes it when
    /// there are none (ZUNIONSTORE, ZRANGESTORE …).
    public func sortedSetStore(_ key: [UInt8], _ pairs: [(member: [UInt8], score: Double)], nonBlocking: Bool = false) throws(KeyspaceError) {
        storage.delete(KeyspaceKeys.main(key))
        storage.noteModified(key)
        guard !pairs.isEmpty else { return }
        var meta = try newCollection(.sortedSet, nonBlocking: nonBlocking)
        var rank = RankChanges()  // a new set has no directory: built below when large
        for (m, s) in pairs {
            putMember(key, meta, m, s, replacing: nil, &rank)
            if m.count > keyspace.limits[.zsetMaxValue] { meta.converted = true }
        }
        meta.count = UInt64(pairs.count)
        if meta.count > UInt64(keyspace.limits[.zsetMaxEntries]) { meta.converted = true }
        try rankBuildIfNeeded(key, &meta)
        save(key, meta, expiresAt: nil)
    }
}
