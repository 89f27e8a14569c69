#if canImport(Glibc)
import Glibc
#endif
import KVStore

/// Entry points for the libFuzzer targets (`Tools/kvfuzz`, `make fuzz`) and for the tests that
/// replay their corpora. Each takes arbitrary bytes and runs one decoder over them as hard as
/// it can; any error is fine, a crash or hang is a bug.
package enum FuzzTargets {
    package static let names = ["wal", "manifest", "table", "block"]

    package static func run(_ target: String, _ data: UnsafeRawBufferPointer) {
        switch target {
        case "wal": writeAheadLog(data)
        case "manifest": manifest(data)
        case "table": table(data)
        case "block": block(data)
        default: break
        }
    }

    /// The WAL reader and the write-batch decoder behind it.
    static func writeAheadLog(_ data: UnsafeRawBufferPointer) {
        var reader = LogReader(bytes: Array(data), path: "fuzz.log", purpose: .writeAheadLog)
        while let (offset, record) = try? reader.next() {
            _ = try? record.withUnsafeBytes { encoded in
                try WriteBatch.forEach(encoded, file: "fuzz.log", offset: offset) { _, _, _ in }
            }
        }
    }

    /// The MANIFEST reader and the version-edit decoder, and the decoder on the raw bytes.
    static func manifest(_ data: UnsafeRawBufferPointer) {
        var reader = LogReader(bytes: Array(data), path: "MANIFEST", purpose: .manifest)
        while let (offset, record) = try? reader.next() {
            _ = try? VersionEdit.decode(record, file: "MANIFEST", offset: offset)
        }
        _ = try? VersionEdit.decode(Array(data), file: "MANIFEST", offset: 0)
    }

    /// A whole table: footer, index, filter, properties, then every block forward and
    /// backward, and point lookups.
    static func table(_ data: UnsafeRawBufferPointer) {
        let fs = MemoryFileSystem()
        try? fs.createDirectory("/f")
        guard let file = try? fs.openWritable("/f/000001.sst", truncate: true) else { return }
        try? file.append(data)
        guard let readable = try? fs.openReadable("/f/000001.sst"),
              let table = try? TableReader(file: readable, fileNumber: 1, fileSize: UInt64(data.count))
        else { return }
        let bound = tableStepBound(data.count)
        for verify in [false, true] {
            let it = table.makeIterator(verify: verify, fillCache: false)
            it.seekToFirst()
            walk(bound, "table forward") { it.isValid } step: { it.next() }
            it.seekToLast()
            walk(bound, "table backward") { it.isValid } step: { it.previous() }
        }
        for probe in [table.properties.smallestKey, table.properties.largestKey, Array(data.prefix(12))] {
            let lookup = probe.count >= 8 ? probe : makeInternalKey(probe, maxSequenceNumber, 0xff)
            _ = try? lookup.withUnsafeBytes { try table.get($0, userKeyHash: hash64(userKey($0))) }
        }
        mappedTable(data)
    }

    /// The same bytes read through a real file's memory mapping (blocks checked and decoded
    /// in place), where a bad handle must be caught before it reaches past the mapping.
    static func mappedTable(_ data: UnsafeRawBufferPointer) {
        let fs = PosixFileSystem()
        let directory = fs.fileExists("/dev/shm") ? "/dev/shm" : "/tmp"
        let path = Path.join(directory, "kvfuzz-\(getpid()).sst")
        defer { try? fs.remove(path) }
        guard let file = try? fs.openWritable(path, truncate: true) else { return }
        try? file.append(data)
        try? file.close()
        guard let readable = try? fs.openReadable(path), let mapping = readable.map(),
              let table = try? TableReader(
                file: readable, fileNumber: 1, fileSize: UInt64(data.count), mapping: mapping)
        else { return }
        let it = table.makeIterator(verify: false, fillCache: false)
        it.seekToFirst()
        walk(tableStepBound(data.count), "mapped table forward") { it.isValid } step: { it.next() }
        let probe = Array(data.prefix(12))
        let lookup = probe.count >= 8 ? probe : makeInternalKey(probe, maxSequenceNumber, 0xff)
        _ = try? lookup.withUnsafeBytes { try table.get($0, userKeyHash: hash64(userKey($0)), verify: false) }
    }

    /// One block: seeks, and walks in both directions.
    static func block(_ data: UnsafeRawBufferPointer) {
        guard let block = try? Block(contents: Array(data), file: "fuzz", fileOffset: 0) else { return }
        var cursor = BlockCursor(block)
        let bound = blockStepBound(data.count)
        cursor.seekToFirst()
        walk(bound, "block forward") { cursor.isValid } step: { cursor.next() }
        cursor.seekToLast()
        walk(bound, "block backward") { cursor.isValid } step: { cursor.previous() }
        cursor.seek(UnsafeRawBufferPointer(rebasing: data.prefix(16)))
        if cursor.isValid { cursor.next() }
    }

    /// The most entries a walk over a block of `byteCount` bytes can meet: each entry's header
    /// alone takes three bytes, and every step moves past one entry.
    package static func blockStepBound(_ byteCount: Int) -> Int { byteCount / 3 + 1 }

    /// The most entries a walk over a table of `byteCount` bytes can meet: its index names at
    /// most `blockStepBound` blocks — perhaps the same one each time — of at most that many
    /// entries each.
    package static func tableStepBound(_ byteCount: Int) -> Int { blockStepBound(byteCount) * blockStepBound(byteCount) }

    /// Steps while `valid()` holds; more than `bound` steps can only be an endless loop, which
    /// is a bug like a crash, so it traps (a step cap that simply stopped would pass it).
    package static func walk(_ bound: Int, _ what: String, valid: () -> Bool, step: () -> Void) {
        var steps = 0
        while valid() {
            step()
            steps += 1
            if steps > bound { preconditionFailure("\(what): more than \(bound) steps, the walk loops") }
        }
    }

    /// Valid inputs for each target, the starting point of the committed corpora.
    package static func seeds() -> [(target: String, name: String, bytes: [UInt8])] {
        var out: [(String, String, [UInt8])] = []
        let fs = MemoryFileSystem()
        try? fs.createDirectory("/s")
        // WAL: batches of puts, deletes and a range deletion, one spanning blocks.
        if let w = try? LogWriter(file: fs.openWritable("/s/000001.log", truncate: true), fileNumber: 1, purpose: .writeAheadLog) {
            var b = WriteBatch()
            b.put(Array("apple".utf8), Array("red".utf8))
            b.delete(Array("banana".utf8))
            b.deleteRange(from: Array("c".utf8), to: Array("d".utf8))
            b.sequence = 1
            try? w.add(b.encoded)
            var big = WriteBatch()
            big.put(Array("big".utf8), [UInt8](repeating: 0x61, count: 40_000))
            big.sequence = 4
            try? w.add(big.encoded)
            out.append(("wal", "batches", fs.contents(of: "/s/000001.log") ?? []))
        }
        // MANIFEST: a snapshot edit with files, pointers and tombstones.
        if let w = try? LogWriter(file: fs.openWritable("/s/MANIFEST-000002", truncate: true), fileNumber: 2, purpose: .manifest) {
            var e = VersionEdit()
            e.logNumber = 3
            e.nextFileNumber = 9
            e.lastSequence = 100
            e.addFile(1, FileMetaData(number: 5, size: 4096, smallest: makeInternalKey(Array("a".utf8), 1, 1), largest: makeInternalKey(Array("m".utf8), 7, 1), smallestSequence: 1, largestSequence: 7))
            e.compactPointers = [(1, makeInternalKey(Array("m".utf8), 7, 1))]
            e.addedTombstones = [RangeTombstone(start: Array("x".utf8), end: Array("y".utf8), sequence: 50)]
            try? w.add(e.encode())
            var d = VersionEdit()
            d.deleteFile(1, 5)
            d.removedTombstones = [50]
            try? w.add(d.encode())
            out.append(("manifest", "edits", fs.contents(of: "/s/MANIFEST-000002") ?? []))
        }
        // Tables, one per compression, and their first data block.
        for compression in Compression.allCases {
            var options = TableOptions()
            options.compression = compression
            options.blockSize = 512
            guard let file = try? fs.openWritable("/s/t.sst", truncate: true) else { continue }
            let builder = TableBuilder(file: file, options: options)
            for i in 0..<200 {
                let key = makeInternalKey(Array("key\(1000 + i)".utf8), UInt64(i + 1), i % 9 == 0 ? 0 : 1)
                let value = Array("value-\(i)-abcabcabc".utf8)
                _ = try? key.withUnsafeBytes { k in try value.withUnsafeBytes { try builder.add(k, $0) } }
            }
            _ = try? builder.finish()
            let bytes = fs.contents(of: "/s/t.sst") ?? []
            out.append(("table", "table-\(compression)", bytes))
            if compression == .none {
                var builderBlock = BlockBuilder(restartInterval: 16)
                for i in 0..<40 {
                    let key = makeInternalKey(Array("key\(1000 + i)".utf8), UInt64(i + 1), 1)
                    key.withUnsafeBytes { k in Array("v\(i)".utf8).withUnsafeBytes { builderBlock.add(k, $0) } }
                }
                out.append(("block", "block", builderBlock.finish()))
            }
        }
        return out
    }
}
