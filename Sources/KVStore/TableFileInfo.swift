/// One live table file: where it sits in the tree and what it holds.
public struct TableFileInfo: Sendable, Equatable {
    /// The level the table is at (0 the newest).
    public var level: Int
    /// The file number: the file is `NNNNNN.sst` in the store's directory.
    public var number: UInt64
    /// The file's size in bytes.
    public var size: UInt64
    /// The smallest user key the table holds.
    public var smallestKey: [UInt8]
    /// The largest user key the table holds.
    public var largestKey: [UInt8]
    /// The oldest entry's sequence number.
    public var smallestSequence: UInt64
    /// The newest entry's sequence number.
    public var largestSequence: UInt64
}

extension KVStore {
    /// Every live table, level by level (level 0 newest last), with its key range.
    public func tables() throws(KVError) -> [TableFileInfo] {
        guard !engine.isClosed.load(ordering: .acquiring) else { throw .closed }
        let version = engine.memtables.current.version
        var out: [TableFileInfo] = []
        for (level, files) in version.files.enumerated() {
            for f in files {
                out.append(TableFileInfo(
                    level: level, number: f.number, size: f.size,
                    smallestKey: Array(f.smallestUserKey), largestKey: Array(f.largestUserKey),
                    smallestSequence: f.smallestSequence, largestSequence: f.largestSequence))
            }
        }
        return out
    }
}
