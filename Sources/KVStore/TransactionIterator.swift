/// The keys as a transaction sees them: the store's (as of the transaction's snapshot, or the
/// latest) with every key the transaction wrote, deleted or range-deleted taken from its own
/// writes instead. Made by `Transaction.makeIterator(_:)`; the transaction's writes after
/// that are not seen. Not thread-safe.
public final class TransactionIterator: KVCursor {
    private let store: KVIterator
    /// The transaction's writes within the iterator's bounds.
    private let writes: IndexedBatch.View
    /// The transaction's live values within the iterator's bounds, in key order.
    private let mine: [(key: [UInt8], value: StoredValue)]
    private var index = 0
    private var forward = true
    /// The current entry comes from `mine` (else from `store`); nil when not valid.
    private var fromMine: Bool?

    init(store: KVIterator, writes: IndexedBatch.View) {
        self.store = store
        self.writes = writes
        self.mine = writes.live
    }

    public var isValid: Bool { fromMine != nil }

    public var key: [UInt8] {
        switch fromMine {
        case true?: return mine[index].key
        case false?: return store.key
        case nil: return []
        }
    }

    public var value: [UInt8] {
        switch fromMine {
        case true?: return mine[index].value.value
        case false?: return store.value
        case nil: return []
        }
    }

    public var expiresAt: UInt64? { fromMine == true ? mine[index].value.expiresAt : store.expiresAt }

    public var tag: UInt8 { fromMine == true ? mine[index].value.tag : store.tag }

    public func withCurrent<R, E: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if fromMine == true {
            let entry = mine[index]
            // `withUnsafeBufferPointer` keeps the body's error type (`withUnsafeBytes` would widen it).
            return try entry.key.withUnsafeBufferPointer { (k) throws(E) in
                try entry.value.value.withUnsafeBufferPointer { (v) throws(E) in try body(UnsafeRawBufferPointer(k), UnsafeRawBufferPointer(v)) }
            }
        }
        return try store.withCurrent(body)
    }

    public func check() throws(KVError) { try store.check() }

    /// Moves `store` past keys the transaction decides, in the current direction.
    private func settleStore() {
        while store.isValid && store.withCurrent({ k, _ in writes.overrides(k) }) {
            if forward { store.next() } else { store.previous() }
        }
    }

    /// The current entry: the smaller of the two heads going forward, the larger going back.
    private func pick() {
        let storeValid = store.isValid
        let mineValid = index >= 0 && index < mine.count
        switch (storeValid, mineValid) {
        case (false, false): fromMine = nil
        case (true, false): fromMine = false
        case (false, true): fromMine = true
        case (true, true):
            let mineFirst = bytesPrecede(mine[index].key, store.key)
            fromMine = forward ? mineFirst : !mineFirst
        }
    }

    /// First index of `mine` with key ≥ `target` (or > with `strictly`).
    private func firstIndex(after target: [UInt8], strictly: Bool) -> Int {
        var lo = 0, hi = mine.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let before = strictly ? !bytesPrecede(target, mine[mid].key) : bytesPrecede(mine[mid].key, target)
            if before { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public func seekToFirst() {
        forward = true
        store.seekToFirst()
        settleStore()
        index = 0
        pick()
    }

    public func seekToLast() {
        forward = false
        store.seekToLast()
        settleStore()
        index = mine.count - 1
        pick()
    }

    public func seek(to target: [UInt8]) {
        forward = true
        store.seek(to: target)
        settleStore()
        index = firstIndex(after: target, strictly: false)
        pick()
    }

    public func next() {
        guard let fromMine else { return }
        if !forward {
            // Turn around: both streams to the first key after the current one.
            let current = key
            forward = true
            store.seek(to: current)
            if store.isValid && store.key == current { store.next() }
            settleStore()
            index = firstIndex(after: current, strictly: true)
        } else if fromMine {
            index += 1
        } else {
            store.next()
            settleStore()
        }
        pick()
    }

    public func previous() {
        guard let fromMine else { return }
        if forward {
            // Turn around: both streams to the last key before the current one.
            let current = key
            forward = false
            store.seek(to: current)
            if store.isValid { store.previous() } else { store.seekToLast() }
            while store.isValid && !bytesPrecede(store.key, current) { store.previous() }
            settleStore()
            index = firstIndex(after: current, strictly: false) - 1
        } else if fromMine {
            index -= 1
        } else {
            store.previous()
            settleStore()
        }
        pick()
    }
}
