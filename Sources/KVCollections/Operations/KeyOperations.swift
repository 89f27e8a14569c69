import KVStore

/// Operations on keys whatever they hold: writing a main entry, deleting, expiry, renaming,
/// copying.
extension KeyspaceAccess where Storage: KeyspaceWriter {
    /// Writes a collection's main entry (its metadata), or deletes the key when the
    /// collection is empty — an empty collection does not exist, as in Redis.
    public func save(_ key: [UInt8], _ meta: CollectionMetadata, expiresAt: UInt64?) {
        if meta.count == 0 {
            storage.delete(KeyspaceKeys.main(key))
        } else {
            storage.put(KeyspaceKeys.main(key), meta.encoded(), expiresAt: expiresAt, tag: meta.type.rawValue)
        }
        storage.noteModified(key)
    }

    /// Stores a string (replacing whatever the key held: a collection's elements become
    /// garbage). An expiry at or before now deletes the key instead.
    public func setString(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64? = nil) {
        if let e = expiresAt, e <= keyspace.clock() {
            storage.delete(KeyspaceKeys.main(key))
        } else {
            storage.put(KeyspaceKeys.main(key), value, expiresAt: expiresAt, tag: 0)
        }
        storage.noteModified(key)
    }

    /// Deletes `key` whatever it holds, in O(1): a collection's elements become garbage.
    /// Returns whether it existed.
    @discardableResult
    public func delete(_ key: [UInt8]) throws(KeyspaceError) -> Bool {
        guard try entry(key).type != nil else { return false }
        storage.delete(KeyspaceKeys.main(key))
        storage.noteModified(key)
        return true
    }

    /// Removes the elements at `suffixes` (hash fields, set members) from a `type`
    /// collection; returns how many were there. The collection goes with its last element.
    func removeElements(_ key: [UInt8], _ type: KeyType, _ suffixes: [[UInt8]], bounds: (first: [UInt8], last: [UInt8])? = nil) throws(KeyspaceError) -> Int {
        guard let found = try metadata(key, type) else { return 0 }
        var meta = found.meta
        var removed = 0
        for suffix in suffixes {
            let elementKey = KeyspaceKeys.elementPrefix(key, version: meta.version) + suffix
            if try read({ () throws(KVError) in try storage.lookup(elementKey) }) != nil {
                storage.delete(elementKey)
                removed += 1
                meta.count -= 1
            }
        }
        // The first and last live elements as the caller saw them, at this unit's view: the
        // tightest true bounds.
        if let bounds { (meta.low, meta.high) = (bounds.first, bounds.last) }
        if removed > 0 { save(key, meta, expiresAt: found.expiresAt) }
        return removed
    }

    /// A fresh, empty collection of `type` (a new version: nothing of an earlier incarnation
    /// can show through).
    public func newCollection(_ type: KeyType, nonBlocking: Bool = false) throws(KeyspaceError) -> CollectionMetadata {
        let version = try read { () throws(KVError) in try keyspace.newVersion(nonBlocking: nonBlocking) }
        return CollectionMetadata(type: type, version: version)
    }

    /// Sets (nil: removes) the expiry of an existing key; false when it does not exist. A
    /// moment at or before now deletes the key.
    @discardableResult
    public func setExpiry(_ key: [UInt8], _ expiresAt: UInt64?) throws(KeyspaceError) -> Bool {
        switch try entry(key) {
        case .none:
            return false
        case .string(let v):
            setString(key, v.value, expiresAt: expiresAt)
        case .collection(let m, _):
            if let e = expiresAt, e <= keyspace.clock() {
                storage.delete(KeyspaceKeys.main(key))
                storage.noteModified(key)
            } else {
                save(key, m, expiresAt: expiresAt)
            }
        }
        return true
    }

    /// Moves `source` to `destination` (replacing what it held), with its expiry. A string or
    /// a collection's main entry moves in O(1); a collection's elements are keyed by its
    /// name, so they are copied, O(N). False when `source` does not exist.
    @discardableResult
    public func rename(_ source: [UInt8], to destination: [UInt8], nonBlocking: Bool = false) throws(KeyspaceError) -> Bool {
        guard source != destination else { return try entry(source).type != nil }
        guard try copy(source, to: destination, replace: true, nonBlocking: nonBlocking) else { return false }
        storage.delete(KeyspaceKeys.main(source))
        storage.noteModified(source)
        return true
    }

    /// Copies `source` to `destination`, with its expiry: a string's value, or every element
    /// of a collection under a fresh version (O(N)). False when `source` does not exist, or
    /// `destination` does and `replace` is false.
    @discardableResult
    public func copy(_ source: [UInt8], to destination: [UInt8], replace: Bool, nonBlocking: Bool = false) throws(KeyspaceError) -> Bool {
        let from = try entry(source)
        guard from.type != nil else { return false }
        if !replace, try entry(destination).type != nil { return false }
        switch from {
        case .none:
            return false
        case .string(let v):
            setString(destination, v.value, expiresAt: v.expiresAt)
        case .collection(let m, let e):
            var copy = try newCollection(m.type, nonBlocking: nonBlocking)
            copy.count = m.count
            copy.flags = m.flags
            (copy.low, copy.high) = (m.low, m.high)  // the same suffixes: the same bounds
            copy.head = m.head
            copy.tail = m.tail
            let target = KeyspaceKeys.elementPrefix(destination, version: copy.version)
            let prefixCount = KeyspaceKeys.elementPrefix(source, version: m.version).count
            let it = try elements(source, m)
            it.seekToFirst()
            while it.isValid {
                let (k, v) = it.withCurrent { k, v in (target + k[prefixCount...], Array(v)) }
                storage.put(k, v, expiresAt: nil, tag: 0)
                it.next()
            }
            try read { () throws(KVError) in try it.check() }
            save(destination, copy, expiresAt: e)
        }
        return true
    }
}
