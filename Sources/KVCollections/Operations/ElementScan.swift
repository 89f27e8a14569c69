import KVStore

/// HSCAN, SSCAN and ZSCAN's walk: a collection's elements in order, resumed after the last
/// one a previous call returned.
extension KeyspaceAccess {
    /// Calls `body` with up to `count` elements of `key` (a `type` collection) after `after`
    /// (nil: from the first): a hash's field and value, a set's member (empty value), a sorted
    /// set's member and its score's bytes. Returns the last element examined when more may
    /// follow, nil when the walk reached the end (or the key does not exist).
    public func scanElements(
        _ key: [UInt8], _ type: KeyType, after: [UInt8]?, count: Int,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(KeyspaceError) -> Void
    ) throws(KeyspaceError) -> [UInt8]? {
        guard let (meta, _) = try metadata(key, type) else { return nil }
        let space: [UInt8] = type == .sortedSet ? [0x00] : []
        let it = try elements(key, meta, suffixPrefix: space, from: after.map { $0 + [0] })
        let skip = KeyspaceKeys.elementPrefix(key, version: meta.version).count + space.count
        it.seekToFirst()
        var n = 0
        var last: [UInt8]?
        while it.isValid && n < count {
            try it.withCurrent { (k, v) throws(KeyspaceError) in
                let suffix = UnsafeRawBufferPointer(rebasing: k[skip...])
                try body(suffix, v)
                last = Array(suffix)
            }
            n += 1
            it.next()
        }
        try read { () throws(KVError) in try it.check() }
        return it.isValid ? last : nil
    }
}
