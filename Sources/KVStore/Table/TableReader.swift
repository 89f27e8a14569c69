/// An open table: its file, footer, parsed index and filter, and properties. Immutable and
/// shared by all readers (the table cache keeps it open); data blocks come through the block
/// cache.
///
/// With a `mapping`, foreground reads take blocks from it: the checksum is verified and the
/// block decompressed straight from the mapped pages, and an uncompressed block is used in
/// place. Without one, or for background reads (compaction, which reads every block once and
/// should not grow the process's resident pages), a block is read with one `pread` into a
/// buffer that becomes the block itself when it is stored uncompressed.
package final class TableReader: Sendable {
    let file: any ReadableFile
    let mapping: MappedRegion?
    let fileNumber: UInt64
    let fileSize: UInt64
    let index: Block
    /// The index as integers for point reads; nil for an index it cannot summarise.
    let indexSearch: IndexSearch?
    let filter: [UInt8]
    package let properties: TableProperties
    let blockCache: BlockCache?
    /// The store's row cache; nil for a table read outside a store.
    let rowCache: RowCache?
    let statistics: EngineStatistics?

    var path: String { file.path }

    package typealias Lookup = LookupResult

    /// A table read on its own, outside any store (no block cache, no statistics): the
    /// fuzz targets and the tests open one this way.
    package convenience init(file: any ReadableFile, fileNumber: UInt64, fileSize: UInt64, mapping: MappedRegion? = nil) throws(KVError) {
        try self.init(file: file, fileNumber: fileNumber, fileSize: fileSize, blockCache: nil, statistics: nil, mapping: mapping)
    }

    init(file: any ReadableFile, fileNumber: UInt64, fileSize: UInt64, blockCache: BlockCache?, rowCache: RowCache? = nil,
         statistics: EngineStatistics?, mapping: MappedRegion? = nil) throws(KVError) {
        self.file = file
        self.mapping = mapping
        self.fileNumber = fileNumber
        self.fileSize = fileSize
        self.blockCache = blockCache
        self.rowCache = rowCache
        self.statistics = statistics
        let path = file.path
        guard fileSize >= UInt64(TableFooter.size) else {
            throw KVError.corruption(file: path, offset: 0, reason: "table is \(fileSize) bytes, shorter than its footer: truncated")
        }
        let footerOffset = Int64(fileSize) - Int64(TableFooter.size)
        let footerBytes = try file.read(at: footerOffset, count: TableFooter.size)
        let footer = try TableFooter.decode(footerBytes, file: path, fileOffset: footerOffset)
        for (name, h) in [("filter", footer.filter), ("properties", footer.properties), ("index", footer.index)] {
            guard h.offset <= UInt64(footerOffset), h.size <= UInt64(footerOffset) - h.offset,
                  h.offset + h.size + UInt64(BlockHandle.trailerSize) <= UInt64(footerOffset)
            else {
                throw KVError.corruption(file: path, offset: footerOffset, reason: "footer's \(name) handle points outside the table")
            }
        }
        index = try Block(contents: Self.readBlock(file, footer.index), file: path, fileOffset: Int64(footer.index.offset))
        indexSearch = IndexSearch(index)
        filter = try Self.readBlock(file, footer.filter)
        properties = try TableProperties.decode(
            Self.readBlock(file, footer.properties), file: path, offset: Int64(footer.properties.offset))
    }

    /// Reads, checks and decompresses a block read once at open (index, filter, properties).
    static func readBlock(_ file: any ReadableFile, _ handle: BlockHandle) throws(KVError) -> [UInt8] {
        let size = Int(handle.size)
        let total = size + BlockHandle.trailerSize
        let raw = try file.read(at: Int64(handle.offset), count: total)
        guard raw.count == total else {
            throw KVError.corruption(file: file.path, offset: Int64(handle.offset), reason: "block cut short: \(raw.count) of \(total) bytes (truncated table)")
        }
        return try raw.withBytes { (r) throws(KVError) in
            let type = try checkTrailer(r, size: size, verify: true, offset: handle.offset, path: file.path)
            return try Codec.decompress(type, UnsafeRawBufferPointer(rebasing: r[0..<size]), file: file.path, offset: Int64(handle.offset))
        }
    }

    /// A data block, from the cache when possible. `mapped: false` reads with `pread` even when
    /// the table is mapped.
    func dataBlock(_ handle: BlockHandle, verify: Bool = true, fillCache: Bool = true, nonBlocking: Bool = false,
                   mapped: Bool = true) throws(KVError) -> Block {
        let key = BlockCacheKey(file: fileNumber, offset: handle.offset)
        // A mapped table written without compression has its blocks used in place, never
        // cached: skip the lookup (5% of a like-for-like seekrandom went to the cache's hash
        // and lock for blocks that could not be there).
        let inPlace = mapped && mapping != nil && properties.compression == .none
        if !inPlace, let cache = blockCache, let cached = cache.get(key) { return cached }
        let block: Block
        if mapped, let mapping {
            block = try mappedBlock(handle, mapping, verify: verify, nonBlocking: nonBlocking)
        } else {
            block = try readDataBlock(handle, verify: verify, nonBlocking: nonBlocking)
        }
        if fillCache, !block.isBorrowed, let cache = blockCache { cache.insert(key, block, charge: block.charge) }
        return block
    }

    private func mappedBlock(_ handle: BlockHandle, _ mapping: MappedRegion, verify: Bool, nonBlocking: Bool) throws(KVError) -> Block {
        let offset = Int(handle.offset)
        let size = Int(handle.size)
        let total = size + BlockHandle.trailerSize
        guard offset <= mapping.bytes.count, total <= mapping.bytes.count - offset else {
            throw KVError.corruption(file: path, offset: Int64(handle.offset),
                                     reason: "block cut short: \(max(0, mapping.bytes.count - offset)) of \(total) bytes (truncated table)")
        }
        if nonBlocking && !mapping.isResident(offset..<offset + total) { throw KVError.wouldBlock }
        let raw = UnsafeRawBufferPointer(rebasing: mapping.bytes[offset..<offset + total])
        let type = try Self.checkTrailer(raw, size: size, verify: verify, offset: handle.offset, path: path)
        let contents = UnsafeRawBufferPointer(rebasing: raw[0..<size])
        if type == .none {
            return try Block(borrowing: contents, owner: mapping, file: path, fileOffset: Int64(handle.offset))
        }
        let (storage, count) = try Codec.decompressToAllocation(type, contents, file: path, offset: Int64(handle.offset))
        return try Block(taking: storage, count: count, file: path, fileOffset: Int64(handle.offset))
    }

    /// One `pread` into a fresh buffer; an uncompressed block keeps that buffer.
    private func readDataBlock(_ handle: BlockHandle, verify: Bool, nonBlocking: Bool) throws(KVError) -> Block {
        let size = Int(handle.size)
        let total = size + BlockHandle.trailerSize
        let buffer = BlockMemory.allocate(total)
        let raw = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<total])
        var owned = true
        defer { if owned { BlockMemory.recycle(buffer) } }
        let n: Int
        if nonBlocking {
            guard let got = try file.readIfCached(at: Int64(handle.offset), into: raw) else { throw KVError.wouldBlock }
            n = got
        } else {
            n = try file.read(at: Int64(handle.offset), into: raw)
        }
        guard n == total else {
            throw KVError.corruption(file: path, offset: Int64(handle.offset), reason: "block cut short: \(n) of \(total) bytes (truncated table)")
        }
        let type = try Self.checkTrailer(UnsafeRawBufferPointer(raw), size: size, verify: verify, offset: handle.offset, path: path)
        if type == .none {
            owned = false
            return try Block(taking: buffer, count: size, file: path, fileOffset: Int64(handle.offset))
        }
        let (storage, count) = try Codec.decompressToAllocation(
            type, UnsafeRawBufferPointer(rebasing: raw[0..<size]), file: path, offset: Int64(handle.offset))
        return try Block(taking: storage, count: count, file: path, fileOffset: Int64(handle.offset))
    }

    /// Verifies the checksum (if asked) of `raw` = block ++ trailer and returns its compression.
    private static func checkTrailer(_ raw: UnsafeRawBufferPointer, size: Int, verify: Bool, offset: UInt64, path: String) throws(KVError) -> Compression {
        let base = raw.baseAddress!
        if verify {
            let stored = CRC32C.unmask(loadFixed32(base + size + 1))
            let actual = CRC32C.checksum(UnsafeRawBufferPointer(start: base, count: size + 1))
            guard stored == actual else {
                throw KVError.corruption(file: path, offset: Int64(offset), reason: "block checksum mismatch")
            }
        }
        let typeByte = base.load(fromByteOffset: size, as: UInt8.self)
        guard let type = Compression(rawValue: typeByte) else {
            throw KVError.corruption(file: path, offset: Int64(offset), reason: "unknown block compression type \(typeByte)")
        }
        return type
    }

    func decodeHandle(_ value: UnsafeRawBufferPointer) throws(KVError) -> BlockHandle {
        var r = ByteReader(value)
        guard let h = BlockHandle.decode(&r), h.offset < fileSize, h.size < fileSize else {
            throw KVError.corruption(file: file.path, offset: index.fileOffset, reason: "bad block handle in index")
        }
        return h
    }

    /// The newest entry for the user key of `lookupKey` (an internal key whose trailer is
    /// `seekTrailer(sequence)`) at or below that sequence, in this table. `largestSequence`
    /// is the largest sequence in the table as the version records it: a read at or above it
    /// may store what it finds in the row cache (`RowCache` says why that is safe).
    package func get(
        _ lookupKey: UnsafeRawBufferPointer, userKeyHash: UInt64, verify: Bool = true, fillCache: Bool = true,
        nonBlocking: Bool = false, largestSequence: UInt64 = maxSequenceNumber
    ) throws(KVError) -> Lookup {
        if !filter.isEmpty {
            let may = filter.withUnsafeBytes { BloomFilter.mayContain($0, hash: userKeyHash) }
            if !may {
                statistics?.bloomNegatives.add(1, ordering: .relaxed)
                return .absent
            }
        }
        guard let rows = rowCache, rows.isEnabled, lookupKey.count >= 8 else {
            return try search(lookupKey, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking)
        }
        let readSequence = trailer(lookupKey) >> 8
        let user = userKey(lookupKey)
        let slot = RowCacheKey(file: fileNumber, keyHash: userKeyHash)
        if let hit = rows.get(slot), hit.sequence <= readSequence, hit.holds(user) { return hit.lookup }
        let result = try search(lookupKey, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking)
        if verify, fillCache, readSequence >= largestSequence, let entry = RowCacheEntry(userKey: user, result) {
            rows.insert(slot, entry, charge: entry.charge)
        }
        return result
    }

    /// `get` past the filter and the row cache: the index, the data block, the entry.
    private func search(
        _ lookupKey: UnsafeRawBufferPointer, verify: Bool, fillCache: Bool, nonBlocking: Bool
    ) throws(KVError) -> Lookup {
        let handle: BlockHandle
        if let search = indexSearch, lookupKey.count >= 8 {
            guard let i = search.find(lookupKey, in: index) else { throw index.corruption("bad entry in index") }
            guard i < index.restartCount else { return absentAfterFilter() }
            guard let value = IndexSearch.value(i, in: index) else { throw index.corruption("bad entry at restart \(i)") }
            handle = try decodeHandle(value)
        } else {
            var indexCursor = BlockCursor(index)
            indexCursor.seek(lookupKey)
            if let e = indexCursor.error { throw e }
            guard indexCursor.isValid else { return absentAfterFilter() }
            handle = try decodeHandle(indexCursor.value)
        }
        let block = try dataBlock(handle, verify: verify, fillCache: fillCache, nonBlocking: nonBlocking)
        // The entry is decoded on the stack; a key too long for that goes through a cursor.
        var failure: KVError?
        let seeked: Lookup? = withUnsafeTemporaryAllocation(byteCount: BlockPointSeek.scratchSize, alignment: 8) { scratch in
            switch BlockPointSeek.seek(block, lookupKey, scratch: scratch) {
            case .found(let key, let value):
                do throws(KVError) {
                    return try entry(key, value, lookupKey, handle)
                } catch {
                    failure = error
                    return nil
                }
            case .end: return .absent
            case .keyTooLong: return nil
            case .corrupt(let error):
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        let result: Lookup
        if let seeked {
            result = seeked
        } else {
            var cursor = BlockCursor(block)
            cursor.seek(lookupKey)
            if let e = cursor.error { throw e }
            guard cursor.isValid else { return absentAfterFilter() }
            let value = cursor.value
            result = try cursor.withKey { (k) throws(KVError) in try entry(k, value, lookupKey, handle) }
        }
        if case .absent = result { return absentAfterFilter() }
        return result
    }

    /// What the entry at or after `lookupKey` says of its user key: absent when it is another
    /// key's entry.
    private func entry(
        _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ lookupKey: UnsafeRawBufferPointer, _ handle: BlockHandle
    ) throws(KVError) -> Lookup {
        let u = userKey(key)
        let wanted = userKey(lookupKey)
        guard compareBytes(u.baseAddress, u.count, wanted.baseAddress, wanted.count) == 0 else { return .absent }
        let t = trailer(key)
        let kind = UInt8(truncatingIfNeeded: t)
        switch ValueKind(rawValue: kind) {
        case .value, .expiringValue, .taggedValue:
            guard let (offset, expiresAt, tag) = valueParts(kind, value) else {
                throw KVError.corruption(file: path, offset: Int64(handle.offset), reason: "block holds an expiring or tagged value shorter than its expiry prefix")
            }
            return .found(Array(value[offset...]), sequence: t >> 8, expiresAt: expiresAt, tag: tag)
        case .deletion: return .deleted(sequence: t >> 8)
        case .rangeDeletion, .rangeDeletionToEnd, nil: return .absent
        }
    }

    private func absentAfterFilter() -> Lookup {
        if !filter.isEmpty { statistics?.bloomFalsePositives.add(1, ordering: .relaxed) }
        return .absent
    }

    /// `mapped: false` for background reads (see the type's comment).
    package func makeIterator(verify: Bool = true, fillCache: Bool = true, mapped: Bool = true) -> TableIterator {
        TableIterator(table: self, verify: verify, fillCache: fillCache, mapped: mapped)
    }
}

/// Walks a table: the index block picks data blocks, a cursor walks each one.
///
/// The cursors are stored inline (not optional) and exempt from dynamic exclusivity checks:
/// this is the innermost loop of every scan and compaction, and the iterator is confined to
/// one thread by contract, so the checks and the struct copies an optional forces would only
/// cost time (measured: a third of readseq's cycles went to retain/release and access checks).
package final class TableIterator: InternalIterator {
    private(set) var table: TableReader
    private let verify: Bool
    private let fillCache: Bool
    private let mapped: Bool
    @exclusivity(unchecked) private var indexCursor: BlockCursor
    @exclusivity(unchecked) private var data: BlockCursor
    @exclusivity(unchecked) private var hasData = false
    private(set) var error: KVError?

    init(table: TableReader, verify: Bool, fillCache: Bool, mapped: Bool) {
        self.table = table
        self.verify = verify
        self.fillCache = fillCache
        self.mapped = mapped
        indexCursor = BlockCursor(table.index)
        data = BlockCursor(table.index)  // a placeholder until a data block is loaded
    }

    /// Points this iterator at another table of the same kind (unpositioned), reusing its
    /// cursors' buffers: a level iterator moves between tables on every seek.
    func reset(to table: TableReader) {
        self.table = table
        indexCursor.reset(to: table.index)
        data.reset(to: table.index)
        hasData = false
        error = nil
    }

    package var isValid: Bool { hasData && data.isValid }
    /// The data cursor's own key buffer: valid until this iterator moves.
    var key: UnsafeRawBufferPointer { data.keyBytes }
    var value: UnsafeRawBufferPointer { data.value }
    var maxSequenceHere: UInt64 { table.properties.largestSequence }

    package func seekToFirst() {
        indexCursor.seekToFirst()
        loadBlock { $0.seekToFirst() }
        skipEmptyBlocks(forward: true)
    }

    package func seekToLast() {
        indexCursor.seekToLast()
        loadBlock { $0.seekToLast() }
        skipEmptyBlocks(forward: false)
    }

    func seek(_ target: UnsafeRawBufferPointer) {
        // The index's integer summary finds the block without the restart search's cache
        // misses (a fifth of a 10M-key seekrandom's cycles went to that search).
        if let i = table.indexSearch?.find(target, in: table.index) {
            indexCursor.seek(toRestart: i)
        } else {
            indexCursor.seek(target)
        }
        loadBlock { $0.seek(target) }
        skipEmptyBlocks(forward: true)
    }

    package func next() {
        guard hasData else { return }
        data.next()
        skipEmptyBlocks(forward: true)
    }

    package func previous() {
        guard hasData else { return }
        data.previous()
        skipEmptyBlocks(forward: false)
    }

    private func loadBlock(_ position: (inout BlockCursor) -> Void) {
        hasData = false
        if let e = indexCursor.error { error = e }
        guard indexCursor.isValid, error == nil else { return }
        do {
            let block = try table.dataBlock(try table.decodeHandle(indexCursor.value), verify: verify, fillCache: fillCache, mapped: mapped)
            data.reset(to: block)
            position(&data)
            hasData = true
        } catch let e {
            error = e
        }
    }

    /// Steps over exhausted (or empty) blocks in the direction of travel.
    private func skipEmptyBlocks(forward: Bool) {
        while hasData && !data.isValid {
            if let e = data.error {
                error = e
                hasData = false
                return
            }
            if forward {
                indexCursor.next()
                loadBlock { $0.seekToFirst() }
            } else {
                indexCursor.previous()
                loadBlock { $0.seekToLast() }
            }
        }
    }
}
