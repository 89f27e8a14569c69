/// Facts about a table, stored in its properties block (docs/FORMATS.md, "Properties block").
package struct TableProperties: Sendable, Equatable {
    package var entries: UInt64 = 0
    package var deletions: UInt64 = 0
    package var rawKeyBytes: UInt64 = 0
    package var rawValueBytes: UInt64 = 0
    package var dataBlocks: UInt64 = 0
    /// Bytes of data blocks before and after compression.
    package var rawDataSize: UInt64 = 0
    package var storedDataSize: UInt64 = 0
    package var filterSize: UInt64 = 0
    package var indexSize: UInt64 = 0
    package var smallestKey: [UInt8] = []  // internal keys
    package var largestKey: [UInt8] = []
    package var smallestSequence: UInt64 = .max
    package var largestSequence: UInt64 = 0
    package var compression: Compression = .none
    package var bloomBitsPerKey: UInt32 = 0
    /// When > 0, the filter also holds every key's first `prefixFilterLength` bytes.
    package var prefixFilterLength: UInt32 = 0

    package init() {}

    static let version: UInt8 = 1

    func encode() -> [UInt8] {
        var out: [UInt8] = [Self.version]
        for v in [entries, deletions, rawKeyBytes, rawValueBytes, dataBlocks, rawDataSize, storedDataSize,
                  filterSize, indexSize, smallestSequence, largestSequence] {
            out.appendVarint64(v)
        }
        out.appendLengthPrefixed(smallestKey)
        out.appendLengthPrefixed(largestKey)
        out.append(compression.rawValue)
        out.appendVarint32(bloomBitsPerKey)
        out.appendVarint32(prefixFilterLength)
        return out
    }

    static func decode(_ bytes: [UInt8], file: String, offset: Int64) throws(KVError) -> TableProperties {
        try bytes.withBytes { (raw) throws(KVError) in
            var r = ByteReader(raw)
            func bad(_ what: String) -> KVError {
                .corruption(file: file, offset: offset, reason: "properties block: \(what)")
            }
            guard let version = r.readByte(), version == Self.version else { throw bad("unknown version") }
            var values: [UInt64] = []
            for _ in 0..<11 {
                guard let v = r.readVarint64() else { throw bad("truncated") }
                values.append(v)
            }
            guard let smallest = r.readLengthPrefixed(), let largest = r.readLengthPrefixed(),
                  let c = r.readByte(), let compression = Compression(rawValue: c), let bits = r.readVarint32(),
                  let prefixLength = r.readVarint32()
            else { throw bad("truncated") }
            var p = TableProperties()
            (p.entries, p.deletions, p.rawKeyBytes, p.rawValueBytes, p.dataBlocks, p.rawDataSize) =
                (values[0], values[1], values[2], values[3], values[4], values[5])
            (p.storedDataSize, p.filterSize, p.indexSize, p.smallestSequence, p.largestSequence) =
                (values[6], values[7], values[8], values[9], values[10])
            p.smallestKey = Array(smallest)
            p.largestKey = Array(largest)
            p.compression = compression
            p.bloomBitsPerKey = bits
            p.prefixFilterLength = prefixLength
            return p
        }
    }
}
