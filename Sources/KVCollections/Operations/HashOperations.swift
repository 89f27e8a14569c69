import KVStore

/// Hashes: field → value, one element per field (suffix: the field).
extension KeyspaceAccess {
    /// A field's value; nil when the hash or the field does not exist.
    public func hashGet(_ key: [UInt8], _ field: [UInt8]) throws(KeyspaceError) -> [UInt8]? {
        guard let (meta, _) = try metadata(key, .hash) else { return nil }
        return try element(key, meta, field)
    }

    /// Number of fields (0 for no key).
    public func hashCount(_ key: [UInt8]) throws(KeyspaceError) -> Int {
        try metadata(key, .hash).map { Int($0.meta.count) } ?? 0
    }

    /// Calls `body` with each field and value, in field order (byte order).
    public func hashForEach(_ key: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(KeyspaceError) -> Void) throws(KeyspaceError) {
        guard let (meta, _) = try metadata(key, .hash) else { return }
        try forEachElement(key, meta, body)
    }

    /// Calls `body` with each element's suffix and value, in order, within an optional
    /// suffix range.
    func forEachElement(
        _ key: [UInt8], _ meta: CollectionMetadata, suffixPrefix: [UInt8] = [], from: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(KeyspaceError) -> Void
    ) throws(KeyspaceError) {
        let it = try elements(key, meta, suffixPrefix: suffixPrefix, from: from)
        let skip = KeyspaceKeys.elementPrefix(key, version: meta.version).count + suffixPrefix.count
        it.seekToFirst()
        while it.isValid {
            try it.withCurrent { (k, v) throws(KeyspaceError) in try body(UnsafeRawBufferPointer(rebasing: k[skip...]), v) }
            it.next()
        }
        try read { () throws(KVError) in try it.check() }
    }
}

extension KeyspaceAccess where Storage: KeyspaceWriter {
    /// Sets fields (a later pair wins over an earlier one of the same field); returns how
    /// many were new. `onlyIfAbsent` (HSETNX): a field that exists is left as it is.
    @discardableResult
    public func hashSet(_ key: [UInt8], _ pairs: [(field: [UInt8], value: [UInt8])], onlyIfAbsent: Bool = false, nonBlocking: Bool = false) throws(KeyspaceError) -> Int {
        let existing = try metadata(key, .hash)
        var meta: CollectionMetadata
        if let existing { meta = existing.meta } else { meta = try newCollection(.hash, nonBlocking: nonBlocking) }
        let expiresAt = existing?.expiresAt
        var added = 0
        var changed = false
        var pending: [[UInt8]: Bool] = [:]
        for (field, value) in pairs {
            let elementKey = KeyspaceKeys.elementPrefix(key, version: meta.version) + field
            var exists = pending[field] != nil
            if !exists { exists = try read({ () throws(KVError) in try storage.lookup(elementKey) }) != nil }
            if onlyIfAbsent && exists { continue }
            storage.put(elementKey, value, expiresAt: nil, tag: 0)
            changed = true
            if !exists {
                added += 1
                meta.count += 1
                pending[field] = true
            }
            if field.count > keyspace.limits[.hashMaxValue]
                || value.count > keyspace.limits[.hashMaxValue] {
                meta.converted = true
            }
        }
        if meta.count > UInt64(keyspace.limits[.hashMaxEntries]) { meta.converted = true }
        if changed { save(key, meta, expiresAt: expiresAt) }
        return added
    }

    /// Deletes fields; returns how many existed. The hash goes with its last field.
    @discardableResult
    public func hashDelete(_ key: [UInt8], _ fields: [[UInt8]]) throws(KeyspaceError) -> Int {
        try removeElements(key, .hash, fields)
    }
}
