import KVStore

/// The keyspace's operations, over one storage: the store (reads) or a unit of work (reads
/// and writes). Made by `Keyspace.access(_:)`. Each operation has Redis's semantics; the
/// typed handles (`KVHash` …) and the server's commands are both built on these.
public struct KeyspaceAccess<Storage: KeyspaceReader> {
    public let keyspace: Keyspace
    public let storage: Storage
}

/// A key's main entry, decoded.
public enum MainEntry: Sendable {
    case none
    case string(StoredValue)
    case collection(CollectionMetadata, expiresAt: UInt64?)

    /// The key's type, nil when it does not exist.
    public var type: KeyType? {
        switch self {
        case .none: return nil
        case .string: return .string
        case .collection(let m, _): return m.type
        }
    }

    public var expiresAt: UInt64? {
        switch self {
        case .none: return nil
        case .string(let v): return v.expiresAt
        case .collection(_, let e): return e
        }
    }
}

extension KeyspaceAccess {
    /// Where the engine's error becomes the layer's.
    @inline(__always)
    func read<R>(_ body: () throws(KVError) -> R) throws(KeyspaceError) -> R {
        do { return try body() } catch { throw .store(error) }
    }

    /// `key`'s main entry.
    public func entry(_ key: [UInt8]) throws(KeyspaceError) -> MainEntry {
        guard let stored = try read({ () throws(KVError) in try storage.lookup(KeyspaceKeys.main(key)) }) else { return .none }
        return try decode(key, stored)
    }

    /// The main entries of `keys`, in order, read as one view of the store (MGET).
    public func entries(_ keys: [[UInt8]]) throws(KeyspaceError) -> [MainEntry] {
        let found = try read { () throws(KVError) in try storage.lookup(keys: keys.map(KeyspaceKeys.main)) }
        var entries: [MainEntry] = []
        entries.reserveCapacity(keys.count)
        for (key, stored) in zip(keys, found) {
            entries.append(try stored.map { (s) throws(KeyspaceError) in try decode(key, s) } ?? .none)
        }
        return entries
    }

    func decode(_ key: [UInt8], _ stored: StoredValue) throws(KeyspaceError) -> MainEntry {
        if stored.tag == 0 { return .string(stored) }
        guard let type = KeyType(rawValue: stored.tag), let meta = CollectionMetadata(type: type, record: stored.value) else {
            throw .corruption(key: key, reason: "main entry with tag \(stored.tag) and a \(stored.value.count)-byte record does not decode")
        }
        return .collection(meta, expiresAt: stored.expiresAt)
    }

    /// The key's type, nil when it does not exist.
    public func type(of key: [UInt8]) throws(KeyspaceError) -> KeyType? {
        try entry(key).type
    }

    /// The metadata of `key` when it is a collection of `type`; nil when the key does not
    /// exist; `wrongType` when it holds anything else.
    public func metadata(_ key: [UInt8], _ type: KeyType) throws(KeyspaceError) -> (meta: CollectionMetadata, expiresAt: UInt64?)? {
        switch try entry(key) {
        case .none: return nil
        case .collection(let m, let e) where m.type == type: return (m, e)
        default: throw .wrongType
        }
    }

    /// A string's value; nil when absent; `wrongType` for a collection.
    public func string(_ key: [UInt8]) throws(KeyspaceError) -> StoredValue? {
        switch try entry(key) {
        case .none: return nil
        case .string(let v): return v
        case .collection: throw .wrongType
        }
    }

    /// Engine-key bounds of a collection's elements whose suffix starts with `prefix`.
    func elementBounds(_ key: [UInt8], _ meta: CollectionMetadata, suffixPrefix: [UInt8] = []) -> (lower: [UInt8], upper: [UInt8]?) {
        let lower = KeyspaceKeys.elementPrefix(key, version: meta.version) + suffixPrefix
        return (lower, KeyspaceKeys.successor(lower))
    }

    /// A cursor over a collection's elements whose suffix lies in [`from`, `to`) (nil: open),
    /// optionally with a common suffix prefix. A set's walk keeps within its bounds (no member
    /// lies outside them; the deleted ones there are not stepped over) unless `ignoringBounds`
    /// (the verifier, which checks that).
    func elements(
        _ key: [UInt8], _ meta: CollectionMetadata, suffixPrefix: [UInt8] = [], from: [UInt8]? = nil, to: [UInt8]? = nil,
        ignoringBounds: Bool = false
    ) throws(KeyspaceError) -> any KVCursor {
        let base = KeyspaceKeys.elementPrefix(key, version: meta.version) + suffixPrefix
        var o = ReadOptions()
        o.lowerBound = from.map { base + $0 } ?? base
        o.upperBound = to.map { base + $0 } ?? KeyspaceKeys.successor(base)
        if meta.type == .set && suffixPrefix.isEmpty && !ignoringBounds {
            if let low = meta.low, let l = o.lowerBound, l.lexicographicallyPrecedes(base + low) { o.lowerBound = base + low }
            if let high = meta.high, let u = o.upperBound, (base + high + [0]).lexicographicallyPrecedes(u) { o.upperBound = base + high + [0] }
        }
        return try read { () throws(KVError) in try storage.makeIterator(o) }
    }

