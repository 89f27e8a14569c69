import Synchronization

/// The in-memory write buffer: every write lands here (after the WAL) until it is flushed.
///
/// One writer (the commit leader) adds entries; any thread may read at any time without a
/// lock. Visibility is controlled by the caller's sequence number: entries from a group still
/// being inserted carry sequences above the published last sequence, so readers skip them.
final class Memtable: Sendable {
    let list: SkipList
    /// User keys added (not range deletions), so point reads of other keys skip the list.
    private let filter: MemtableFilter
    /// Range deletions written to this memtable (rare; a lock is cheap enough).
    private let tombstones = Mutex<[RangeTombstone]>([])
    private let newestSequence = Atomic<UInt64>(0)
    private let anyTombstones = Atomic<Bool>(false)

    /// The last sequence when this memtable became the active one: every entry in it is
    /// newer. (An optimistic commit learns from it whether the memtables hold every write
    /// since its snapshot.)
    let startSequence: UInt64

    /// `writeBufferSize` sizes the arena blocks, so small memtables do not reserve a megabyte.
    init(writeBufferSize: Int = 4 << 20, startSequence: UInt64 = 0) {
        self.startSequence = startSequence
        list = SkipList(arenaBlockSize: min(Arena.defaultBlockSize, max(4096, writeBufferSize / 4)))
        filter = MemtableFilter(writeBufferSize: writeBufferSize)
    }

    typealias Lookup = LookupResult

    /// Bytes of entries and skip-list nodes, the figure that triggers a flush.
    var approximateMemoryUsage: Int { list.arena.memoryUsage }

    /// Bytes of memory the memtable holds (whole arena blocks).
    var reservedBytes: Int { list.arena.reservedBytes }

    var isEmpty: Bool { list.first == nil && rangeTombstones.isEmpty }

    /// The largest sequence added (0 when empty).
    var maxSequence: UInt64 { newestSequence.load(ordering: .acquiring) }

    var rangeTombstones: [RangeTombstone] {
        anyTombstones.load(ordering: .acquiring) ? tombstones.locked { $0 } : []
    }

    var hasRangeTombstones: Bool { anyTombstones.load(ordering: .acquiring) }

    func add(sequence: UInt64, kind: ValueKind, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if kind.isRangeDeletion {
            let t = RangeTombstone(start: Array(key), end: kind == .rangeDeletion ? Array(value) : nil, sequence: sequence)
            tombstones.locked { $0.append(t) }
            anyTombstones.store(true, ordering: .releasing)
        } else {
            filter.add(hash64(key))  // before the entry can be seen (see MemtableFilter)
            list.insert(userKey: key, trailer: packTrailer(sequence, kind.rawValue), value: value)
        }
        newestSequence.store(sequence, ordering: .releasing)
    }

    /// Adds a group's entries, numbered from `firstSequence` in batch order. A large group is
    /// inserted in key order (the skip list's finger makes each search walk only the gap from
    /// the previous key); sequence numbers keep each entry's place in time whatever the order.
    func add(batch encoded: UnsafeRawBufferPointer, count: Int, firstSequence: UInt64, scratch: inout [SortedEntry]) {
        var sequence = firstSequence
        guard count >= Self.sortThreshold else {
            WriteBatch.forEachValidated(encoded) { kind, key, value in
                add(sequence: sequence, kind: kind, key: key, value: value)
                sequence += 1
            }
            return
        }
        scratch.removeAll(keepingCapacity: true)
        WriteBatch.forEachValidated(encoded) { kind, key, value in
            if kind.isRangeDeletion {
                add(sequence: sequence, kind: kind, key: key, value: value)
            } else {
                scratch.append(SortedEntry(key: key, value: value, sequence: sequence, kind: kind))
            }
            sequence += 1
        }
        scratch.sort { a, b in
            let c = compareBytes(a.key.baseAddress, a.key.count, b.key.baseAddress, b.key.count)
            return c != 0 ? c < 0 : a.sequence > b.sequence
        }
        for e in scratch {
            filter.add(hash64(e.key))  // before the entry can be seen (see MemtableFilter)
            list.insert(userKey: e.key, trailer: packTrailer(e.sequence, e.kind.rawValue), value: e.value, ascending: true)
        }
        if sequence > firstSequence { newestSequence.store(sequence - 1, ordering: .releasing) }
    }

    /// Groups smaller than this go in batch order (sorting would cost more than it saves).
    static let sortThreshold = 16

    /// One entry of a group, pointing into the group's batch.
    struct SortedEntry {
        let key: UnsafeRawBufferPointer
        let value: UnsafeRawBufferPointer
        let sequence: UInt64
        let kind: ValueKind
    }

    /// The newest entry for `key` with a sequence ≤ `sequence`. `hash` is `hash64(key)`.
    func get(_ key: UnsafeRawBufferPointer, hash: UInt64, sequence: UInt64) -> Lookup {
        guard filter.mayContain(hash) else { return .absent }
        guard let node = list.seek(key, trailer: seekTrailer(sequence)) else { return .absent }
        let ik = SkipList.internalKey(node)
        let userCount = ik.count - 8
        guard compareBytes(ik.baseAddress, userCount, key.baseAddress, key.count) == 0 else { return .absent }
        let trailer = loadFixed64(ik.baseAddress! + userCount)
        let kind = UInt8(truncatingIfNeeded: trailer)
        if kind == ValueKind.deletion.rawValue { return .deleted(sequence: trailer >> 8) }
        // Batches are validated before they reach a memtable, so a value's prefix is there.
        let stored = SkipList.value(node)
        guard let (offset, expiresAt, tag) = valueParts(kind, stored) else { return .absent }
        return .found(Array(stored[offset...]), sequence: trailer >> 8, expiresAt: expiresAt, tag: tag)
    }
}
