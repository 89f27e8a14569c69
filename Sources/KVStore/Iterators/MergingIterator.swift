/// Merges sorted children into one sorted stream, in both directions.
///
/// Forward it keeps a binary min-heap of child indices (ties broken by child order, so
/// earlier children — newer data — come first). Backward it scans for the largest key (rare
/// and children are few). Switching direction repositions every other child around the
/// current key, as LevelDB's MergingIterator does.
final class MergingIterator: InternalIterator {
    /// Unretained views of `owners`, which keeps the children alive. The common concrete
    /// types are called through `Unmanaged` with a guaranteed reference: calling through an
    /// `any InternalIterator` (even `unowned(unsafe)`) retains and releases the child on every
    /// call, and the heap reads keys several times per step (measured: a quarter of readseq's
    /// cycles).
    private enum Child {
        case table(Unmanaged<TableIterator>)
        case level(Unmanaged<LevelIterator>)
        case memtable(Unmanaged<MemtableIterator>)
        /// Anything else (a nested merge in tests): the plain, retaining call.
        case other(any InternalIterator)

        init(_ iterator: any InternalIterator) {
            switch iterator {
            case let t as TableIterator: self = .table(.passUnretained(t))
            case let l as LevelIterator: self = .level(.passUnretained(l))
            case let m as MemtableIterator: self = .memtable(.passUnretained(m))
            default: self = .other(iterator)
            }
        }

        @inline(__always) var key: UnsafeRawBufferPointer {
            switch self {
            case .table(let u): return u._withUnsafeGuaranteedRef { $0.key }
            case .level(let u): return u._withUnsafeGuaranteedRef { $0.key }
            case .memtable(let u): return u._withUnsafeGuaranteedRef { $0.key }
            case .other(let it): return it.key
            }
        }

        @inline(__always) var value: UnsafeRawBufferPointer {
            switch self {
            case .table(let u): return u._withUnsafeGuaranteedRef { $0.value }
            case .level(let u): return u._withUnsafeGuaranteedRef { $0.value }
            case .memtable(let u): return u._withUnsafeGuaranteedRef { $0.value }
            case .other(let it): return it.value
            }
        }

        @inline(__always) var isValid: Bool {
            switch self {
            case .table(let u): return u._withUnsafeGuaranteedRef { $0.isValid }
            case .level(let u): return u._withUnsafeGuaranteedRef { $0.isValid }
            case .memtable(let u): return u._withUnsafeGuaranteedRef { $0.isValid }
            case .other(let it): return it.isValid
            }
        }

        @inline(__always) func next() {
            switch self {
            case .table(let u): u._withUnsafeGuaranteedRef { $0.next() }
            case .level(let u): u._withUnsafeGuaranteedRef { $0.next() }
            case .memtable(let u): u._withUnsafeGuaranteedRef { $0.next() }
            case .other(let it): it.next()
            }
        }

        @inline(__always) func previous() {
            switch self {
            case .table(let u): u._withUnsafeGuaranteedRef { $0.previous() }
            case .level(let u): u._withUnsafeGuaranteedRef { $0.previous() }
            case .memtable(let u): u._withUnsafeGuaranteedRef { $0.previous() }
            case .other(let it): it.previous()
            }
        }

        var maxSequenceHere: UInt64 {
            switch self {
            case .table(let u): return u._withUnsafeGuaranteedRef { $0.maxSequenceHere }
            case .level(let u): return u._withUnsafeGuaranteedRef { $0.maxSequenceHere }
            case .memtable(let u): return u._withUnsafeGuaranteedRef { $0.maxSequenceHere }
            case .other(let it): return it.maxSequenceHere
            }
        }
    }

    private let owners: [any InternalIterator]
    private let children: ContiguousArray<Child>
    @exclusivity(unchecked) private var heap: [Int] = []
    @exclusivity(unchecked) private var current = -1
    @exclusivity(unchecked) private var forward = true
    private(set) var error: KVError?
    @exclusivity(unchecked) private var scratch: [UInt8] = []

