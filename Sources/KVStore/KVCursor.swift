/// An ordered cursor over keys and their values: what a `KVIterator` (the store as of one
/// moment) and a `TransactionIterator` (that, with a transaction's own writes merged in) both
/// are, so code that walks keys can take either. Not thread-safe; one per thread.
public protocol KVCursor: AnyObject {
    /// True when positioned on an entry.
    var isValid: Bool { get }
    /// The current key (a copy). Only when `isValid`.
    var key: [UInt8] { get }
    /// The current value (a copy). Only when `isValid`.
    var value: [UInt8] { get }
    /// When the current value expires (ms since the Unix epoch), nil if never.
    var expiresAt: UInt64? { get }
    /// The current value's tag, 0 for none.
    var tag: UInt8 { get }
    /// Calls `body` with views of the current key and value, valid only inside it.
    func withCurrent<R, E: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R
    /// The first key within the bounds.
    func seekToFirst()
    /// The last key within the bounds.
    func seekToLast()
    /// The first key ≥ `key` within the bounds.
    func seek(to key: [UInt8])
    /// The next key; invalid after the last.
    func next()
    /// The previous key; invalid before the first.
    func previous()
    /// Throws the read error that ended the iteration, if any.
    func check() throws(KVError)
}

extension KVIterator: KVCursor {}
