import Testing

@testable import KVStore
import KVStoreTesting

/// The point read's own searches (`IndexSearch` over a table's index, `BlockPointSeek` inside a
/// block) and a table iterator's seek (through `IndexSearch`) against the plain path they
/// replace (`BlockCursor.seek`) and against a model of the table, over key shapes chosen to break them: long shared prefixes (summaries that tie),
/// keys that are prefixes of others and keys with zero bytes (zero padding), one user key in
/// many versions across blocks, keys before and after a table's range.
@Suite struct PointReadTests {
    struct Version {
        var sequence: UInt64
        var deleted: Bool
        var value: [UInt8]
    }

    /// Sorted, distinct user keys of one shape.
    func keys(shape: Int, count: Int, _ rng: inout SplitMix64) -> [[UInt8]] {
        var set = Set<[UInt8]>()
        while set.count < count {
            set.insert(randomKey(shape: shape, &rng))
        }
        return set.sorted { bytesPrecede($0, $1) }
    }

    func randomKey(shape: Int, _ rng: inout SplitMix64) -> [UInt8] {
        switch shape {
        case 0:  // redis-benchmark's keys
            let n = rng.uniform(1_000_000)
            let digits = String(n)
            return Array(("key:" + String(repeating: "0", count: 12 - digits.count) + digits).utf8)
        case 1:  // a 20-byte shared prefix, then a short tail of bytes including zero
            let tail = (0..<Int(rng.uniform(13))).map { _ in [0, 1, 0x7f, 0xff][Int(rng.uniform(4))] as UInt8 }
            return Array("tenant:0042:session:".utf8) + tail
        case 2:  // short binary keys over three byte values: many prefixes of each other
            return (0..<Int(rng.uniform(7))).map { _ in [0, 1, 0xff][Int(rng.uniform(3))] as UInt8 }
        default:  // few keys, each with many versions
            return Array("k\(rng.uniform(40))".utf8)
        }
    }

    /// A table in a memory file system of `versions` (user key → newest first), small blocks
    /// so the index has many entries.
    func build(_ fs: MemoryFileSystem, _ userKeys: [[UInt8]], _ versions: [[UInt8]: [Version]], blockSize: Int,
               compression: Compression) throws -> TableReader {
        try? fs.createDirectory("/p")
        let path = "/p/000009.sst"
        var options = TableOptions()
        options.blockSize = blockSize
        options.compression = compression
        let builder = TableBuilder(file: try fs.openWritable(path, truncate: true), options: options)
        for k in userKeys {
            for v in versions[k]! {
                let ikey = makeInternalKey(k, v.sequence, (v.deleted ? ValueKind.deletion : .value).rawValue)
                try ikey.withUnsafeBytes { key in try v.value.withUnsafeBytes { try builder.add(key, $0) } }
            }
        }
        _ = try builder.finish()
        return try TableReader(file: fs.openReadable(path), fileNumber: 9, fileSize: builder.fileSize, blockCache: nil, statistics: nil)
    }

