/// Where a block lives in a table file: its offset and its size without the 5-byte trailer.
struct BlockHandle: Equatable, Sendable {
    var offset: UInt64
    var size: UInt64

    /// Block trailer: compression type u8 + masked CRC32C u32 (of the block bytes and the type).
    static let trailerSize = 5

    func encode(into out: inout [UInt8]) {
        out.appendVarint64(offset)
        out.appendVarint64(size)
    }

    static func decode(_ reader: inout ByteReader) -> BlockHandle? {
        guard let offset = reader.readVarint64(), let size = reader.readVarint64() else { return nil }
        return BlockHandle(offset: offset, size: size)
    }
}

/// The fixed-size end of every table file (docs/FORMATS.md, "Table footer").
///
///     filter handle (u64 offset, u64 size) | properties handle | index handle
///     format version u32 | masked CRC32C u32 of the preceding 52 bytes | magic u64
struct TableFooter: Equatable, Sendable {
    static let size = 64
    static let magic: UInt64 = 0x4B56_5354_424C_0001  // "KVSTBL" + 0x0001
    static let formatVersion: UInt32 = 1

    var filter: BlockHandle
    var properties: BlockHandle
    var index: BlockHandle

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        for h in [filter, properties, index] {
            out.appendFixed64(h.offset)
            out.appendFixed64(h.size)
        }
        out.appendFixed32(Self.formatVersion)
        out.appendFixed32(CRC32C.mask(CRC32C.checksum(out)))
        out.appendFixed64(Self.magic)
        return out
    }

    /// Parses the last `size` bytes of a table; `fileOffset` locates errors.
    static func decode(_ bytes: [UInt8], file: String, fileOffset: Int64) throws(KVError) -> TableFooter {
        guard bytes.count == size else {
            throw KVError.corruption(file: file, offset: fileOffset, reason: "table footer is \(bytes.count) bytes, expected \(size)")
        }
        return try bytes.withBytes { (raw) throws(KVError) in
            let p = raw.baseAddress!
            guard loadFixed64(p + 56) == magic else {
                throw KVError.corruption(file: file, offset: fileOffset + 56, reason: "bad table magic number (not a KVStore table)")
            }
            let stored = CRC32C.unmask(loadFixed32(p + 52))
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<52])) == stored else {
                throw KVError.corruption(file: file, offset: fileOffset, reason: "table footer checksum mismatch")
            }
            let version = loadFixed32(p + 48)
            guard version == formatVersion else {
                throw KVError.corruption(file: file, offset: fileOffset + 48, reason: "unsupported table format version \(version)")
            }
            func handle(_ i: Int) -> BlockHandle {
                BlockHandle(offset: loadFixed64(p + 16 * i), size: loadFixed64(p + 16 * i + 8))
            }
            return TableFooter(filter: handle(0), properties: handle(1), index: handle(2))
        }
    }
}