    init(_ children: [any InternalIterator]) {
        owners = children
        self.children = ContiguousArray(children.map { Child($0) })
        heap.reserveCapacity(children.count)
    }

    var isValid: Bool { current >= 0 && error == nil }
    var key: UnsafeRawBufferPointer { children[current].key }
    var value: UnsafeRawBufferPointer { children[current].value }
    var maxSequenceHere: UInt64 { children[current].maxSequenceHere }

    func seekToFirst() {
        for c in owners { c.seekToFirst() }
        forward = true
        rebuildHeap()
    }

    func seekToLast() {
        for c in owners { c.seekToLast() }
        forward = false
        findLargest()
    }

    func seek(_ target: UnsafeRawBufferPointer) {
        for c in owners { c.seek(target) }
        forward = true
        rebuildHeap()
    }

    func next() {
        guard current >= 0 else { return }
        if !forward {
            // Every other child moves to its first entry after the current key.
            saveKey()
            scratch.withUnsafeBytes { k in
                for (i, c) in owners.enumerated() where i != current {
                    c.seek(k)
                    if c.isValid && compareInternalKeys(c.key, k) == 0 { c.next() }
                }
            }
            forward = true
            rebuildHeap()  // the current child is still at the current key, so it is on top
        }
        let top = heap[0]
        children[top].next()
        if children[top].isValid {
            siftDown(0)
        } else {
            noteError(owners[top])
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
        }
        current = heap.first ?? -1
    }

    func previous() {
        guard current >= 0 else { return }
        if forward {
            // Every other child moves to its last entry before the current key.
            saveKey()
            scratch.withUnsafeBytes { k in
                for (i, c) in owners.enumerated() where i != current {
                    c.seek(k)
                    if c.isValid { c.previous() } else { c.seekToLast() }
                }
            }
            forward = false
        }
        children[current].previous()
        noteError(owners[current])
        findLargest()
    }

    /// Moves every child positioned inside [start, end) whose data there is all older than
    /// `sequence` to `end` (nil: past its last entry): a range deletion hides all of it, so it need not be stepped
    /// through. Forward direction only; the merge order is rebuilt afterwards.
    func skipCovered(start: UnsafeRawBufferPointer, end: [UInt8]?, sequence: UInt64) {
        guard forward else { return }
        var target: [UInt8] = []
        end?.withUnsafeBytes { makeInternalKey($0, seekTrailer(maxSequenceNumber), into: &target) }
        var moved = false
        for c in owners where c.isValid {
            let u = userKey(c.key)
            let inside = compareBytes(u.baseAddress, u.count, start.baseAddress, start.count) >= 0
                && (end?.withUnsafeBytes { compareBytes(u.baseAddress, u.count, $0.baseAddress, $0.count) < 0 } ?? true)
            guard inside else { continue }
            let skipped = end == nil
                ? c.skipForward(to: nil, olderThan: sequence)
                : target.withUnsafeBytes { c.skipForward(to: $0, olderThan: sequence) }
            if skipped { moved = true }
        }
        if moved { rebuildHeap() }
    }

    private func saveKey() {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: children[current].key)
    }

    private func noteError(_ c: any InternalIterator) {
        if !c.isValid, let e = c.error, error == nil { error = e }
    }

    private func rebuildHeap() {
        heap.removeAll(keepingCapacity: true)
        for (i, c) in owners.enumerated() {
            if c.isValid { heap.append(i) } else { noteError(c) }
        }
        if heap.count > 1 {
            for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        }
        current = heap.first ?? -1
    }

    private func findLargest() {
        current = -1
        for (i, c) in owners.enumerated() {
            guard c.isValid else {
                noteError(c)
                continue
            }
            // Sequence numbers are unique, so two sources never hold an equal internal key.
            if current < 0 || compareInternalKeys(c.key, children[current].key) > 0 { current = i }
        }
    }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        let c = compareInternalKeys(children[a].key, children[b].key)
        return c < 0 || (c == 0 && a < b)
    }

    private func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            guard l < n else { return }
            var m = l
            if l + 1 < n && less(heap[l + 1], heap[l]) { m = l + 1 }
            guard less(heap[m], heap[i]) else { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
