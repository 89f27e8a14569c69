/// One live table file: where it sits in the tree and what it holds.
public struct TableFileInfo: Sendable, Equatable {
    public var level: Int
    /// The file number: the file is `NNNNNN.sst` in the store's directory.
    public var number: UInt64
    public var size: UInt64
    public var smallestKey: [UInt8]
    public var largestKey: [UInt8]
    public var smallestSequence: UInt64
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
