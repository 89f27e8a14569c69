import KVStore

/// A large sorted set's rank directory: counts of score-index entries per block, so that a
/// member's rank (ZRANK, ZCOUNT) and the member at a rank (ZRANGE by index) are found by
/// reading a few thousand entries instead of every member before it.
///
/// ```
/// suffix 0x02 | level u8 | boundary  →  empty          (the block's boundary)
/// suffix 0x03 | level u8 | boundary  →  count u64 LE   (how many index entries it holds)
/// ```
///
/// Boundaries and counts are apart because a count changes with every member added or
/// removed, and a key written over and over piles up versions in the memtable that an
/// iterator must step over one by one: the boundaries, which are walked, change only when a
/// block is cut or dropped; the counts are only ever read and written by key.
///
/// A block at level L holds the index entries (their suffix without the 0x01: sortable score
/// + member) from its boundary up to the next boundary of the same level; the first boundary
/// of each level is empty, so every entry lies in exactly one block per level. Level-1
/// boundaries are always level-0 boundaries too, so a level-1 block is a run of whole level-0
/// blocks. Finding a rank reads the level-1 blocks before it (≤ N / 2^17 of them), the
/// level-0 blocks of its level-1 block (≤ 2^18 / 512), and the index entries of its level-0
/// block (≤ 1,024): about 2,000 entries for any N up to ~10^8, where walking the index
/// reads up to N.
///
/// Counts change with each member added or removed (one seek, one read and one write per
/// level); a block that outgrows its limit splits at its middle; an emptied block's boundary
/// goes (unless a level above still uses it). Blocks are never merged: heavy deletion leaves
/// small blocks, so a rank reads more blocks, never a wrong count. A set gets its directory
/// past `rankedAbove` members (below, a walk is as cheap) and keeps it for its version's life.
package struct RankShape: Sendable {
    /// Sets up to this size have no directory.
    package var rankedAbove: UInt64 = 512
    /// A level-0 block is cut when it counts more than this.
    package var level0: UInt64 = 1024
    /// A level-1 block is cut when it counts more than this.
    package var level1: UInt64 = 1 << 18

    package init() {}

    package init(rankedAbove: UInt64, level0: UInt64, level1: UInt64) {
        (self.rankedAbove, self.level0, self.level1) = (rankedAbove, level0, level1)
    }
}

extension KeyspaceAccess {
    static var boundarySpace: UInt8 { 0x02 }
    static var countSpace: UInt8 { 0x03 }

    /// A block is cut when its count passes this, per level.
    func splitAbove(_ level: UInt8) -> UInt64 { level == 0 ? keyspace.rankShape.level0 : keyspace.rankShape.level1 }
    /// A cursor over one level's boundaries.
    private func boundaries(_ key: [UInt8], _ meta: CollectionMetadata, _ level: UInt8) throws(KeyspaceError) -> any KVCursor {
        try elements(key, meta, suffixPrefix: [Self.boundarySpace, level])
    }

    /// The count of the block at `boundary`.
    func blockCount(_ key: [UInt8], _ meta: CollectionMetadata, _ level: UInt8, _ boundary: [UInt8]) throws(KeyspaceError) -> UInt64 {
        guard let v = try element(key, meta, [Self.countSpace, level] + boundary) else {
            throw .corruption(key: key, reason: "a level-\(level) rank block (\(boundary.count)-byte boundary) has no count")
        }
        guard v.count == 8 else { throw .corruption(key: key, reason: "a rank-directory count of \(v.count) bytes") }
        return loadLittleEndian64(v, at: 0)
    }

