import KVStore
import Synchronization

/// Redis's data model — strings, hashes, sets, sorted sets, lists — on a `KVStore`'s ordered
/// keyspace: each key has one main entry (a string's value, or a collection's metadata) and a
/// collection one engine entry per element (docs/FORMATS.md, "Keyspace"). Deleting,
/// expiring or overwriting a collection of any size changes only its main entry; the old
/// elements become garbage that compaction drops through `Keyspace.compactionFilter`.
///
/// ```swift
/// var options = Options()
/// Keyspace.install(in: &options)              // the compaction filter that drops garbage
/// let store = try KVStore.open(at: path, options: options)
/// let keyspace = try Keyspace.open(store)
/// ```
///
/// Opening checks the store's keyspace format (recorded in the store), and brings a store
/// written before collections existed — every key a string at its own engine key — to it:
/// only keys starting with byte 0xFF move (see `KeyspaceKeys`).
///
/// Thread-safe: the version counter and the limits lock themselves.
public final class Keyspace: Sendable {
    public let store: KVStore
    /// Milliseconds since the Unix epoch: the store's clock.
    public let clock: @Sendable () -> UInt64
    /// When a collection would leave Redis's small encodings (what OBJECT ENCODING reports).
    public let limits: EncodingLimits
    private let versions: VersionCounter
    /// The sizes of sorted sets' rank directories (any sizes read any directory: they decide
    /// only when blocks are cut).
    package let rankShape: RankShape

    /// The format this version writes.
    public static let formatVersion: UInt32 = 1
    static let formatMagic: [UInt8] = Array("KVKS".utf8)
    /// Versions are reserved this many at a time in the format record.
    static let versionBlock: UInt64 = 1 << 20
    /// A store from before the keyspace format is brought to it in one atomic batch; its keys
    /// starting with 0xFF (the only ones that move) may hold at most this many bytes.
    public static let maxMigrationBytes = 256 << 20

    /// A keyspace over `store` that hands out no versions (for reading: `verify`).
    convenience init(readingOnly store: KVStore) {
        self.init(store: store, limits: EncodingLimits(), versions: VersionCounter(next: 0, reserved: 0), rankShape: RankShape())
    }

    private init(store: KVStore, limits: EncodingLimits, versions: VersionCounter, rankShape: RankShape) {
        self.store = store
        self.clock = store.clock
        self.limits = limits
        self.versions = versions
        self.rankShape = rankShape
    }

    /// Sets `options.compactionFilter` to the keyspace's garbage filter. Do this before
    /// opening the store a keyspace will use, or dropped collections stay on disk.
    public static func install(in options: inout Options) {
        options.compactionFilter = { context in GarbageFilter(context: context) }
    }

    /// The keyspace of `store`: reads its format record, writes one for a new store, brings an
    /// older store to the current format.
    ///
    /// - Throws: `KeyspaceError.unsupportedFormat` for a format this version does not read.
    public static func open(_ store: KVStore, limits: EncodingLimits = EncodingLimits()) throws(KeyspaceError) -> Keyspace {
        try open(store, limits: limits, rankShape: RankShape())
    }

    /// `open` with rank directories of another shape (tests cut blocks small to reach every
    /// level with a few thousand members).
    package static func open(_ store: KVStore, limits: EncodingLimits, rankShape: RankShape) throws(KeyspaceError) -> Keyspace {
        do {
            let record = try store.lookup(KeyspaceKeys.formatKey)
            if let record, let (format, reserved) = parseFormat(record.value) {
                guard format == formatVersion else {
                    throw KeyspaceError.unsupportedFormat("the store's keyspace format is \(format); this version reads \(formatVersion)")
                }
                let next = reserved
                let counter = VersionCounter(next: next, reserved: next + versionBlock)
                try store.put(KeyspaceKeys.formatKey, formatRecord(reserved: next + versionBlock), options: WriteOptions(sync: true))
                return Keyspace(store: store, limits: limits, versions: counter, rankShape: rankShape)
            }
            try migrate(store)
            return Keyspace(store: store, limits: limits, versions: VersionCounter(next: 1, reserved: 1 + versionBlock), rankShape: rankShape)
        } catch let error as KeyspaceError {
            throw error
        } catch let error as KVError {
            throw KeyspaceError.store(error)
        } catch {
            throw KeyspaceError.unsupportedFormat("\(error)")
        }
    }

