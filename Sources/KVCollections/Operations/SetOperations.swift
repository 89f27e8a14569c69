import KVStore

/// Sets: one element per member (suffix: the member, empty value).
extension KeyspaceAccess {
    public func setContains(_ key: [UInt8], _ member: [UInt8]) throws(KeyspaceError) -> Bool {
        guard let (meta, _) = try metadata(key, .set) else { return false }
        return try element(key, meta, member) != nil
    }

    public func setCount(_ key: [UInt8]) throws(KeyspaceError) -> Int {
        try metadata(key, .set).map { Int($0.meta.count) } ?? 0
    }

    /// Calls `body` with each member, in byte order.
    public func setForEach(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws(KeyspaceError) -> Void) throws(KeyspaceError) {
        guard let (meta, _) = try metadata(key, .set) else { return }
        try forEachElement(key, meta) { (m, _) throws(KeyspaceError) in try body(m) }
    }

    /// Every member of a set (empty for no key; `wrongType` for another type).
    public func setMembers(_ key: [UInt8]) throws(KeyspaceError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        try setForEach(key) { out.append(Array($0)) }
        return out
    }
}

extension KeyspaceAccess where Storage: KeyspaceWriter {
    /// Adds members; returns how many were new.
    @discardableResult
    public func setAdd(_ key: [UInt8], _ members: [[UInt8]], nonBlocking: Bool = false) throws(KeyspaceError) -> Int {
        let existing = try metadata(key, .set)
        var meta: CollectionMetadata
        if let existing { meta = existing.meta } else { meta = try newCollection(.set, nonBlocking: nonBlocking) }
        let expiresAt = existing?.expiresAt
        var added = 0
        for member in members {
            let elementKey = KeyspaceKeys.elementPrefix(key, version: meta.version) + member
            if try read({ () throws(KVError) in try storage.lookup(elementKey) }) != nil { continue }
            storage.put(elementKey, [], expiresAt: nil, tag: 0)
            added += 1
            meta.count += 1
            meta.widenBounds(member)
            if !Self.isIntsetMember(member) { meta.converted = true }
        }
        if meta.count > UInt64(keyspace.limits[.setMaxIntsetEntries]) { meta.converted = true }
        if added > 0 { save(key, meta, expiresAt: expiresAt) }
        return added
    }

    /// Removes and returns up to `count` random members (SPOP); nil when the set does not
    /// exist. A pick that sampled the set's first and last members records them as its
    /// bounds, so that the next pick's walks start there instead of stepping over every
    /// member popped before (a set drained by SPOP is a queue of deleted keys until compaction).
    public func setPop(_ key: [UInt8], count: Int) throws(KeyspaceError) -> [[UInt8]]? {
        guard try metadata(key, .set) != nil else { return nil }
        var ends: (first: [UInt8], last: [UInt8])?
        let chosen = try randomElements(key, .set, count: count, ends: &ends)
        _ = try removeElements(key, .set, chosen, bounds: ends)
        return chosen
    }

    /// Removes members; returns how many were there. The set goes with its last member.
    @discardableResult
    public func setRemove(_ key: [UInt8], _ members: [[UInt8]]) throws(KeyspaceError) -> Int {
        try removeElements(key, .set, members)
    }

    /// Replaces `key` with a set of `members` (distinct), or deletes it when there are none
    /// (SINTERSTORE and friends).
    public func setStore(_ key: [UInt8], _ members: [[UInt8]], nonBlocking: Bool = false) throws(KeyspaceError) {
        storage.delete(KeyspaceKeys.main(key))
        storage.noteModified(key)
        guard !members.isEmpty else { return }
        var meta = try newCollection(.set, nonBlocking: nonBlocking)
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        for m in members {
            storage.put(prefix + m, [], expiresAt: nil, tag: 0)
            if !Self.isIntsetMember(m) { meta.converted = true }
        }
        meta.count = UInt64(members.count)
        if meta.count > UInt64(keyspace.limits[.setMaxIntsetEntries]) { meta.converted = true }
        save(key, meta, expiresAt: nil)
    }
}

extension KeyspaceAccess {
    /// Whether Redis would keep `member` in an intset: a canonical 64-bit integer as its
    /// `string2ll` reads one (no sign but a leading '-', no leading zeros, no "-0").
    static func isIntsetMember(_ m: [UInt8]) -> Bool {
        guard !m.isEmpty, m.count <= 20 else { return false }
        var i = 0
        if m[0] == UInt8(ascii: "-") {
            guard m.count > 1 else { return false }
            i = 1
        }
        guard m[i] != UInt8(ascii: "0") || m.count == 1 else { return false }
        var value: Int64 = 0
        let negative = i == 1
        while i < m.count {
            let c = m[i]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return false }
            let d = Int64(c - UInt8(ascii: "0"))
            let (mul, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = negative ? mul.subtractingReportingOverflow(d) : mul.addingReportingOverflow(d)
            if o1 || o2 { return false }
            value = sum
            i += 1
        }
        return true
    }
}