    private static func encodeCount(_ n: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: n >> UInt64($0 * 8)) }
    }

    /// Walks one level's blocks from the block at `from` (empty: the first), calling `body`
    /// with each boundary and count until it returns false.
    private func walkBlocks(
        _ key: [UInt8], _ meta: CollectionMetadata, _ level: UInt8, from: [UInt8],
        _ body: ([UInt8], UInt64) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        let skip = prefix.count + 2
        let it = try boundaries(key, meta, level)
        if from.isEmpty { it.seekToFirst() } else { it.seek(to: prefix + [Self.boundarySpace, level] + from) }
        while it.isValid {
            let b = it.withCurrent { k, _ in Array(k[skip...]) }
            guard try body(b, try blockCount(key, meta, level, b)) else { break }
            it.next()
        }
        try read { () throws(KVError) in try it.check() }
    }

    /// How many index entries precede `target` (sortable score + member): the rank of the
    /// member it names, or of the first member at or after a score bound.
    func indexEntries(before target: [UInt8], _ key: [UInt8], _ meta: CollectionMetadata) throws(KeyspaceError) -> Int {
        // Nothing lies below the set's low bound: a small set walks from there.
        var from: [UInt8] = meta.ranked ? [] : meta.low ?? []
        var total = 0
        if meta.ranked {
            for level: UInt8 in [1, 0] {
                var current: (boundary: [UInt8], count: Int)?
                try walkBlocks(key, meta, level, from: from) { (b, c) throws(KeyspaceError) in
                    if bytesBefore(target, b) { return false }
                    if let c = current { total += c.count }
                    current = (b, Int(c))
                    return true
                }
                guard let current else { throw .corruption(key: key, reason: "the rank directory's level \(level) has no first block") }
                from = current.boundary
            }
        }
        let it = try elements(key, meta, suffixPrefix: [0x01], from: from, to: target)
        it.seekToFirst()
        while it.isValid {
            total += 1
            it.next()
        }
        try read { () throws(KVError) in try it.check() }
        return total
    }

    /// Where the member of 0-based `rank` (score order) is: the index position to walk from
    /// and how many entries to step over there. Nil when `rank` is past the end.
    func locate(rank: Int, _ key: [UInt8], _ meta: CollectionMetadata) throws(KeyspaceError) -> (from: [UInt8], skip: Int)? {
        guard rank >= 0 && rank < Int(meta.count) else { return nil }
        guard meta.ranked else { return (meta.low ?? [], rank) }  // nothing lies below the low bound
        var from: [UInt8] = []
        var below = 0
        for level: UInt8 in [1, 0] {
            var found: [UInt8]?
            try walkBlocks(key, meta, level, from: from) { (b, c) throws(KeyspaceError) in
                if below + Int(c) > rank {
                    found = b
                    return false
                }
                below += Int(c)
                return true
            }
            guard let f = found else {
                throw .corruption(key: key, reason: "the rank directory's level \(level) counts fewer than the set's \(meta.count) members")
            }
            from = f
        }
        return (from, rank - below)
    }

    /// Calls `body` with the members at 0-based ranks `lo...hi` (in score order; `reverse`:
    /// ranks counted from the highest score, walked that way), until it returns false.
    func walkRanks(
        _ key: [UInt8], _ meta: CollectionMetadata, lo: Int, hi: Int, reverse: Bool,
        _ body: (UnsafeRawBufferPointer, Double) throws(KeyspaceError) -> Bool
    ) throws(KeyspaceError) {
        let n = Int(meta.count)
        guard lo <= hi, lo < n else { return }
        let last = min(hi, n - 1)
        // The walk starts at forward rank `first` and reads `want` members.
        let first = reverse ? n - 1 - lo : lo
        var want = last - lo + 1
        guard let (from, skipCount) = try locate(rank: first, key, meta) else { return }
        let prefixCount = KeyspaceKeys.elementPrefix(key, version: meta.version).count + 1
        var it = try elements(key, meta, suffixPrefix: [0x01], from: from)
        it.seekToFirst()
        for _ in 0..<skipCount where it.isValid { it.next() }
        if reverse {
            // Walk down from the start member: a cursor that ends just after it.
            guard it.isValid else { return try read { () throws(KVError) in try it.check() } }
            let start = it.withCurrent { k, _ in Array(k[prefixCount...]) }
            try read { () throws(KVError) in try it.check() }
            it = try elements(key, meta, suffixPrefix: [0x01], to: start + [0])
            it.seekToLast()
        }
        while it.isValid && want > 0 {
            let go = try it.withCurrent { (k, _) throws(KeyspaceError) -> Bool in
                let suffix = UnsafeRawBufferPointer(rebasing: k[prefixCount...])
                let s = ScoreEncoding.score(fromSortable: loadBigEndian64(suffix, at: 0))
                return try body(UnsafeRawBufferPointer(rebasing: suffix[8...]), s)
            }
            want -= 1
            if !go { break }
            if reverse { it.previous() } else { it.next() }
        }
        try read { () throws(KVError) in try it.check() }
    }
}

/// Index entries added (+1) and removed (-1) by one operation, for the rank directory to count
/// at once (`rankApply`).
struct RankChanges {
    var changes: [(entry: [UInt8], delta: Int)] = []

    /// The index suffix `suffix` (0x01 + sortable score + member) was written (+1) or deleted.
    mutating func note(_ suffix: [UInt8], _ delta: Int) {
        changes.append((Array(suffix.dropFirst()), delta))
    }
}

