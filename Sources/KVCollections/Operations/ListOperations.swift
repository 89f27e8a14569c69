import KVStore

/// Lists: one element per position in [head, tail) (suffix: the position, u64 big-endian,
/// biased by 2^63), so an element is found by index in one point read: LINDEX, LSET and
/// LRANGE anywhere in a list cost O(log N), not a walk. Inserting or removing in the middle
/// (LINSERT, LREM) shifts the elements after it, O(N), as in Redis.
extension KeyspaceAccess {
    static func position(_ p: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        appendBigEndian(p, to: &out)
        return out
    }

    /// LTRIM deletes up to this many elements from one end one by one, more with a range
    /// deletion.
    static var pointDeletionLimit: Int { 256 }

    public func listCount(_ key: [UInt8]) throws(KeyspaceError) -> Int {
        try metadata(key, .list).map { Int($0.meta.count) } ?? 0
    }

    /// Normalizes a Redis index (negative: from the end) against `count`; nil when outside.
    static func resolve(_ index: Int, count: Int) -> Int? {
        let i = index < 0 ? count + index : index
        return i >= 0 && i < count ? i : nil
    }

    /// The element at `index` (negative: from the end), nil when out of range.
    public func listIndex(_ key: [UInt8], _ index: Int) throws(KeyspaceError) -> [UInt8]? {
        guard let (meta, _) = try metadata(key, .list), let i = Self.resolve(index, count: Int(meta.count)) else { return nil }
        return try listElement(key, meta, i)
    }

    func listElement(_ key: [UInt8], _ meta: CollectionMetadata, _ i: Int) throws(KeyspaceError) -> [UInt8]? {
        guard let v = try element(key, meta, Self.position(meta.head + UInt64(i))) else {
            throw .corruption(key: key, reason: "list position \(i) of \(meta.count) has no element")
        }
        return v
    }

    /// Calls `body` with the elements at 0-based positions `from...to` (clamped), in order
    /// (or reverse), until it returns false.
    public func listWalk(_ key: [UInt8], from: Int, to: Int, reverse: Bool = false, _ body: (UnsafeRawBufferPointer) throws(KeyspaceError) -> Bool) throws(KeyspaceError) {
        guard let (meta, _) = try metadata(key, .list) else { return }
        try walkPositions(key, meta, from: from, to: to, reverse: reverse) { (_, v) throws(KeyspaceError) in try body(v) }
    }

    func walkPositions(
        _ key: [UInt8], _ meta: CollectionMetadata, from: Int, to: Int, reverse: Bool,
        _ body: (Int, UnsafeRawBufferPointer) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        let lo = max(from, 0)
        let hi = min(to, Int(meta.count) - 1)
        guard lo <= hi else { return }
        let it = try elements(
            key, meta, from: Self.position(meta.head + UInt64(lo)), to: Self.position(meta.head + UInt64(hi) + 1))
        var i = reverse ? hi : lo
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid {
            let go = try it.withCurrent { (_, v) throws(KeyspaceError) in try body(i, v) }
            if !go { break }
            if reverse { it.previous(); i -= 1 } else { it.next(); i += 1 }
        }
        try read { () throws(KVError) in try it.check() }
    }
}

extension KeyspaceAccess where Storage: KeyspaceWriter {
    /// Pushes elements at the head (`left`) or the tail, one after another (LPUSH a b c
    /// leaves c first). `onlyIfExists` (LPUSHX): nothing when the list does not exist.
    /// Returns the new length (0 when nothing was pushed because the list is missing).
    @discardableResult
    public func listPush(_ key: [UInt8], _ values: [[UInt8]], left: Bool, onlyIfExists: Bool = false, nonBlocking: Bool = false) throws(KeyspaceError) -> Int {
        var found = try metadata(key, .list)
        if found == nil {
            if onlyIfExists { return 0 }
            found = (try newCollection(.list, nonBlocking: nonBlocking), nil)
        }
        var (meta, expiresAt) = found!
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        for v in values {
            if left {
                meta.head -= 1
                storage.put(prefix + Self.position(meta.head), v, expiresAt: nil, tag: 0)
            } else {
                storage.put(prefix + Self.position(meta.tail), v, expiresAt: nil, tag: 0)
                meta.tail += 1
            }
            meta.count += 1
        }
        if !values.isEmpty { save(key, meta, expiresAt: expiresAt) }
        return Int(meta.count)
    }

