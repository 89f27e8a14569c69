import KVStore

/// What SCAN, KEYS, RANGE, RANDOMKEY and DBSIZE walk: the store's keys in order.
protocol KeyCursor: AnyObject {
    var isValid: Bool { get }
    var key: [UInt8] { get }
    func withCurrent<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) rethrows -> R
    func seekToFirst()
    func seekToLast()
    func seek(to key: [UInt8])
    func next()
    func previous()
    func check() throws(KVError)
}

extension KVIterator: KeyCursor {}

/// Inside EXEC, the store's keys as the transaction's own earlier writes have changed them:
/// the store's iterator with every key the transaction wrote, deleted or range-deleted left
/// out, merged with the values the transaction wrote (so `SET a 1` then `KEYS *` in one EXEC
/// lists `a`, as in Redis).
final class TransactionCursor: KeyCursor {
    private let store: KVIterator
    private let writes: TransactionWrites
    /// The transaction's live values within the iterator's bounds, in key order.
    private let mine: [(key: [UInt8], value: [UInt8])]
    private var index = 0
    private var forward = true
    /// The current entry comes from `mine` (else from `store`); nil when not valid.
    private var fromMine: Bool?

    init(store: KVIterator, writes: TransactionWrites, options: ReadOptions, now: UInt64) {
        self.store = store
        self.writes = writes
        self.mine = writes.liveEntries(now: now).filter { entry in
            if let lower = options.lowerBound, entry.key.lexicographicallyPrecedes(lower) { return false }
            if let upper = options.upperBound, !entry.key.lexicographicallyPrecedes(upper) { return false }
            if let prefix = options.prefix, !entry.key.starts(with: prefix) { return false }
            return true
        }
    }

    var isValid: Bool { fromMine != nil }

    var key: [UInt8] {
        switch fromMine {
        case true?: return mine[index].key
        case false?: return store.key
        case nil: return []
        }
    }

    func withCurrent<R, E: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if fromMine == true {
            let entry = mine[index]
            // `withUnsafeBufferPointer` keeps the body's error type (`withUnsafeBytes` would widen it).
            return try entry.key.withUnsafeBufferPointer { (k) throws(E) in
                try entry.value.withUnsafeBufferPointer { (v) throws(E) in try body(UnsafeRawBufferPointer(k), UnsafeRawBufferPointer(v)) }
            }
        }
        return try store.withCurrent(body)
    }

    func check() throws(KVError) { try store.check() }

    /// Moves `store` past keys the transaction has overridden, in the current direction.
    private func settleStore() {
        while store.isValid && writes.overrides(store.key) {
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
            let mineFirst = mine[index].key.lexicographicallyPrecedes(store.key)
            fromMine = forward ? mineFirst : !mineFirst
        }
    }

    /// First index of `mine` with key ≥ `target` (or > with `strictly`).
    private func firstIndex(after target: [UInt8], strictly: Bool) -> Int {
        var lo = 0, hi = mine.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let before = strictly ? !target.lexicographicallyPrecedes(mine[mid].key) : mine[mid].key.lexicographicallyPrecedes(target)
            if before { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func seekToFirst() {
        forward = true
        store.seekToFirst()
        settleStore()
        index = 0
        pick()
    }

    func seekToLast() {
        forward = false
        store.seekToLast()
        settleStore()
        index = mine.count - 1
        pick()
    }

    func seek(to target: [UInt8]) {
        forward = true
        store.seek(to: target)
        settleStore()
        index = firstIndex(after: target, strictly: false)
        pick()
    }

    func next() {
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

    func previous() {
        guard let fromMine else { return }
        if forward {
            // Turn around: both streams to the last key before the current one.
            let current = key
            forward = false
            store.seek(to: current)
            if store.isValid { store.previous() } else { store.seekToLast() }
            while store.isValid && !store.key.lexicographicallyPrecedes(current) { store.previous() }
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