extension KeyspaceAccess where Storage: KeyspaceWriter {
    private func putBlock(_ key: [UInt8], _ meta: CollectionMetadata, _ level: UInt8, _ boundary: [UInt8], count: UInt64, new: Bool) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        if new { storage.put(prefix + [Self.boundarySpace, level] + boundary, [], expiresAt: nil, tag: 0) }
        storage.put(prefix + [Self.countSpace, level] + boundary, Self.encodeCount(count), expiresAt: nil, tag: 0)
    }

    private func dropBlock(_ key: [UInt8], _ meta: CollectionMetadata, _ level: UInt8, _ boundary: [UInt8]) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        storage.delete(prefix + [Self.boundarySpace, level] + boundary)
        storage.delete(prefix + [Self.countSpace, level] + boundary)
    }

    /// Counts one operation's index changes in the directory: the changes in entry order, a
    /// seek per level to the block of each change not in the block before it, one write per
    /// touched block; a block that outgrew its limit is cut into pieces, an emptied one
    /// dropped. Level 0 first: level 1 cuts at level-0 boundaries.
    func rankApply(_ key: [UInt8], _ meta: CollectionMetadata, _ pending: RankChanges) throws(KeyspaceError) {
        guard meta.ranked, !pending.changes.isEmpty else { return }
        let changes = pending.changes.sorted { bytesBefore($0.entry, $1.entry) }
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        for level: UInt8 in [0, 1] {
            let base = prefix + [Self.boundarySpace, level]
            let it = try boundaries(key, meta, level)
            // Touched blocks in order: boundary, change.
            var touched: [(boundary: [UInt8], delta: Int)] = []
            // The block the cursor last landed in, and where the next one starts (nil: the last).
            var current: [UInt8]?
            var next: [UInt8]?
            for change in changes {
                if current == nil || next.map({ !bytesBefore(change.entry, $0) }) == true {
                    // Seek to the block holding the entry: the last boundary at or before it.
                    let target = base + change.entry
                    it.seek(to: target)
                    if !it.isValid {
                        it.seekToLast()
                    } else if !it.withCurrent({ k, _ in k.elementsEqual(target) }) {
                        it.previous()
                    }
                    guard it.isValid else {
                        try read { () throws(KVError) in try it.check() }
                        throw .corruption(key: key, reason: "the rank directory's level \(level) has no first block")
                    }
                    current = it.withCurrent { k, _ in Array(k[base.count...]) }
                    it.next()
                    next = it.isValid ? it.withCurrent { k, _ in Array(k[base.count...]) } : nil
                }
                guard let block = current else { continue }
                if touched.last?.boundary != block { touched.append((block, 0)) }
                touched[touched.count - 1].delta += change.delta
            }
            try read { () throws(KVError) in try it.check() }
            for t in touched where t.delta != 0 {
                let old = try blockCount(key, meta, level, t.boundary)
                let signed = Int(old) + t.delta
                guard signed >= 0 else {
                    throw .corruption(key: key, reason: "a rank-directory block counts \(old) members and loses \(-t.delta)")
                }
                let n = UInt64(signed)
                var shared = false  // an emptied level-0 block stays while a level-1 block starts there
                if level == 0 && n == 0 && !t.boundary.isEmpty {
                    shared = try element(key, meta, [Self.boundarySpace, 1] + t.boundary) != nil
                }
                if n == 0 && !t.boundary.isEmpty && !shared {
                    dropBlock(key, meta, level, t.boundary)
                } else if n > splitAbove(level) {
                    try cut(key, meta, level, t.boundary, n)
                } else {
                    putBlock(key, meta, level, t.boundary, count: n, new: false)
                }
            }
        }
    }

    /// Cuts a block of `n` entries that outgrew its limit into pieces of about half the limit:
    /// level 0 every so many index entries, level 1 at the level-0 boundaries where its count
    /// reaches that.
    private func cut(_ key: [UInt8], _ meta: CollectionMetadata, _ level: UInt8, _ boundary: [UInt8], _ n: UInt64) throws(KeyspaceError) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        let piece = splitAbove(level) / 2
        var start = boundary
        var inPiece: UInt64 = 0
        var seen: UInt64 = 0
        if level == 0 {
            let it = try elements(key, meta, suffixPrefix: [0x01], from: boundary)
            it.seekToFirst()
            while it.isValid && seen < n {
                if inPiece == piece && n - seen > piece / 2 {
                    putBlock(key, meta, level, start, count: inPiece, new: start != boundary)
                    start = it.withCurrent { k, _ in Array(k[(prefix.count + 1)...]) }
                    inPiece = 0
                }
                inPiece += 1
                seen += 1
                it.next()
            }
            try read { () throws(KVError) in try it.check() }
        } else {
            try walkBlocks(key, meta, 0, from: boundary) { (b, c) throws(KeyspaceError) in
                guard seen < n else { return false }
                if inPiece >= piece && n - seen > piece / 2 {
                    putBlock(key, meta, level, start, count: inPiece, new: start != boundary)
                    start = b
                    inPiece = 0
                }
                inPiece += c
                seen += c
                return true
            }
        }
        guard seen == n else {
            throw .corruption(key: key, reason: "a rank-directory block at level \(level) counts \(n) entries; \(seen) found")
        }
        putBlock(key, meta, level, start, count: inPiece, new: start != boundary)
    }

    /// Gives a set that has outgrown `rankedAbove` its directory, built from its index in one
    /// walk (blocks half full, so the next members do not split them at once).
    func rankBuildIfNeeded(_ key: [UInt8], _ meta: inout CollectionMetadata) throws(KeyspaceError) {
        guard !meta.ranked, meta.count > keyspace.rankShape.rankedAbove else { return }
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        let per0 = splitAbove(0) / 2
        let per1 = splitAbove(1) / 2
        let it = try elements(key, meta, suffixPrefix: [0x01])
        it.seekToFirst()
        var i: UInt64 = 0
        var block0: [UInt8] = []
        var block1: [UInt8] = []
        while it.isValid {
            if i > 0 && i % per0 == 0 {
                let b = it.withCurrent { k, _ in Array(k[(prefix.count + 1)...]) }
                putBlock(key, meta, 0, block0, count: per0, new: true)
                block0 = b
                if i % per1 == 0 {
                    putBlock(key, meta, 1, block1, count: per1, new: true)
                    block1 = b
                }
            }
            i += 1
            it.next()
        }
        try read { () throws(KVError) in try it.check() }
        guard i == meta.count else {
            throw .corruption(key: key, reason: "sorted set counts \(meta.count) members; its score index holds \(i)")
        }
        putBlock(key, meta, 0, block0, count: i - (i - 1) / per0 * per0, new: true)
        putBlock(key, meta, 1, block1, count: i - (i - 1) / per1 * per1, new: true)
        meta.ranked = true
    }
}