    @Test func pointSearchesAgreeWithTheCursorAndTheModel() throws {
        var rng = SplitMix64(seed: 0x2026_1207)
        var compared = 0
        var tooLong = 0
        for round in 0..<24 {
            let shape = round % 4
            let userKeys = keys(shape: shape, count: shape == 3 ? 30 : 300 + Int(rng.uniform(700)), &rng)
            var versions: [[UInt8]: [Version]] = [:]
            var sequence: UInt64 = 1
            for k in userKeys {
                let n = shape == 3 ? 1 + Int(rng.uniform(40)) : 1 + Int(rng.uniform(3))
                var list: [Version] = []
                for _ in 0..<n {
                    sequence += 1 + rng.uniform(3)
                    let deleted = rng.uniform(5) == 0
                    list.append(Version(sequence: sequence, deleted: deleted, value: deleted ? [] : Array("v\(sequence)".utf8)))
                }
                versions[k] = list.reversed()  // a table holds a key's versions newest first
            }
            let fs = MemoryFileSystem()
            let table = try build(fs, userKeys, versions, blockSize: 128 + Int(rng.uniform(900)),
                                  compression: round % 3 == 0 ? .none : .lz4)
            let search = try #require(table.indexSearch, "round \(round): no index summary")

            // Every internal key of the table in order, for the iterator's seeks.
            let all: [[UInt8]] = userKeys.flatMap { k in
                versions[k]!.map { makeInternalKey(k, $0.sequence, ($0.deleted ? ValueKind.deletion : .value).rawValue) }
            }
            let iterator = TableIterator(table: table, verify: true, fillCache: false, mapped: false)

            var targets: [[UInt8]] = userKeys
            for _ in 0..<200 { targets.append(randomKey(shape: shape, &rng)) }
            targets += [[], [0], [0xff, 0xff, 0xff, 0xff], Array(userKeys[0].prefix(3)), userKeys.last! + [0]]
            for user in targets {
                let readAt = [UInt64.max >> 8, 1 + rng.uniform(sequence + 2), versions[user]?.randomElement(using: &rng)?.sequence ?? 0]
                for at in readAt {
                    let target = makeInternalKey(user, min(at, maxSequenceNumber), 0xff)
                    try target.withUnsafeBytes { t in
                        // The index: the summary's entry is the cursor's.
                        var cursor = BlockCursor(table.index)
                        cursor.seek(t)
                        #expect(cursor.error == nil)
                        let expected = cursor.isValid ? Array(cursor.value) : nil
                        let i = try #require(search.find(t, in: table.index))
                        let actual = i < table.index.restartCount ? IndexSearch.value(i, in: table.index).map { Array($0) } : nil
                        #expect(actual == expected, "round \(round): index entry for \(user) at \(at)")
                        // The data block: the point seek's entry is the cursor's, with a scratch
                        // buffer that fits and with one too small for most keys.
                        if let handleBytes = expected {
                            let handle = try handleBytes.withUnsafeBytes { try table.decodeHandle($0) }
                            let block = try table.dataBlock(handle)
                            var c = BlockCursor(block)
                            c.seek(t)
                            let want = c.isValid ? (Array(c.keyBytes), Array(c.value)) : nil
                            for size in [BlockPointSeek.scratchSize, 12] {
                                let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
                                defer { scratch.deallocate() }
                                switch BlockPointSeek.seek(block, t, scratch: scratch) {
                                case .found(let key, let value):
                                    #expect(want.map { $0.0 == Array(key) && $0.1 == Array(value) } == true, "round \(round): \(user) at \(at)")
                                case .end: #expect(want == nil, "round \(round): \(user) at \(at) ended early")
                                case .keyTooLong: tooLong += 1; #expect(size < BlockPointSeek.scratchSize)
                                case .corrupt(let e): Issue.record("round \(round): \(e)")
                                }
                            }
                        }
                        // A table iterator's seek (which finds its block through the summary)
                        // lands on the model's first key at or after the target and steps on
                        // from there in both directions.
                        let at = all.firstIndex { k in k.withUnsafeBytes { compareInternalKeys($0, t) >= 0 } }
                        iterator.seek(t)
                        #expect(iterator.error == nil)
                        #expect((iterator.isValid ? Array(iterator.key) : nil) == at.map { all[$0] }, "round \(round): seek \(user)")
                        if let at, iterator.isValid {
                            if rng.uniform(2) == 0 {
                                iterator.next()
                                #expect((iterator.isValid ? Array(iterator.key) : nil) == (at + 1 < all.count ? all[at + 1] : nil))
                            } else {
                                iterator.previous()
                                #expect((iterator.isValid ? Array(iterator.key) : nil) == (at > 0 ? all[at - 1] : nil))
                            }
                        }
                        compared += 1
                    }
                    // The table's answer is the model's: the newest version at or below `at`.
                    let result = try makeInternalKey(user, min(at, maxSequenceNumber), 0xff).withUnsafeBytes {
                        try table.get($0, userKeyHash: user.withUnsafeBytes { hash64($0) })
                    }
                    let newest = versions[user]?.first { $0.sequence <= at }
                    switch (result, newest) {
                    case (.absent, nil): break
                    case (.deleted(let s), let v?) where v.deleted: #expect(s == v.sequence)
                    case (.found(let value, let s, _, _), let v?) where !v.deleted:
                        #expect(s == v.sequence && value == v.value, "round \(round): \(user) at \(at)")
                    default: Issue.record("round \(round): \(user) at \(at): \(result) against \(String(describing: newest))")
                    }
                }
            }
        }
        #expect(compared > 20_000)
        #expect(tooLong > 0)  // the small scratch sent some keys down the cursor's path
    }

    /// A data block whose first entry claims a shared prefix (impossible at a restart), read
    /// without checksum verification so the damage reaches the point seek: reported as
    /// corruption of that table, never answered.
    @Test func aDamagedEntryIsCorruptionNotAnAnswer() throws {
        let fs = MemoryFileSystem()
        let userKeys = (0..<500).map { Array("key\($0 + 1000)".utf8) }
        var versions: [[UInt8]: [Version]] = [:]
        for (i, k) in userKeys.enumerated() { versions[k] = [Version(sequence: UInt64(i + 1), deleted: false, value: Array("value\(i)".utf8))] }
        _ = try build(fs, userKeys, versions, blockSize: 1024, compression: .none)
        let path = "/p/000009.sst"
        var bytes = fs.contents(of: path)!
        #expect(bytes[0] == 0)  // the first entry's shared length
        bytes[0] = 3
        fs.setContents(of: path, bytes)
        let table = try TableReader(file: fs.openReadable(path), fileNumber: 9, fileSize: UInt64(bytes.count), blockCache: nil, statistics: nil)
        let user = userKeys[0]
        let error = thrownError {
            _ = try makeInternalKey(user, maxSequenceNumber, 0xff).withUnsafeBytes {
                try table.get($0, userKeyHash: user.withUnsafeBytes { hash64($0) }, verify: false)
            }
        }
        guard case let .corruption(file, offset, reason)? = error else {
            Issue.record("a damaged entry gave \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(offset == 0)
        #expect(reason.contains("bad entry"))
    }
}
