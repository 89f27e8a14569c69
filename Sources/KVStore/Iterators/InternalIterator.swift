/// A cursor over internal keys in order: memtables, tables and merges of them all speak it.
///
/// `key` (an internal key) and `value` stay valid until the iterator next moves. After any
/// positioning call, `isValid` false means either the end or an error; `error` tells which.
protocol InternalIterator: AnyObject {
    var isValid: Bool { get }
    func seekToFirst()
    func seekToLast()
    /// Positions at the first entry with internal key ≥ `target`.
    func seek(_ target: UnsafeRawBufferPointer)
    func next()
    func previous()
    var key: UnsafeRawBufferPointer { get }
    var value: UnsafeRawBufferPointer { get }
    var error: KVError? { get }
    /// No entry from here on in this source (file, memtable) has a larger sequence; lets a
    /// scan jump over a range deletion that is newer than everything the source holds.
    var maxSequenceHere: UInt64 { get }
    /// If everything this source holds from here on (as far as it can tell cheaply) is older
    /// than `sequence`, moves forward toward `target` (an internal key) and returns true.
    /// A source made of several files moves at most to the start of its next file, whose
    /// data may be newer.
    func skipForward(to target: UnsafeRawBufferPointer?, olderThan sequence: UInt64) -> Bool
}

extension InternalIterator {
    /// Moves to `target` (nil: past the end) if everything here is older than `sequence`.
    func skipForward(to target: UnsafeRawBufferPointer?, olderThan sequence: UInt64) -> Bool {
        guard isValid, maxSequenceHere < sequence else { return false }
        if let target {
            seek(target)
        } else {
            seekToLast()
            next()
        }
        return true
    }
}

/// Iterates a memtable's skip list. Keys and values point into the memtable's arena, which
/// the iterator keeps alive. Confined to one thread like every iterator, so its position is
/// exempt from dynamic exclusivity checks.
final class MemtableIterator: InternalIterator {
    private let memtable: Memtable
    @exclusivity(unchecked) private var node: UnsafeRawPointer?

    init(_ memtable: Memtable) {
        self.memtable = memtable
    }

    var isValid: Bool { node != nil }
    var error: KVError? { nil }
    var maxSequenceHere: UInt64 { memtable.maxSequence }
    func seekToFirst() { node = memtable.list.first }
    func seekToLast() { node = memtable.list.last }

    func seek(_ target: UnsafeRawBufferPointer) {
        node = memtable.list.seek(userKey(target), trailer: trailer(target))
    }

    func next() {
        if let n = node { node = SkipList.next(n, 0) }
    }

    func previous() {
        guard let n = node else { return }
        let ik = SkipList.internalKey(n)
        node = memtable.list.seekBefore(userKey(ik), trailer: trailer(ik))
    }

    var key: UnsafeRawBufferPointer { SkipList.internalKey(node!) }
    var value: UnsafeRawBufferPointer { SkipList.value(node!) }
}