    /// The value of one element (nil: not there).
    func element(_ key: [UInt8], _ meta: CollectionMetadata, _ suffix: [UInt8]) throws(KeyspaceError) -> [UInt8]? {
        try read { () throws(KVError) in try storage.lookup(KeyspaceKeys.elementPrefix(key, version: meta.version) + suffix)?.value }
    }

    /// The average size (suffix and value bytes) of up to `limit` of a collection's first
    /// elements: MEMORY USAGE's estimate.
    public func sampleElementBytes(_ key: [UInt8], _ meta: CollectionMetadata, limit: Int) throws(KeyspaceError) -> Int {
        let it = try elements(key, meta)
        let skip = KeyspaceKeys.elementPrefix(key, version: meta.version).count
        var total = 0
        var n = 0
        it.seekToFirst()
        while it.isValid && n < limit {
            total += it.withCurrent { k, v in k.count - skip + v.count }
            n += 1
            it.next()
        }
        try read { () throws(KVError) in try it.check() }
        return n == 0 ? 0 : total / n + 8
    }

    /// Walks the keys (keyspace keys, in order) within [`from`, `to`) (nil: open), skipping
    /// the element band.
    public func keys(from: [UInt8]? = nil, to: [UInt8]? = nil, prefix: [UInt8]? = nil) throws(KeyspaceError) -> KeyCursor {
        var lower = from.map(KeyspaceKeys.main)
        var upper = to.map(KeyspaceKeys.main)
        if let prefix {
            let p = KeyspaceKeys.main(prefix)
            if lower.map({ $0.lexicographicallyPrecedes(p) }) ?? true { lower = p }
            // An escaped prefix (0xFF …) still bounds by its successor; a prefix of 0xFF alone
            // maps to 0xFF 0xFF, whose successor is the end.
            if let end = KeyspaceKeys.successor(p), upper.map({ end.lexicographicallyPrecedes($0) }) ?? true { upper = end }
        }
        var o = ReadOptions()
        o.lowerBound = lower
        o.upperBound = upper
        return KeyCursor(try read { () throws(KVError) in try storage.makeIterator(o) })
    }
}

/// Keys in order, whatever their type: a cursor over the main entries that steps over the
/// element band. `key` is the keyspace key; `tag` its type's.
public final class KeyCursor {
    private let base: any KVCursor

    init(_ base: any KVCursor) {
        self.base = base
    }

    public var isValid: Bool { base.isValid }

    /// The current keyspace key.
    public var key: [UInt8] { base.withCurrent { k, _ in KeyspaceKeys.key(fromMain: k) ?? [] } }

    /// The current key's type.
    public var type: KeyType { KeyType(rawValue: base.tag) ?? .string }

    /// The current main entry's value (a string's bytes, a collection's record).
    public var value: [UInt8] { base.value }

    public var expiresAt: UInt64? { base.expiresAt }

    /// The current main entry's raw views (engine key, value).
    public func withCurrent<R, E: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try base.withCurrent(body)
    }

    private func inBand() -> Bool { base.withCurrent { k, _ in KeyspaceKeys.inBand(k) } }

    private func skipForward() {
        while base.isValid && inBand() { base.seek(to: KeyspaceKeys.bandEnd) }
    }

    private func skipBackward() {
        if base.isValid && inBand() {
            base.seek(to: KeyspaceKeys.bandStart)
            if base.isValid { base.previous() } else { base.seekToLast() }
            while base.isValid && inBand() { base.previous() }
        }
    }

    public func seekToFirst() {
        base.seekToFirst()
        skipForward()
    }

    public func seekToLast() {
        base.seekToLast()
        skipBackward()
    }

    /// The first key ≥ `key`.
    public func seek(to key: [UInt8]) {
        base.seek(to: KeyspaceKeys.main(key))
        skipForward()
    }

    public func next() {
        base.next()
        skipForward()
    }

    public func previous() {
        base.previous()
        skipBackward()
    }

    public func check() throws(KVError) { try base.check() }
}
