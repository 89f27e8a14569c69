import Atomics

/// An immutable picture of the live tables, level by level. Readers hold one for the length
/// of a read; the files it names are not deleted while any reader holds it.
///
/// Besides the files, a version counts the point reads that consult a file in vain (LevelDB's
/// seek compaction): each file may cost that many extra lookups before it is worth merging
/// it into the next level, after which the one read that exhausts a budget names it.
///
/// Level 0 is kept in file-number order (newest last) and its files may overlap; every other
/// level is sorted by smallest key and its files are disjoint.
final class Version: Sendable {
    static let levelCount = 7

    let files: [[FileMetaData]]
    /// Range deletions whose memtables were flushed; they live in the MANIFEST.
    let rangeTombstones: TombstoneIndex
    /// The level most in need of compaction and its score (≥ 1 means due).
    let compactionLevel: Int
    let compactionScore: Double
    /// Extra lookups each file may cost before it is compacted, parallel to `files`: one per
    /// 16 KiB, at least 100 (LevelDB's estimate: a wasted lookup costs about as much as
    /// compacting 16 KiB).
    private let seekBudgets: [[ManagedAtomic<Int>]]
    /// The file whose budget ran out, as `level << 32 | index`; -1 for none. Set once.
    private let seekTarget = ManagedAtomic<Int>(-1)
    /// The open table of each file, filled in by the first read that needs it, so later reads
    /// skip the table cache (its lock and lookup): a point read consults several files.
    /// Only when the version has no more files than the table cache may keep open; a reader
    /// pinned here is the table cache's own instance, so it shares the file descriptor.
    private let pinned: [[ManagedAtomicLazyReference<TableReader>]]?

    init(files: [[FileMetaData]], tombstones: [RangeTombstone] = [], options: Options) {
        self.files = files
        self.rangeTombstones = TombstoneIndex(tombstones)
        var bestLevel = 0
        var bestScore = -1.0
        for level in 0..<(Self.levelCount - 1) {
            let score: Double
            if level == 0 {
                score = Double(files[0].count) / Double(options.level0CompactionTrigger)
            } else {
                score = Double(Self.bytes(files[level])) / Double(Self.maxBytes(level, options))
            }
            if score > bestScore {
                bestScore = score
                bestLevel = level
            }
        }
        compactionLevel = bestLevel
        compactionScore = bestScore
        seekBudgets = files.map { level in level.map { ManagedAtomic(max(100, Int($0.size / 16384))) } }
        let fileCount = files.reduce(0) { $0 + $1.count }
        pinned = fileCount <= options.maxOpenFiles ? files.map { $0.map { _ in ManagedAtomicLazyReference() } } : nil
    }

    /// The open table for file `index` of `level`.
    func table(_ level: Int, _ index: Int, _ tableCache: TableCache, nonBlocking: Bool = false) throws(KVError) -> TableReader {
        if let t = pinned?[level][index].load() { return t }
        let f = files[level][index]
        let t = try tableCache.table(f.number, size: f.size, nonBlocking: nonBlocking)
        return pinned?[level][index].storeIfNilThenLoad(t) ?? t
    }

    /// A compaction is due: a level over its target, or a file out of seek budget.
    var needsCompaction: Bool { compactionScore >= 1 || seekTarget.load(ordering: .relaxed) >= 0 }

    /// The file out of seek budget, if any.
    var seekCompactionTarget: (level: Int, file: FileMetaData)? {
        let t = seekTarget.load(ordering: .relaxed)
        guard t >= 0 else { return nil }
        return (t >> 32, files[t >> 32][t & 0xFFFF_FFFF])
    }

    /// Charges a lookup that consulted file `index` of `level` and then had to look further.
    /// True for the one call that names the file for compaction (the caller wakes the
    /// background thread).
    func chargeSeek(level: Int, index: Int) -> Bool {
        let left = seekBudgets[level][index].wrappingDecrementThenLoad(ordering: .relaxed)
        guard left <= 0, seekTarget.load(ordering: .relaxed) < 0 else { return false }
        return seekTarget.compareExchange(expected: -1, desired: level << 32 | index, ordering: .relaxed).exchanged
    }