    /// A store without a format record: every key is a string at its own engine key. The keys
    /// that start with 0xFF move to their escaped place (`KeyspaceKeys.main`), and the format
    /// record is written, in one synced batch — all or nothing, across a crash too.
    private static func migrate(_ store: KVStore) throws(KeyspaceError) {
        var batch = WriteBatch()
        var bytes = 0
        do {
            var o = ReadOptions()
            o.lowerBound = [KeyspaceKeys.bandByte]
            let it = try store.makeIterator(o)
            it.seekToFirst()
            var moved: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)] = []
            while it.isValid {
                let key = it.key
                let value = it.value
                bytes += key.count + value.count
                guard bytes <= maxMigrationBytes else {
                    throw KeyspaceError.unsupportedFormat(
                        "the store predates the keyspace format and its keys starting with byte 0xFF hold more than \(maxMigrationBytes) bytes, more than one atomic upgrade may move; export them with kvctl and re-import")
                }
                moved.append((key, value, it.expiresAt))
                it.next()
            }
            try it.check()
            if !moved.isEmpty { batch.deleteRange(from: [KeyspaceKeys.bandByte], to: nil) }
            for m in moved { batch.put(KeyspaceKeys.main(m.key), m.value, expiresAt: m.expiresAt) }
            batch.put(KeyspaceKeys.formatKey, formatRecord(reserved: 1 + versionBlock))
            try store.write(batch, options: WriteOptions(sync: true))
        } catch let error as KVError {
            throw KeyspaceError.store(error)
        } catch let error as KeyspaceError {
            throw error
        } catch {
            throw KeyspaceError.unsupportedFormat("\(error)")
        }
    }

    /// `magic "KVKS" | format u32 LE | versions reserved below u64 LE`.
    static func formatRecord(reserved: UInt64) -> [UInt8] {
        var out = formatMagic
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: formatVersion >> UInt32(i * 8))) }
        appendLittleEndian(reserved, to: &out)
        return out
    }

    static func parseFormat(_ record: [UInt8]) -> (format: UInt32, reserved: UInt64)? {
        guard record.count == 16, Array(record[0..<4]) == formatMagic else { return nil }
        var format: UInt32 = 0
        for i in 0..<4 { format |= UInt32(record[4 + i]) << UInt32(i * 8) }
        return (format, loadLittleEndian64(record, at: 8))
    }

    /// A version no collection of this store has had. Every `versionBlock`th one first
    /// records a new reservation in the store, so versions stay unique across restarts.
    /// `nonBlocking`: that write may throw `KVError.wouldBlock` instead of waiting.
    func newVersion(nonBlocking: Bool) throws(KVError) -> UInt64 {
        try versions.next { (reserved) throws(KVError) in
            try store.put(KeyspaceKeys.formatKey, Self.formatRecord(reserved: reserved), options: WriteOptions(nonBlocking: nonBlocking))
        }
    }

    /// Brings the collection-version counter past every version the store's format record
    /// has reserved: after this store took in another store's writes (a replica's replicated
    /// data, whose format record is the primary's), so that a collection created here from now
    /// on never reuses a version the other store handed out (its elements could still be on
    /// disk as garbage). Records the new reservation.
    public func adoptReservedVersions() throws(KeyspaceError) {
        do {
            guard let record = try store.lookup(KeyspaceKeys.formatKey), let (_, reserved) = Self.parseFormat(record.value) else { return }
            try versions.raise(toAtLeast: reserved) { (bound) throws(KVError) in
                try store.put(KeyspaceKeys.formatKey, Self.formatRecord(reserved: bound), options: WriteOptions(sync: true))
            }
        } catch {
            throw KeyspaceError.store(error)
        }
    }

    /// The key an engine key belongs to: a main entry's key or a collection element's; nil
    /// for the format record (a replica maps what it applies back to keys for WATCH).
    public static func key(ofEngineKey engineKey: [UInt8]) -> [UInt8]? {
        engineKey.withUnsafeBytes { raw -> [UInt8]? in
            if let main = KeyspaceKeys.key(fromMain: raw) { return main }
            return KeyspaceKeys.parseElement(raw).map { Array($0.key) }
        }
    }

    /// The engine key of `key`'s main entry, for writers that build engine batches of plain
    /// strings themselves (a server's pipelined SETs): a string is its value at this key.
    public static func mainKey(_ key: [UInt8]) -> [UInt8] { KeyspaceKeys.main(key) }

    /// The engine-key ranges that hold main entries, for deleting every key in
    /// [`from`, `to`) (nil `to`: to the end) without touching the element band: one or two
    /// ranges. Elements of deleted collections are garbage the filter removes.
    public static func mainRanges(from: [UInt8], to: [UInt8]?) -> [(from: [UInt8], to: [UInt8]?)] {
        let lo = KeyspaceKeys.main(from)
        let hi = to.map(KeyspaceKeys.main)
        var out: [(from: [UInt8], to: [UInt8]?)] = []
        // Below the band.
        if lo.lexicographicallyPrecedes(KeyspaceKeys.bandStart) {
            let end = hi.map { $0.lexicographicallyPrecedes(KeyspaceKeys.bandStart) ? $0 : KeyspaceKeys.bandStart } ?? KeyspaceKeys.bandStart
            if lo.lexicographicallyPrecedes(end) { out.append((lo, end)) }
        }
        // Above it.
        let start = lo.lexicographicallyPrecedes(KeyspaceKeys.bandEnd) ? KeyspaceKeys.bandEnd : lo
        if hi.map({ start.lexicographicallyPrecedes($0) }) ?? true { out.append((start, hi)) }
        return out
    }

    /// The engine-key range of every collection element (FLUSHDB drops them at once instead
    /// of leaving them to the filter).
    public static let elementRange: (from: [UInt8], to: [UInt8]) = ([0xFF, 0x01], [0xFF, 0x02])

    /// Runs `body` as one atomic unit of work: every write its handles make commits together
    /// (one engine batch: all or nothing, also across a crash), and its reads see its own
    /// writes. Optimistic: it reads a snapshot, and if another writer changed a key it read
    /// or wrote before it commits, it runs `body` again — up to `attempts` times, then throws
    /// the conflict (`KeyspaceError.store(.conflict)`). `body` may therefore run more than
    /// once; keep side effects out of it.
    ///
    /// ```swift
    /// try keyspace.transaction { unit in
    ///     let board = KVSortedSet("board", in: unit)
    ///     let points = try board.score(of: "alice") ?? 0
    ///     try board.add("alice", score: points - 10)
    ///     try board.add("bob", score: (try board.score(of: "bob") ?? 0) + 10)
    /// }
    /// ```
    public func transaction<R>(attempts: Int = 16, sync: Bool = false, _ body: (KeyspaceUnit) throws -> R) throws -> R {
        try transact(attempts: attempts, sync: sync, body) { $0 }
    }

    /// `transaction` for callers whose body throws only `KeyspaceError` (the handles).
    func typedTransaction<R>(_ body: (KeyspaceUnit) throws(KeyspaceError) -> R) throws(KeyspaceError) -> R {
        try transact(attempts: 16, sync: false, body) { $0 }
    }

    private func transact<R, E: Error>(
        attempts: Int, sync: Bool, _ body: (KeyspaceUnit) throws(E) -> R, _ fromKeyspace: (KeyspaceError) -> E
    ) throws(E) -> R {
        var attempt = 0
        while true {
            attempt += 1
            let t: Transaction
            do { t = try store.beginTransaction(isolation: .optimistic) } catch { throw fromKeyspace(.store(error)) }
            let result = try body(KeyspaceUnit(keyspace: self, work: KeyspaceTransaction(t)))
            do {
                try t.commit(options: WriteOptions(sync: sync))
                return result
            } catch .conflict where attempt < attempts {
                continue  // someone else wrote a key first: run again on a fresh snapshot
            } catch {
                throw fromKeyspace(.store(error))
            }
        }
    }

    /// Reads and writes through `storage`.
    public func access<S: KeyspaceReader>(_ storage: S) -> KeyspaceAccess<S> {
        KeyspaceAccess(keyspace: self, storage: storage)
    }
}

