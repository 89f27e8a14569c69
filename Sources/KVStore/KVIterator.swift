/// An ordered cursor over the store's keys, as of one moment (a snapshot, or the moment it
/// was made). Keys come in bytewise order; `next()` and `previous()` move either way.
///
/// ```swift
/// let it = try store.makeIterator(ReadOptions(prefix: Array("user:".utf8)))
/// it.seekToFirst()
/// while it.isValid {
///     print(it.key, it.value)
///     it.next()
/// }
/// try it.check()
/// ```
///
/// The iterator pins the files it reads: compaction does not delete them under it. It is not
/// thread-safe; use one per thread. A read error makes it invalid and is kept in `error`.
public final class KVIterator {
    private let state: ReadState  // pins the memtables and the version's files
    private let snapshot: Snapshot?  // kept alive while the iterator is
    private let iterator: DBIterator

    init(state: ReadState, snapshot: Snapshot?, iterator: DBIterator) {
        self.state = state
        self.snapshot = snapshot
        self.iterator = iterator
    }

    /// True when positioned on an entry.
    public var isValid: Bool { iterator.isValid }

    /// The current key (a copy). Only when `isValid`.
    public var key: [UInt8] { iterator.withCurrent { k, _ in Array(k) } }

    /// The current value (a copy). Only when `isValid`.
    public var value: [UInt8] { iterator.withCurrent { _, v in Array(v) } }

    /// When the current value expires (ms since the Unix epoch on `Options.clock`), or nil if
    /// it never does. Only when `isValid`.
    public var expiresAt: UInt64? {
        let e = iterator.expiresAt
        return e == 0 ? nil : e
    }

    /// The current value's tag (`WriteBatch.put(_:_:expiresAt:tag:)`), 0 when it has none.
    /// Only when `isValid`.
    public var tag: UInt8 { iterator.tag }

    /// Calls `body` with views of the current key and value, without copying them. The views
    /// are valid only inside `body`. Only when `isValid`.
    public func withCurrent<R, E: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try iterator.withCurrent(body)
    }

    /// The first key, within the bounds.
    public func seekToFirst() { iterator.seekToFirst() }

    /// The last key, within the bounds.
    public func seekToLast() { iterator.seekToLast() }

    /// The first key ≥ `key`, within the bounds.
    public func seek(to key: [UInt8]) {
        key.withUnsafeBytes { iterator.seek($0) }
    }

    /// Moves to the next key; invalid after the last one.
    public func next() { iterator.next() }

    /// Moves to the previous key; invalid before the first one.
    public func previous() { iterator.previous() }

    /// The read error that ended the iteration, if any.
    public var error: KVError? { iterator.error }

    /// Throws the read error that ended the iteration, if any.
    public func check() throws(KVError) {
        if let e = iterator.error { throw e }
    }

    /// Hidden entries (overwritten, deleted, outside the snapshot) stepped over so far.
    public var skippedEntries: Int { iterator.skippedEntries }
}

/// The key-value pairs of a range, for `for (key, value) in …` loops. A `for` loop cannot
/// throw, so an error (a damaged block, a store closed before the loop began) ends the loop
/// early and is left in `error`: check it after the loop.
public struct KVEntries: Sequence {
    let make: () throws(KVError) -> KVIterator
    let start: [UInt8]?
    let reverse: Bool
    private let failure = ErrorBox()

    init(start: [UInt8]?, reverse: Bool, make: @escaping () throws(KVError) -> KVIterator) {
        self.start = start
        self.reverse = reverse
        self.make = make
    }

    /// The error that ended the last iteration, if any.
    public var error: KVError? { failure.error }

    /// Walks one view of the range; made by `makeIterator()`.
    public struct Iterator: IteratorProtocol {
        /// Nil when the loop could not begin (the error is in the box).
        let iterator: KVIterator?
        let box: ErrorBox
        let reverse: Bool
        var started = false

        /// The next pair, or nil at the end of the range or at an error (then in `error`).
        public mutating func next() -> (key: [UInt8], value: [UInt8])? {
            guard let iterator else { return nil }
            if started {
                if reverse { iterator.previous() } else { iterator.next() }
            }
            started = true
            guard iterator.isValid else {
                box.error = iterator.error
                return nil
            }
            return iterator.withCurrent { (Array($0), Array($1)) }
        }
    }

    /// A fresh walk over the range, from the sequence's snapshot.
    public func makeIterator() -> Iterator {
        failure.error = nil
        let it: KVIterator
        do {
            it = try make()
        } catch {
            failure.error = error
            return Iterator(iterator: nil, box: failure, reverse: reverse)
        }
        if reverse {
            it.seekToLast()
        } else if let start {
            it.seek(to: start)
        } else {
            it.seekToFirst()
        }
        return Iterator(iterator: it, box: failure, reverse: reverse)
    }

    final class ErrorBox {
        var error: KVError?
    }
}