    static func empty(_ options: Options) -> Version {
        Version(files: Array(repeating: [], count: levelCount), options: options)
    }

    static func bytes(_ files: [FileMetaData]) -> Int64 {
        files.reduce(0) { $0 + Int64($1.size) }
    }

    /// Size target of a level ≥ 1.
    static func maxBytes(_ level: Int, _ options: Options) -> Int64 {
        var result = Int64(options.maxBytesForLevelBase)
        if level > 1 {
            for _ in 2...level { result *= Int64(options.levelSizeMultiplier) }
        }
        return result
    }

    func levelBytes(_ level: Int) -> Int64 { Self.bytes(files[level]) }

    var allFileNumbers: [UInt64] { files.flatMap { $0.map(\.number) } }

    /// Files of `level` whose user-key range meets [begin, end] (nil = unbounded). For level 0
    /// the range grows to cover every file it touches, since those files overlap each other.
    func overlappingFiles(_ level: Int, _ begin: [UInt8]?, _ end: [UInt8]?) -> [FileMetaData] {
        guard level == 0 else { return files[level].filter { $0.overlaps(begin, end) } }
        var lo = begin
        var hi = end
        var result: [FileMetaData] = []
        var changed = true
        while changed {
            changed = false
            result = files[0].filter { $0.overlaps(lo, hi) }
            for f in result {
                let s = Array(f.smallestUserKey)
                let l = Array(f.largestUserKey)
                if let cur = lo, compareSlices(s[...], cur[...]) < 0 { lo = s; changed = true }
                if let cur = hi, compareSlices(l[...], cur[...]) > 0 { hi = l; changed = true }
            }
        }
        return result
    }

    /// The newest entry for `key` at or below the lookup key's sequence, searching level 0
    /// newest first, then one file per deeper level. `seekCompactionDue` turns true when
    /// this lookup exhausted the seek budget of the first file it consulted in vain.
    func get(_ lookupKey: UnsafeRawBufferPointer, userKeyHash: UInt64? = nil, tableCache: TableCache, verify: Bool,
             fillCache: Bool = true, nonBlocking: Bool = false, seekCompactionDue: inout Bool) throws(KVError) -> TableReader.Lookup {
        let key = userKey(lookupKey)
        let hash = userKeyHash ?? hash64(key)
        // The first file consulted; charged once a second one is consulted.
        var first = -1
        var firstLevel = 0
        var consulted = 0
        func consult(_ level: Int, _ index: Int) {
            consulted += 1
            if consulted == 1 {
                first = index
                firstLevel = level
            } else if consulted == 2, chargeSeek(level: firstLevel, index: first) {
                seekCompactionDue = true
            }
        }
        for (i, f) in files[0].enumerated().reversed() where f.contains(userKey: key) {
            consult(0, i)
            let result = try table(0, i, tableCache, nonBlocking: nonBlocking)
                .get(lookupKey, userKeyHash: hash, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking,
                     largestSequence: f.largestSequence)
            if case .absent = result { continue }
            return result
        }
        for levelNumber in 1..<Self.levelCount {
            let level = files[levelNumber]
            guard !level.isEmpty else { continue }
            // First file whose largest user key ≥ key.
            var lo = 0
            var hi = level.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let largerOrEqual = level[mid].largest.withUnsafeBytes { l in
                    let lu = userKey(l)
                    return compareBytes(lu.baseAddress, lu.count, key.baseAddress, key.count) >= 0
                }
                if largerOrEqual { hi = mid } else { lo = mid + 1 }
            }
            guard lo < level.count, level[lo].contains(userKey: key) else { continue }
            consult(levelNumber, lo)
            let result = try table(levelNumber, lo, tableCache, nonBlocking: nonBlocking)
                .get(lookupKey, userKeyHash: hash, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking,
                     largestSequence: level[lo].largestSequence)
            if case .absent = result { continue }
            return result
        }
        return .absent
    }
}