extension KeyspaceAccess {
    /// What is wrong with a ranked set's directory, nil when nothing: each level starts with
    /// the empty boundary, each boundary has a count and each count a boundary, each block
    /// counts the index entries up to the next boundary, and every level-1 boundary is a
    /// level-0 boundary. Reads the index once per level.
    func rankDirectoryProblem(_ key: [UInt8], _ meta: CollectionMetadata) throws(KeyspaceError) -> String? {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version)
        var level0: Set<[UInt8]> = []
        for level: UInt8 in [0, 1] {
            var bounds: [(boundary: [UInt8], count: UInt64)] = []
            do {
                try walkBlocks(key, meta, level, from: []) { (b, c) throws(KeyspaceError) in
                    bounds.append((b, c))
                    return true
                }
            } catch {
                if case .corruption(_, let reason) = error { return reason }
                throw error
            }
            // Every count belongs to a boundary.
            let counts = try elements(key, meta, suffixPrefix: [Self.countSpace, level])
            var n = 0
            counts.seekToFirst()
            while counts.isValid {
                n += 1
                counts.next()
            }
            try read { () throws(KVError) in try counts.check() }
            if n != bounds.count { return "the rank directory's level \(level) has \(bounds.count) boundaries and \(n) counts" }
            guard bounds.first?.boundary == [] else { return "the rank directory's level \(level) does not start with the empty boundary" }
            if level == 0 {
                level0 = Set(bounds.map(\.boundary))
            } else if let stray = bounds.first(where: { !level0.contains($0.boundary) }) {
                return "a level-1 rank boundary (\(stray.boundary.count) bytes) that is not a level-0 boundary"
            }
            let index = try elements(key, meta, suffixPrefix: [0x01])
            index.seekToFirst()
            for (i, block) in bounds.enumerated() {
                let end = i + 1 < bounds.count ? bounds[i + 1].boundary : nil
                var n: UInt64 = 0
                while index.isValid, end.map({ e in index.withCurrent { k, _ in bytesBefore(Array(k[(prefix.count + 1)...]), e) } }) ?? true {
                    n += 1
                    index.next()
                }
                if n != block.count {
                    return "a level-\(level) rank block counts \(block.count) members; \(n) lie in its range"
                }
            }
            try read { () throws(KVError) in try index.check() }
        }
        return nil
    }
}

/// Bytewise order of two index entries.
func bytesBefore(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.lexicographicallyPrecedes(y) } }
}
