/// Settings that shape a table file.
package struct TableOptions: Sendable {
    package var blockSize = 4096
    var restartInterval = 16
    package var compression: Compression = .lz4
    var bloomBitsPerKey = 10
    var prefixFilterLength = 0

    init(_ options: Options) {
        blockSize = options.blockSize
        compression = options.compression
        bloomBitsPerKey = options.bloomBitsPerKey
        prefixFilterLength = options.prefixFilterLength
    }

    package init() {}
}

/// Writes a sorted run of internal keys as a table file (docs/FORMATS.md, "Tables"):
///
///     data block ... | filter block | properties block | index block | footer
///
/// each block followed by its 5-byte trailer (compression type, masked CRC32C). Keys must be
/// added in strictly increasing internal-key order. Output is staged in a 64 KiB buffer so a
/// table costs a few dozen `write(2)` calls, not one per block.
///
/// One thread owns a builder (the flush or the compaction writing it), so its state is
/// exempt from dynamic exclusivity checks: `add` runs once per entry written, and the checks
/// cost about 5% of compaction's cycles (measured with perf during overwrite).
package final class TableBuilder {
    let file: WritableFile
    let options: TableOptions
    @exclusivity(unchecked) private var data: BlockBuilder
    @exclusivity(unchecked) private var index: BlockBuilder
    @exclusivity(unchecked) private var keyHashes: [UInt64] = []
    @exclusivity(unchecked) private var lastUserKey: [UInt8] = []
    @exclusivity(unchecked) private var lastPrefixHash: UInt64?
    @exclusivity(unchecked) private var properties = TableProperties()
    @exclusivity(unchecked) private var offset: UInt64 = 0
    @exclusivity(unchecked) private var pending: [UInt8] = []
    @exclusivity(unchecked) private var compressed: [UInt8] = []
    @exclusivity(unchecked) private var handleScratch: [UInt8] = []
    private(set) var finished = false

    package init(file: WritableFile, options: TableOptions) {
        self.file = file
        self.options = options
        data = BlockBuilder(restartInterval: options.restartInterval)
        index = BlockBuilder(restartInterval: 1)
        properties.compression = options.compression
        properties.bloomBitsPerKey = UInt32(options.bloomBitsPerKey)
        properties.prefixFilterLength = UInt32(options.bloomBitsPerKey > 0 ? options.prefixFilterLength : 0)
        pending.reserveCapacity(80 * 1024)
    }

    var entries: UInt64 { properties.entries }

    /// Bytes written so far; the file's size once `finish` returned.
    var fileSize: UInt64 { offset }

    /// Bytes the file will hold so far (written plus buffered, excluding the open block).
    var estimatedFileSize: UInt64 { offset + UInt64(data.estimatedSize) }

    package func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(KVError) {
        precondition(!finished)
        if properties.entries == 0 { properties.smallestKey = Array(key) }
        let user = userKey(key)
        let seq = trailer(key) >> 8
        if properties.entries == 0 || compareBytes(user.baseAddress, user.count, lastUserKey, lastUserKey.count) != 0 {
            if options.bloomBitsPerKey > 0 {
                keyHashes.append(hash64(user))
                let n = options.prefixFilterLength
                if n > 0 && user.count >= n {
                    let h = filterPrefixHash(UnsafeRawBufferPointer(rebasing: user[..<n]))
                    if h != lastPrefixHash {
                        keyHashes.append(h)
                        lastPrefixHash = h
                    }
                }
            }
            lastUserKey.removeAll(keepingCapacity: true)
            lastUserKey.append(contentsOf: user)
        }
        if UInt8(truncatingIfNeeded: trailer(key)) == ValueKind.deletion.rawValue { properties.deletions += 1 }
        properties.entries += 1
        properties.rawKeyBytes += UInt64(key.count)
        properties.rawValueBytes += UInt64(value.count)
        properties.smallestSequence = min(properties.smallestSequence, seq)
        properties.largestSequence = max(properties.largestSequence, seq)
        data.add(key, value)
        if data.estimatedSize >= options.blockSize {
            try flushDataBlock()
        }
    }

    /// Writes the remaining blocks and the footer, syncs and closes the file.
    package func finish() throws(KVError) -> TableProperties {
        precondition(!finished)
        finished = true
        try flushDataBlock()
        properties.largestKey = lastKeyOfTable
        let filter = options.bloomBitsPerKey > 0 ? BloomFilter.build(hashes: keyHashes, bitsPerKey: options.bloomBitsPerKey) : []
        let filterHandle = try filter.withBytes { (bytes) throws(KVError) in try writeBlock(bytes, compressible: false) }
        properties.filterSize = UInt64(filter.count)
        var indexBlock = index.finish()
        properties.indexSize = UInt64(indexBlock.count)
        let propertiesHandle = try properties.encode().withBytes { (bytes) throws(KVError) in try writeBlock(bytes, compressible: false) }
        let indexHandle = try indexBlock.withBytes { (bytes) throws(KVError) in try writeBlock(bytes, compressible: false) }
        indexBlock.removeAll()
        let footer = TableFooter(filter: filterHandle, properties: propertiesHandle, index: indexHandle)
        pending.append(contentsOf: footer.encode())
        offset += UInt64(TableFooter.size)
        try flushPending()
        try file.sync()
        try file.close()
        return properties
    }

    /// Closes without finishing (the caller removes the file).
    func abandon() {
        finished = true
        try? file.close()
    }

    @exclusivity(unchecked) private var lastKeyOfTable: [UInt8] = []

    private func flushDataBlock() throws(KVError) {
        guard !data.isEmpty else { return }
        lastKeyOfTable.removeAll(keepingCapacity: true)
        data.withLastKey { lastKeyOfTable.append(contentsOf: $0) }
        data.finishInPlace()
        properties.rawDataSize += UInt64(data.buffer.count)
        let handle = try data.buffer.withBytes { (bytes) throws(KVError) in try writeBlock(bytes, compressible: true) }
        properties.storedDataSize += handle.size
        properties.dataBlocks += 1
        data.reset()
        handleScratch.removeAll(keepingCapacity: true)
        handle.encode(into: &handleScratch)
        lastKeyOfTable.withUnsafeBytes { k in handleScratch.withUnsafeBytes { v in index.add(k, v) } }
        if pending.count >= 64 * 1024 { try flushPending() }
    }

    /// Appends `contents` (compressed when it saves at least 12.5%) and its trailer.
    private func writeBlock(_ contents: UnsafeRawBufferPointer, compressible: Bool) throws(KVError) -> BlockHandle {
        var type = Compression.none
        compressed.removeAll(keepingCapacity: true)
        if compressible && options.compression != .none {
            let ok = Codec.compress(options.compression, contents, into: &compressed)
            if ok && compressed.count < contents.count - contents.count / 8 {
                type = options.compression
            }
        }
        let handle: BlockHandle
        if type == .none {
            handle = BlockHandle(offset: offset, size: UInt64(contents.count))
            pending.append(contentsOf: contents)
            appendTrailer(contents, type)
        } else {
            handle = BlockHandle(offset: offset, size: UInt64(compressed.count))
            pending.append(contentsOf: compressed)
            compressed.withUnsafeBytes { appendTrailer($0, type) }
        }
        offset += handle.size + UInt64(BlockHandle.trailerSize)
        return handle
    }

    private func appendTrailer(_ stored: UnsafeRawBufferPointer, _ type: Compression) {
        var t = type.rawValue
        let crc = withUnsafeBytes(of: &t) { CRC32C.extend(CRC32C.extend(0, stored), $0) }
        pending.append(type.rawValue)
        pending.appendFixed32(CRC32C.mask(crc))
    }

    private func flushPending() throws(KVError) {
        guard !pending.isEmpty else { return }
        try pending.withBytes { (bytes) throws(KVError) in try file.append(bytes) }
        pending.removeAll(keepingCapacity: true)
    }
}
