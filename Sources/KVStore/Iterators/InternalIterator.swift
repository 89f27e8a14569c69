/// A cursor over internal keys in order: memtables, tables and merges of them all speak it.
///
/// `key` (an internal key) and `value` stay valid until the iterator next moves. After any
/// positioning call, `isValid` false means either the end or an error; `error` tells which.
protocol InternalIterator: AnyObject {
    var isValid: Bool { get }
    func seekToFirst()
    /// Positions at the first entry with internal key ≥ `target`.
    func seek(_ target: UnsafeRawBufferPointer)
    func next()
    var key: UnsafeRawBufferPointer { get }
    var value: UnsafeRawBufferPointer { get }
    var error: KVError? { get }
}

/// A growable byte buffer at a stable address, for iterators that must hand out a key that
/// outlives the block cursor's scratch space.
struct StableBytes {
    private(set) var pointer: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = capacity
        pointer = .allocate(byteCount: capacity, alignment: 8)
    }

    func deallocate() { pointer.deallocate() }

    mutating func set(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > capacity {
            pointer.deallocate()
            capacity = max(bytes.count, capacity * 2)
            pointer = .allocate(byteCount: capacity, alignment: 8)
        }
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
        count = bytes.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
}

/// Iterates a memtable's skip list. Keys and values point into the memtable's arena, which
/// the iterator keeps alive.
final class MemtableIterator: InternalIterator {
    private let memtable: Memtable
    private var node: UnsafeRawPointer?

    init(_ memtable: Memtable) {
        self.memtable = memtable
    }

    var isValid: Bool { node != nil }
    var error: KVError? { nil }
    func seekToFirst() { node = memtable.list.first }

    func seek(_ target: UnsafeRawBufferPointer) {
        node = memtable.list.seek(userKey(target), trailer: trailer(target))
    }

    func next() {
        if let n = node { node = SkipList.next(n, 0) }
    }

    var key: UnsafeRawBufferPointer { SkipList.internalKey(node!) }
    var value: UnsafeRawBufferPointer { SkipList.value(node!) }
}