    /// Pops up to `count` elements from the head (`left`) or the tail; nil when the list
    /// does not exist.
    public func listPop(_ key: [UInt8], left: Bool, count: Int) throws(KeyspaceError) -> [[UInt8]]? {
        guard let found = try metadata(key, .list) else { return nil }
        var meta = found.meta
        let expiresAt = found.expiresAt
        let n = min(count, Int(meta.count))
        var out: [[UInt8]] = []
        out.reserveCapacity(n)
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        for _ in 0..<n {
            let p = left ? meta.head : meta.tail - 1
            guard let v = try read({ () throws(KVError) in try storage.lookup(prefix + Self.position(p)) })?.value else {
                throw .corruption(key: key, reason: "list position \(p - meta.head) of \(meta.count) has no element")
            }
            storage.delete(prefix + Self.position(p))
            if left { meta.head += 1 } else { meta.tail -= 1 }
            meta.count -= 1
            out.append(v)
        }
        if n > 0 { save(key, meta, expiresAt: expiresAt) }
        return out
    }

    /// LSET: replaces the element at `index`; false when out of range (the caller tells "no
    /// such key" from "index out of range").
    public func listSet(_ key: [UInt8], _ index: Int, _ value: [UInt8]) throws(KeyspaceError) -> Bool {
        guard let (meta, expiresAt) = try metadata(key, .list), let i = Self.resolve(index, count: Int(meta.count)) else { return false }
        storage.put(KeyspaceKeys.elementPrefix(key, version: meta.version) + Self.position(meta.head + UInt64(i)), value, expiresAt: nil, tag: 0)
        save(key, meta, expiresAt: expiresAt)
        return true
    }

    /// Replaces the whole list with `values` (in order), keeping the key's version and
    /// expiry; deletes the key when empty. O(N): LINSERT, LREM, LTRIM rewrite through it
    /// only the part that moves (see `listRewrite(from:)`).
    func listRewrite(_ key: [UInt8], _ meta: CollectionMetadata, expiresAt: UInt64?, keepFirst: Int, then values: [[UInt8]]) {
        var m = meta
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        // Positions keepFirst ..< old count are rewritten; extra old ones deleted.
        let newCount = keepFirst + values.count
        for (j, v) in values.enumerated() {
            storage.put(prefix + Self.position(meta.head + UInt64(keepFirst + j)), v, expiresAt: nil, tag: 0)
        }
        if newCount < Int(meta.count) {
            for p in newCount..<Int(meta.count) { storage.delete(prefix + Self.position(meta.head + UInt64(p))) }
        }
        m.count = UInt64(newCount)
        m.tail = m.head + m.count
        save(key, m, expiresAt: expiresAt)
    }

    /// LINSERT: inserts `value` before or after the first `pivot`; the new length, -1 when the
    /// pivot is not there, 0 when the list does not exist.
    public func listInsert(_ key: [UInt8], before: Bool, pivot: [UInt8], value: [UInt8]) throws(KeyspaceError) -> Int {
        guard let (meta, expiresAt) = try metadata(key, .list) else { return 0 }
        var at: Int?
        var tail: [[UInt8]] = []
        try walkPositions(key, meta, from: 0, to: Int(meta.count) - 1, reverse: false) { (i, v) throws(KeyspaceError) in
            if at == nil && v.elementsEqual(pivot) { at = before ? i : i + 1 }
            if let a = at, i >= a { tail.append(Array(v)) }
            return true
        }
        guard let position = at else { return -1 }
        listRewrite(key, meta, expiresAt: expiresAt, keepFirst: position, then: [value] + tail)
        return Int(meta.count) + 1
    }

