/// Merges sorted children into one sorted stream with a binary min-heap of child indices
/// (ties broken by child order, so earlier children — newer data — come first).
final class MergingIterator: InternalIterator {
    private let children: [any InternalIterator]
    private var heap: [Int] = []
    private(set) var error: KVError?

    init(_ children: [any InternalIterator]) {
        self.children = children
        heap.reserveCapacity(children.count)
    }

    var isValid: Bool { !heap.isEmpty && error == nil }
    var key: UnsafeRawBufferPointer { children[heap[0]].key }
    var value: UnsafeRawBufferPointer { children[heap[0]].value }

    func seekToFirst() {
        for c in children { c.seekToFirst() }
        rebuild()
    }

    func seek(_ target: UnsafeRawBufferPointer) {
        for c in children { c.seek(target) }
        rebuild()
    }

    func next() {
        guard let top = heap.first else { return }
        children[top].next()
        if children[top].isValid {
            siftDown(0)
        } else {
            if let e = children[top].error { error = e }
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
        }
    }

    private func rebuild() {
        heap.removeAll(keepingCapacity: true)
        error = nil
        for (i, c) in children.enumerated() {
            if c.isValid {
                heap.append(i)
            } else if let e = c.error {
                error = e
            }
        }
        if heap.count > 1 {
            for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
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
