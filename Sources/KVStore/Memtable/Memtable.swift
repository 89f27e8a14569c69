/// The in-memory write buffer: every write lands here (after the WAL) until it is flushed.
///
/// One writer (the commit leader) adds entries; any thread may read at any time without a
/// lock. Visibility is controlled by the caller's sequence number: entries from a group still
/// being inserted carry sequences above the published last sequence, so readers skip them.
final class Memtable: Sendable {
    let list: SkipList

    /// `writeBufferSize` sizes the arena blocks, so small memtables do not reserve a megabyte.
    init(writeBufferSize: Int = 4 << 20) {
        list = SkipList(arenaBlockSize: min(Arena.defaultBlockSize, max(4096, writeBufferSize / 4)))
    }

    enum Lookup {
        case found([UInt8])
        case deleted
        case absent
    }

    /// Bytes of entries and skip-list nodes, the figure that triggers a flush.
    var approximateMemoryUsage: Int { list.arena.memoryUsage }

    /// Bytes of memory the memtable holds (whole arena blocks).
    var reservedBytes: Int { list.arena.reservedBytes }

    var isEmpty: Bool { list.first == nil }

    func add(sequence: UInt64, kind: ValueKind, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        list.insert(userKey: key, trailer: packTrailer(sequence, kind.rawValue), value: value)
    }

    /// The newest entry for `key` with a sequence ≤ `sequence`.
    func get(_ key: UnsafeRawBufferPointer, sequence: UInt64) -> Lookup {
        guard let node = list.seek(key, trailer: seekTrailer(sequence)) else { return .absent }
        let ik = SkipList.internalKey(node)
        let userCount = ik.count - 8
        guard compareBytes(ik.baseAddress, userCount, key.baseAddress, key.count) == 0 else { return .absent }
        let trailer = loadFixed64(ik.baseAddress! + userCount)
        switch ValueKind(rawValue: UInt8(truncatingIfNeeded: trailer)) {
        case .value: return .found(Array(SkipList.value(node)))
        case .deletion: return .deleted
        case nil: return .absent
        }
    }
}
