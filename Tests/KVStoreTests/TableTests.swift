import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct TableTests {
    /// Builds a table of `count` keys ("key%08d" → value) in a memory file system.
    func buildTable(
        _ fs: MemoryFileSystem, count: Int, compression: Compression = .lz4, bloomBits: Int = 10,
        deleteEvery: Int = 0, valueSize: Int = 40
    ) throws -> (path: String, size: UInt64, properties: TableProperties) {
        try fs.createDirectory("/t")
        let path = "/t/000007.sst"
        var options = TableOptions()
        options.compression = compression
        options.bloomBitsPerKey = bloomBits
        let builder = TableBuilder(file: try fs.openWritable(path, truncate: true), options: options)
        for i in 0..<count {
            let kind: ValueKind = deleteEvery > 0 && i % deleteEvery == 0 ? .deletion : .value
            let ikey = makeInternalKey(key(i), UInt64(i + 1), kind.rawValue)
            let v = kind == .value ? value(i, valueSize) : []
            try ikey.withUnsafeBytes { k in try v.withUnsafeBytes { try builder.add(k, $0) } }
        }
        let props = try builder.finish()
        return (path, builder.fileSize, props)
    }

    func key(_ i: Int) -> [UInt8] {
        let s = String(i)
        return bytes("key" + String(repeating: "0", count: max(0, 8 - s.count)) + s)
    }

    func value(_ i: Int, _ size: Int) -> [UInt8] {
        var v = bytes("value-\(i)-")
        while v.count < size { v.append(UInt8(ascii: "a") + UInt8(v.count % 7)) }
        return v
    }

    func open(_ fs: MemoryFileSystem, _ path: String, _ size: UInt64, cache: BlockCache? = nil) throws -> TableReader {
        try TableReader(file: fs.openReadable(path), fileNumber: 7, fileSize: size, blockCache: cache, statistics: EngineStatistics())
    }

    func lookup(_ t: TableReader, _ k: [UInt8], _ seq: UInt64 = maxSequenceNumber) throws -> TableReader.Lookup {
        let lk = makeInternalKey(k, seq, 0xff)
        return try lk.withUnsafeBytes { try t.get($0, userKeyHash: k.withUnsafeBytes { hash64($0) }) }
    }

    @Test(arguments: Compression.allCases)
    func roundTripPointLookupsAndIteration(_ compression: Compression) throws {
        let fs = MemoryFileSystem()
        let n = 5000
        let (path, size, props) = try buildTable(fs, count: n, compression: compression, deleteEvery: 10)
        #expect(props.entries == UInt64(n))
        #expect(props.deletions == UInt64(n / 10))
        #expect(props.compression == compression)
        #expect(props.dataBlocks > 10)
        if compression != .none { #expect(props.storedDataSize < props.rawDataSize) }
        let table = try open(fs, path, size, cache: BlockCache.make(capacity: 1 << 20))
        #expect(table.properties == props)
        for i in stride(from: 0, to: n, by: 7) {
            let r = try lookup(table, key(i))
            if i % 10 == 0 {
                guard case .deleted = r else { Issue.record("key \(i) should be a deletion"); continue }
            } else {
                guard case let .found(v, _, _, _) = r, v == value(i, 40) else { Issue.record("key \(i) wrong"); continue }
            }
            // Invisible below its sequence.
            guard case .absent = try lookup(table, key(i), UInt64(i)) else { Issue.record("key \(i) visible too early"); continue }
        }
        guard case .absent = try lookup(table, bytes("key")) else { Issue.record("prefix found"); return }
        guard case .absent = try lookup(table, bytes("zzz")) else { Issue.record("zzz found"); return }

        let it = table.makeIterator()
        it.seekToFirst()
        var i = 0
        while it.isValid {
            #expect(Array(userKey(it.key)) == key(i))
            i += 1
            it.next()
        }
        #expect(i == n)
        #expect(it.error == nil)
        it.seek(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(it.isValid)
        makeInternalKey(key(4321), maxSequenceNumber, 0xff).withUnsafeBytes { it.seek($0) }
        #expect(Array(userKey(it.key)) == key(4321))
    }

    @Test func bloomFilterFalsePositiveRateIsBelowOnePointFivePercent() throws {
        let fs = MemoryFileSystem()
        let n = 100_000
        let (path, size, _) = try buildTable(fs, count: n, compression: .none, valueSize: 1)
        let stats = EngineStatistics()
        let table = try TableReader(file: fs.openReadable(path), fileNumber: 7, fileSize: size, blockCache: nil, statistics: stats)
        var passed = 0
        for i in 0..<n {
            let absent = bytes("absent-\(i)")
            if absent.withUnsafeBytes({ p in table.filter.withUnsafeBytes { BloomFilter.mayContain($0, hash: hash64(p)) } }) {
                passed += 1
            }
        }
        let rate = Double(passed) / Double(n)
        print("Bloom filter false-positive rate at 10 bits/key: \(rate * 100)% over \(n) absent keys")
        #expect(rate < 0.015)
        // Every present key passes (no false negatives).
        for i in stride(from: 0, to: n, by: 13) {
            #expect(key(i).withUnsafeBytes { p in table.filter.withUnsafeBytes { BloomFilter.mayContain($0, hash: hash64(p)) } })
        }
    }

    /// Tables written before the cache-local filter keep filtering: both layouts are read,
    /// told apart by the last byte, with no false negatives and the expected rate of false
    /// positives; a filter of either layout that makes no sense filters nothing.
    @Test func bothFilterLayoutsFilter() {
        var rng = SplitMix64(seed: 77)
        let present = (0..<20_000).map { _ in rng.next() }
        for (name, filter) in [("cache-local", BloomFilter.build(hashes: present, bitsPerKey: 10)),
                               ("original", BloomFilter.buildOriginal(hashes: present, bitsPerKey: 10))] {
            filter.withUnsafeBytes { f in
                #expect(present.allSatisfy { BloomFilter.mayContain(f, hash: $0) }, "\(name): a false negative")
                let passed = (0..<100_000).filter { _ in BloomFilter.mayContain(f, hash: rng.next()) }.count
                print("\(name) Bloom filter at 10 bits/key: \(Double(passed) / 1000)% false positives")
                #expect(passed < 1_500, "\(name)")
            }
        }
        #expect(BloomFilter.build(hashes: present, bitsPerKey: 10).last == BloomFilter.localMarker)
        // Garbage: a marker over a body that is not whole lines, an impossible k.
        for bad: [UInt8] in [[1, 2, 3, 6, BloomFilter.localMarker], [UInt8](repeating: 0, count: 64) + [0, BloomFilter.localMarker],
                             [0, 0, 0, 0, 200]] {
            bad.withUnsafeBytes { #expect(BloomFilter.mayContain($0, hash: 12345)) }
        }
    }

    /// Flips one byte in the region and expects corruption naming the file, at an offset
    /// within the damaged block (or the footer).
    func expectCorruption(_ fs: MemoryFileSystem, _ path: String, _ size: UInt64, at position: Int, _ what: String) throws {
        var bytes = fs.contents(of: path)!
        let original = bytes
        bytes[position] ^= 0x20
        fs.setContents(of: path, bytes)
        defer { fs.setContents(of: path, original) }
        let error = thrownError {
            let table = try open(fs, path, size)
            let it = table.makeIterator()
            it.seekToFirst()
            while it.isValid { it.next() }
            if let e = it.error { throw e }
            for i in 0..<3000 { _ = try lookup(table, key(i)) }
        }
        guard case let .corruption(file, offset, _)? = error else {
            Issue.record("\(what): flip at \(position) gave \(String(describing: error))")
            return
        }
        #expect(file == path, "\(what)")
        #expect(offset <= Int64(position) && offset >= 0, "\(what): flip at \(position) reported at \(offset)")
    }

    @Test func flippedBytesInEveryPartAreCorruption() throws {
        let fs = MemoryFileSystem()
        let (path, size, _) = try buildTable(fs, count: 3000)
        let data = fs.contents(of: path)!
        let footer = try TableFooter.decode(Array(data.suffix(TableFooter.size)), file: path, fileOffset: Int64(size) - 64)
        try expectCorruption(fs, path, size, at: 10, "first data block")
        try expectCorruption(fs, path, size, at: Int(footer.filter.offset) / 2, "middle data block")
        try expectCorruption(fs, path, size, at: Int(footer.filter.offset + footer.filter.size / 2), "filter")
        try expectCorruption(fs, path, size, at: Int(footer.properties.offset + 2), "properties")
        try expectCorruption(fs, path, size, at: Int(footer.index.offset + footer.index.size / 2), "index")
        for p in [Int(size) - 64, Int(size) - 30, Int(size) - 10, Int(size) - 1] {
            try expectCorruption(fs, path, size, at: p, "footer")
        }
    }

    @Test func truncatedTableIsCorruption() throws {
        let fs = MemoryFileSystem()
        let (path, size, _) = try buildTable(fs, count: 2000)
        let data = fs.contents(of: path)!
        for cut in [0, 10, 63, Int(size) / 2, Int(size) - 1] {
            fs.setContents(of: path, Array(data.prefix(cut)))
            let error = thrownError { _ = try open(fs, path, UInt64(cut)) }
            #expect(error?.isCorruption == true, "cut at \(cut): \(String(describing: error))")
        }
        // A table whose recorded size is larger than what is on disk (truncated after the fact).
        fs.setContents(of: path, Array(data.prefix(Int(size) - 100)))
        let error = thrownError { _ = try open(fs, path, size) }
        #expect(error?.isCorruption == true)
    }

    @Test func garbageNeverCrashesTheReader() throws {
        let fs = MemoryFileSystem()
        let (path, size, _) = try buildTable(fs, count: 500)
        let data = fs.contents(of: path)!
        var rng = SplitMix64(seed: 77)
        for _ in 0..<300 {
            var damaged = data
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            fs.setContents(of: path, damaged)
            var looped = false
            _ = thrownError {
                let table = try open(fs, path, size)
                let it = table.makeIterator(verify: false)
                it.seekToFirst()
                // A damaged table may show fewer entries or garbage ones, but a walk longer
                // than any table of this size can hold has looped: a failure, not a pass.
                let bound = FuzzTargets.tableStepBound(damaged.count)
                var steps = 0
                while it.isValid && steps <= bound { it.next(); steps += 1 }
                looped = steps > bound
                #expect(!looped, "the walk over a damaged table looped")
                for i in 0..<50 { _ = try? lookup(table, key(i * 10)) }
            }
            if looped { break }  // one failure says it; the rest would each walk `bound` steps
        }
    }

    @Test func blockCacheEvictsByBytes() {
        let cache = ShardedCache<Int, [UInt8]>(capacity: 1000, shardCount: 1)
        for i in 0..<20 { cache.insert(i, [UInt8(i)], charge: 100) }
        #expect(cache.usage <= 1000)
        #expect(cache.get(19) != nil)
        #expect(cache.get(0) == nil)
        _ = cache.get(10)
        cache.insert(100, [1], charge: 100)
        #expect(cache.get(10) != nil)  // recently used survives
    }

    @Test func versionEditRoundTrips() throws {
        var e = VersionEdit()
        e.logNumber = 12
        e.nextFileNumber = 99
        e.lastSequence = 123_456_789
        e.compactPointers = [(2, makeInternalKey(bytes("m"), 5, 1))]
        e.deletedFiles = [(1, 7), (3, 8)]
        e.addFile(4, FileMetaData(number: 40, size: 4096, smallest: makeInternalKey(bytes("a"), 1, 1), largest: makeInternalKey(bytes("z"), 2, 0)))
        let decoded = try VersionEdit.decode(e.encode(), file: "m", offset: 0)
        #expect(decoded == e)
        var bad = e.encode()
        bad[0] = 77
        #expect(throws: KVError.self) { try VersionEdit.decode(bad, file: "m", offset: 0) }
        #expect(throws: KVError.self) { try VersionEdit.decode(Array(e.encode().dropLast(3)), file: "m", offset: 0) }
    }
}

extension Int: CacheShardable {
    public var mixedHash: UInt64 { UInt64(bitPattern: Int64(self)) &* 0x9E37_79B9_7F4A_7C15 }
}
