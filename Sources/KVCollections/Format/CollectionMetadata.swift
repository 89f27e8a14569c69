/// A collection's main entry (docs/FORMATS.md, "Keyspace"): its type is the entry's tag, its
/// expiry the entry's expiry; the value is this record.
///
/// ```
/// record u8 (1) | flags u8 | version u64 LE | count u64 LE                   (hash, set, zset)
/// record u8 (1) | flags u8 | version u64 LE | count u64 LE | head u64 LE | tail u64 LE (list)
/// set or sorted set, optionally after that: low length u16 LE | low | high length u16 LE | high
/// ```
///
/// `version` names this incarnation of the key's elements: deleting, expiring or overwriting
/// the collection drops this record (or replaces it with one of a new version) and the old
/// elements become garbage the compaction filter removes. A list's elements sit at positions
/// [head, tail), biased by 2^63 so that pushing left below the start still sorts first.
public struct CollectionMetadata: Sendable, Equatable {
    public var type: KeyType
    public var version: UInt64
    /// Elements (members, fields); a list's is `tail - head`.
    public var count: UInt64
    /// Flag bits: `convertedFlag`, `rankedFlag`.
    var flags: UInt8
    public var head: UInt64
    public var tail: UInt64
    /// A sorted set's bounds on its score index (index suffixes without the 0x01), a set's on
    /// its members: no entry is below `low` or above `high`. Popping deletes entries, and a
    /// walk from an end would otherwise step over every deleted one still in the tables: a
    /// sorted-set pop moves the bound past what it removed, a set's SPOP sets them to the
    /// first and last member it saw; every added member widens them. Nil: no bound known (a
    /// new collection, or one written before the bounds existed).
    var low: [UInt8]?
    var high: [UInt8]?

    static let recordVersion: UInt8 = 1
    /// Redis would have converted this collection to its large encoding (hashtable,
    /// skiplist): kept so OBJECT ENCODING answers as Redis does; sticky, as in Redis.
    static let convertedFlag: UInt8 = 1
    /// A sorted set keeps a rank directory (`SortedSetRankDirectory.swift`): set once the set
    /// grows past `rankedAbove` members, and kept for the life of this version.
    static let rankedFlag: UInt8 = 2
    /// Where an empty list starts.
    static let listOrigin: UInt64 = 1 << 63

    init(type: KeyType, version: UInt64) {
        self.type = type
        self.version = version
        count = 0
        flags = 0
        head = Self.listOrigin
        tail = Self.listOrigin
    }

    /// Keeps the bounds true after the index entry `entry` was written.
    mutating func widenBounds(_ entry: [UInt8]) {
        if let l = low, entry.lexicographicallyPrecedes(l) { low = entry }
        if let h = high, h.lexicographicallyPrecedes(entry) { high = entry }
    }

    /// Whether Redis would hold this collection in its large encoding (hashtable, skiplist)
    /// rather than its small one (listpack, intset): what OBJECT ENCODING reports.
    public var isConverted: Bool { converted }

    /// Redis's large encoding (hashtable, skiplist) rather than the small one.
    var converted: Bool {
        get { flags & Self.convertedFlag != 0 }
        set { if newValue { flags |= Self.convertedFlag } else { flags &= ~Self.convertedFlag } }
    }

    /// A sorted set with a rank directory.
    var ranked: Bool {
        get { flags & Self.rankedFlag != 0 }
        set { if newValue { flags |= Self.rankedFlag } else { flags &= ~Self.rankedFlag } }
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.recordVersion, flags]
        out.reserveCapacity(type == .list ? 34 : 18)
        appendLittleEndian(version, to: &out)
        appendLittleEndian(count, to: &out)
        if type == .list {
            appendLittleEndian(head, to: &out)
            appendLittleEndian(tail, to: &out)
        }
        if type == .sortedSet || type == .set, low != nil || high != nil {
            for bound in [low ?? [], high ?? []] {
                // A bound too long for its length field is dropped (a cut one could be wrong).
                let b = bound.count <= Int(UInt16.max) ? bound : []
                out.append(UInt8(truncatingIfNeeded: b.count))
                out.append(UInt8(truncatingIfNeeded: b.count >> 8))
                out.append(contentsOf: b)
            }
        }
        return out
    }

    /// Decodes the record of a main entry tagged `type`; nil when it is malformed.
    init?(type: KeyType, record: [UInt8]) {
        let need = type == .list ? 34 : 18
        guard type != .string, record.count == need || ((type == .sortedSet || type == .set) && record.count > need), record[0] == Self.recordVersion else {
            return nil
        }
        self.type = type
        flags = record[1]
        version = loadLittleEndian64(record, at: 2)
        count = loadLittleEndian64(record, at: 10)
        if type == .list {
            head = loadLittleEndian64(record, at: 18)
            tail = loadLittleEndian64(record, at: 26)
            guard head <= tail, tail - head == count else { return nil }
        } else {
            head = Self.listOrigin
            tail = Self.listOrigin
        }
        if record.count > need {
            // The bounds: two length-prefixed byte strings, nothing after them. An
            // empty one (a bound longer than 65,535 bytes was never written) means none.
            var i = need
            var bounds: [[UInt8]] = []
            for _ in 0..<2 {
                guard i + 2 <= record.count else { return nil }
                let n = Int(record[i]) | Int(record[i + 1]) << 8
                i += 2
                guard i + n <= record.count else { return nil }
                bounds.append(Array(record[i..<(i + n)]))
                i += n
            }
            guard i == record.count else { return nil }
            low = bounds[0].isEmpty ? nil : bounds[0]
            high = bounds[1].isEmpty ? nil : bounds[1]
        }
    }
}

@inline(__always)
func appendLittleEndian(_ v: UInt64, to out: inout [UInt8]) {
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> UInt64(i * 8))) }
}

@inline(__always)
func loadLittleEndian64(_ b: [UInt8], at i: Int) -> UInt64 {
    var v: UInt64 = 0
    for j in 0..<8 { v |= UInt64(b[i + j]) << UInt64(j * 8) }
    return v
}
