/// Merges sorted children into one sorted stream, in both directions.
///
/// Forward it keeps a binary min-heap of child indices (ties broken by child order, so
/// earlier children — newer data — come first). Backward it scans for the largest key (rare
/// and children are few). Switching direction repositions every other child around the
/// current key, as LevelDB's MergingIterator does.
final class MergingIterator: InternalIterator {
    /// Unretained views of `owners`, which keeps the children alive: reading a child through
    /// them costs no retain/release, and this is read several times per step.
    private struct Child {
        unowned(unsafe) let iterator: any InternalIterator
    }

    private let owners: [any InternalIterator]
    private let children: ContiguousArray<Child>
    @exclusivity(unchecked) private var heap: [Int] = []
    @exclusivity(unchecked) private var current = -1
    @exclusivity(unchecked) private var forward = true
    private(set) var error: KVError?
    private var scratch: [UInt8] = []

    init(_ children: [any InternalIterator]) {
        owners = children
        self.children = ContiguousArray(children.map { Child(iterator: $0) })
        heap.reserveCapacity(children.count)
    }

    var isValid: Bool { current >= 0 && error == nil }
    var key: UnsafeRawBufferPointer { children[current].iterator.key }
    var value: UnsafeRawBufferPointer { children[current].iterator.value }
    var maxSequenceHere: UInt64 { children[current].iterator.maxSequenceHere }

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
        children[top].iterator.next()
        if children[top].iterator.isValid {
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
        children[current].iterator.previous()
        noteError(owners[current])
        findLargest()
    }

    /// Moves every child positioned inside [start, end) whose data there is all older than
    /// `sequence` to `end`: a range deletion hides all of it, so it need not be stepped
    /// through. Forward direction only; the merge order is rebuilt afterwards.
    func skipCovered(start: UnsafeRawBufferPointer, end: [UInt8], sequence: UInt64) {
        guard forward else { return }
        var target: [UInt8] = []
        end.withUnsafeBytes { makeInternalKey($0, seekTrailer(maxSequenceNumber), into: &target) }
        var moved = false
        for c in owners where c.isValid {
            let u = userKey(c.key)
            let inside = compareBytes(u.baseAddress, u.count, start.baseAddress, start.count) >= 0
                && end.withUnsafeBytes { compareBytes(u.baseAddress, u.count, $0.baseAddress, $0.count) < 0 }
            if inside && target.withUnsafeBytes({ c.skipForward(to: $0, olderThan: sequence) }) {
                moved = true
            }
        }
        if moved { rebuildHeap() }
    }

    private func saveKey() {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: children[current].iterator.key)
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
            if current < 0 || compareInternalKeys(c.key, children[current].iterator.key) > 0 { current = i }
        }
    }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        let c = compareInternalKeys(children[a].iterator.key, children[b].iterator.key)
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