    /// LREM: removes up to |count| elements equal to `value` (from the head when count > 0,
    /// the tail when < 0, all when 0); returns how many.
    public func listRemove(_ key: [UInt8], count: Int, value: [UInt8]) throws(KeyspaceError) -> Int {
        guard let (meta, expiresAt) = try metadata(key, .list) else { return 0 }
        let limit = count == 0 ? Int.max : Int(clamping: count.magnitude)
        var all: [[UInt8]] = []
        all.reserveCapacity(Int(meta.count))
        try walkPositions(key, meta, from: 0, to: Int(meta.count) - 1, reverse: false) { (_, v) throws(KeyspaceError) in
            all.append(Array(v))
            return true
        }
        var removed = 0
        var keep = [Bool](repeating: true, count: all.count)
        let order: [Int] = count < 0 ? Array(all.indices.reversed()) : Array(all.indices)
        for i in order where removed < limit && all[i] == value {
            keep[i] = false
            removed += 1
        }
        guard removed > 0 else { return 0 }
        let first = keep.firstIndex(of: false)!
        var rest: [[UInt8]] = []
        for i in first..<all.count where keep[i] { rest.append(all[i]) }
        listRewrite(key, meta, expiresAt: expiresAt, keepFirst: first, then: rest)
        return removed
    }

    /// LTRIM: keeps positions start…stop (Redis's normalization); deletes the key when
    /// nothing is left.
    public func listTrim(_ key: [UInt8], start: Int, stop: Int) throws(KeyspaceError) {
        guard let found = try metadata(key, .list) else { return }
        var meta = found.meta
        let expiresAt = found.expiresAt
        let n = Int(meta.count)
        var s = start < 0 ? n + start : start
        var e = stop < 0 ? n + stop : stop
        if s < 0 { s = 0 }
        if e >= n { e = n - 1 }
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        // A long side goes as one range deletion; a short one as point deletions: every
        // iterator over the memtable sorts its range deletions, so a stream of small LTRIMs
        // (a capped log) as ranges would slow every read after them.
        func drop(_ from: Int, _ to: Int) {
            guard from < to else { return }
            if to - from <= Self.pointDeletionLimit {
                for p in from..<to { storage.delete(prefix + Self.position(meta.head + UInt64(p))) }
            } else {
                storage.deleteRange(from: prefix + Self.position(meta.head + UInt64(from)), to: prefix + Self.position(meta.head + UInt64(to)))
            }
        }
        if s > e || s >= n {
            drop(0, n)
            meta.count = 0
        } else {
            drop(0, s)
            drop(e + 1, n)
            meta.head += UInt64(s)
            meta.tail = meta.head + UInt64(e - s + 1)
            meta.count = UInt64(e - s + 1)
        }
        if meta.count != UInt64(n) || n == 0 { save(key, meta, expiresAt: expiresAt) }
    }

    /// Replaces `key` with a list of `values`, or deletes it when empty (SORT … STORE).
    public func listStore(_ key: [UInt8], _ values: [[UInt8]], nonBlocking: Bool = false) throws(KeyspaceError) {
        storage.delete(KeyspaceKeys.main(key))
        storage.noteModified(key)
        guard !values.isEmpty else { return }
        let meta = try newCollection(.list, nonBlocking: nonBlocking)
        _ = try listPushInto(key, meta, values)
    }

    private func listPushInto(_ key: [UInt8], _ meta: CollectionMetadata, _ values: [[UInt8]]) throws(KeyspaceError) -> Int {
        var m = meta
        let prefix = KeyspaceKeys.elementPrefix(key, version: m.version)
        for v in values {
            storage.put(prefix + Self.position(m.tail), v, expiresAt: nil, tag: 0)
            m.tail += 1
            m.count += 1
        }
        save(key, m, expiresAt: nil)
        return Int(m.count)
    }
}