/// Collection versions: handed out from memory, reserved in blocks in the store.
final class VersionCounter: Sendable {
    private let state: Mutex<(next: UInt64, reserved: UInt64)>

    init(next: UInt64, reserved: UInt64) {
        state = Mutex((next, reserved))
    }

    /// Moves the next version to at least `floor`, reserving a new block above it first.
    func raise(toAtLeast floor: UInt64, reserve: (UInt64) throws(KVError) -> Void) throws(KVError) {
        try state.withLock { (s) throws(KVError) in
            guard s.next < floor else { return }
            let bound = floor + Keyspace.versionBlock
            try reserve(bound)
            s = (floor, bound)
        }
    }

    /// The next version; `reserve` records a new bound first when the block is used up (and
    /// if it throws, no version is handed out).
    func next(reserve: (UInt64) throws(KVError) -> Void) throws(KVError) -> UInt64 {
        try state.withLock { (s) throws(KVError) -> UInt64 in
            if s.next >= s.reserved {
                let bound = s.next + Keyspace.versionBlock
                try reserve(bound)
                s.reserved = bound
            }
            defer { s.next += 1 }
            return s.next
        }
    }
}

/// When Redis would convert a collection from its small encoding to its large one (the
/// `*-max-listpack-*` and `set-max-intset-entries` settings): OBJECT ENCODING reports what
/// Redis would, so clients and tests that look at it see Redis's answer. The storage is the
/// same either way. Changeable while running (CONFIG SET); read at each write, each value an
/// atomic of its own.
public final class EncodingLimits: Sendable {
    public enum Limit: Sendable, CaseIterable {
        case hashMaxEntries, hashMaxValue, setMaxIntsetEntries, zsetMaxEntries, zsetMaxValue
    }

    private let hashMaxEntries = Atomic<Int>(512)
    private let hashMaxValue = Atomic<Int>(64)
    private let setMaxIntsetEntries = Atomic<Int>(512)
    private let zsetMaxEntries = Atomic<Int>(128)
    private let zsetMaxValue = Atomic<Int>(64)

    /// Redis 7.0's defaults.
    public init() {}

    public subscript(_ limit: Limit) -> Int {
        switch limit {
        case .hashMaxEntries: return hashMaxEntries.load(ordering: .relaxed)
        case .hashMaxValue: return hashMaxValue.load(ordering: .relaxed)
        case .setMaxIntsetEntries: return setMaxIntsetEntries.load(ordering: .relaxed)
        case .zsetMaxEntries: return zsetMaxEntries.load(ordering: .relaxed)
        case .zsetMaxValue: return zsetMaxValue.load(ordering: .relaxed)
        }
    }

    public func set(_ limit: Limit, _ value: Int) {
        switch limit {
        case .hashMaxEntries: hashMaxEntries.store(value, ordering: .relaxed)
        case .hashMaxValue: hashMaxValue.store(value, ordering: .relaxed)
        case .setMaxIntsetEntries: setMaxIntsetEntries.store(value, ordering: .relaxed)
        case .zsetMaxEntries: zsetMaxEntries.store(value, ordering: .relaxed)
        case .zsetMaxValue: zsetMaxValue.store(value, ordering: .relaxed)
        }
    }
}
