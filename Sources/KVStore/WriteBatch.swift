/// A group of puts and deletes applied atomically: after a crash either all of them are in
/// the store or none is.
///
/// ```swift
/// var batch = WriteBatch()
/// batch.put(Array("apples".utf8), Array("3".utf8))
/// batch.delete(Array("pears".utf8))
/// try store.write(batch)
/// ```
///
/// Operations apply in the order they were added; a later operation on the same key wins.
public struct WriteBatch: Sendable, Equatable {
    // The WAL record format (docs/FORMATS.md): sequence u64 | count u32 | records, each
    // `kind u8 | key (varint32 length + bytes) | value (same, puts only)`. Building the batch
    // in its final form means the commit path copies it into the log with no re-encoding.
    static let headerSize = 12
    package var encoded: [UInt8]

    /// An empty batch.
    public init() {
        encoded = [UInt8](repeating: 0, count: Self.headerSize)
    }

    init(encoded: [UInt8]) { self.encoded = encoded }

    /// An empty batch with room for `bytes` of records, so a single put or delete builds it
    /// with one allocation.
    init(reservingCapacity bytes: Int) {
        encoded = []
        encoded.reserveCapacity(Self.headerSize + bytes)
        encoded.append(contentsOf: repeatElement(0, count: Self.headerSize))
    }

    /// Number of operations in the batch.
    public var count: Int {
        encoded.withUnsafeBytes { Int(loadFixed32($0.baseAddress! + 8)) }
    }

    /// Whether the batch holds no operation.
    public var isEmpty: Bool { count == 0 }

    /// Bytes the batch occupies in the log.
    public var byteSize: Int { encoded.count }

    /// Stores `value` under `key`.
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        appendPut(key, value, expiresAt: nil)
    }

    /// Stores `value` under `key` until the store's clock reaches `expiresAt` (milliseconds
    /// since the Unix epoch, see `Options.clock`); from then on the key reads as absent and
    /// compaction reclaims it. Nil: no expiry, as `put(_:_:)` (the convention of
    /// `KVStore.put(_:_:expiresAt:)` and `StoredValue.expiresAt`). A moment already past,
    /// 0 included, makes the key read as absent at once.
    public mutating func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) {
        appendPut(key, value, expiresAt: expiresAt)
    }

    /// Stores `value` under `key` with a `tag`: a small number of the application's that the
    /// engine keeps beside the value and returns with it (`StoredValue.tag`,
    /// `KVIterator.tag`) but never interprets; 0 means none. A value with a tag costs nine
    /// bytes more than one without. `expiresAt` as in `put(_:_:expiresAt:)`.
    public mutating func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?, tag: UInt8) {
        appendPut(key, value, expiresAt: expiresAt, tag: tag)
    }

    /// Removes `key` (a no-op for a key that does not exist).
    public mutating func delete(_ key: [UInt8]) {
        appendDelete(key)
    }

    /// The one encoder of a put, for every overload (specialized per key and value type).
    mutating func appendPut(_ key: some Collection<UInt8>, _ value: some Collection<UInt8>, expiresAt: UInt64?, tag: UInt8 = 0) {
        if tag != 0 {
            encoded.append(ValueKind.taggedValue.rawValue)
            encoded.appendLengthPrefixed(key)
            encoded.appendVarint32(UInt32(value.count + taggedPrefixSize))
            encoded.append(tag)
            // As below: no expiry is 0, epoch 0 is 1 ms past it.
            encoded.appendFixed64(expiresAt.map { max($0, 1) } ?? 0)
            encoded.append(contentsOf: value)
        } else if let expiresAt {
            encoded.append(ValueKind.expiringValue.rawValue)
            encoded.appendLengthPrefixed(key)
            encoded.appendVarint32(UInt32(value.count + expiryPrefixSize))
            // 0 is the engine's "no expiry" inside (lookups, iterators): epoch 0 is stored as
            // 1 ms past it, which has passed just the same.
            encoded.appendFixed64(max(expiresAt, 1))
            encoded.append(contentsOf: value)
        } else {
            encoded.append(ValueKind.value.rawValue)
            encoded.appendLengthPrefixed(key)
            encoded.appendLengthPrefixed(value)
        }
        setCount(count + 1)
    }

    mutating func appendDelete(_ key: some Collection<UInt8>) {
        encoded.append(ValueKind.deletion.rawValue)
        encoded.appendLengthPrefixed(key)
        setCount(count + 1)
    }

    /// Removes every key in [`start`, `end`) — one record however many keys that is. A nil
    /// `end` removes every key from `start` on, however large: the record needs no last key,
    /// so nothing has to be read first. An empty range (`start` ≥ `end`) removes nothing.
    public mutating func deleteRange(from start: [UInt8], to end: [UInt8]?) {
        if let end {
            encoded.append(ValueKind.rangeDeletion.rawValue)
            encoded.appendLengthPrefixed(start)
            encoded.appendLengthPrefixed(end)
        } else {
            encoded.append(ValueKind.rangeDeletionToEnd.rawValue)
            encoded.appendLengthPrefixed(start)
        }
        setCount(count + 1)
    }

    /// Stores UTF-8 `value` under UTF-8 `key`.
    public mutating func put(_ key: String, _ value: String) {
        put(Array(key.utf8), Array(value.utf8))
    }

    /// Removes UTF-8 `key`.
    public mutating func delete(_ key: String) {
        delete(Array(key.utf8))
    }

    /// Removes every operation.
    public mutating func removeAll() {
        encoded.removeAll(keepingCapacity: true)
        encoded.append(contentsOf: repeatElement(0, count: Self.headerSize))
    }

    // MARK: Internal

    /// A batch from a log record another store committed (replication's stream): applied by
    /// `KVStore.write`, which validates every operation before applying any. Nil when shorter
    /// than a record header.
    package init?(record: [UInt8]) {
        guard record.count >= Self.headerSize else { return nil }
        encoded = record
    }

    package var sequence: UInt64 {
        get { encoded.withUnsafeBytes { loadFixed64($0.baseAddress!) } }
        set { encoded.withUnsafeMutableBytes { storeFixed64($0.baseAddress!, newValue) } }
    }

    mutating func setCount(_ n: Int) {
        encoded.withUnsafeMutableBytes { storeFixed32($0.baseAddress! + 8, UInt32(n)) }
    }

    /// Appends `other`'s operations after this batch's (group commit merges followers'
    /// batches this way; a server merges its clients' writes).
    public mutating func append(contentsOf other: WriteBatch) {
        let n = count + other.count
        encoded.append(contentsOf: other.encoded[Self.headerSize...])
        setCount(n)
    }

    /// Visits each operation of a batch already known to be well formed (one built by this
    /// type): a single pass with no error paths.
    static func forEachValidated(
        _ encoded: UnsafeRawBufferPointer,
        _ body: (ValueKind, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) {
        var reader = ByteReader(encoded, offset: headerSize)
        while let tag = reader.readByte(), let kind = ValueKind(rawValue: tag), let key = reader.readLengthPrefixed() {
            var value = UnsafeRawBufferPointer(start: nil, count: 0)
            if kind.hasValue {
                guard let v = reader.readLengthPrefixed() else { return }
                value = v
            }
            body(kind, key, value)
        }
    }

    /// Decodes and visits each operation; throws `KVError.corruption` (located at `file` and
    /// `offset`) if the encoding is inconsistent, before visiting anything.
    package static func forEach(
        _ encoded: UnsafeRawBufferPointer, file: String, offset: Int64,
        _ body: (ValueKind, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(KVError) -> Void
    ) throws(KVError) {
        guard encoded.count >= headerSize else {
            throw KVError.corruption(file: file, offset: offset, reason: "write batch shorter than its header (\(encoded.count) bytes)")
        }
        let declared = Int(loadFixed32(encoded.baseAddress! + 8))
        // Validate fully first: a batch is applied all-or-nothing.
        for pass in 0..<2 {
            var reader = ByteReader(encoded, offset: headerSize)
            var seen = 0
            while !reader.isAtEnd {
                guard let tag = reader.readByte(), let kind = ValueKind(rawValue: tag) else {
                    throw KVError.corruption(file: file, offset: offset, reason: "write batch: unknown record tag")
                }
                guard let key = reader.readLengthPrefixed() else {
                    throw KVError.corruption(file: file, offset: offset, reason: "write batch: bad key length")
                }
                var value = UnsafeRawBufferPointer(start: nil, count: 0)
                if kind.hasValue {
                    guard let v = reader.readLengthPrefixed() else {
                        throw KVError.corruption(file: file, offset: offset, reason: "write batch: bad value length")
                    }
                    guard kind != .expiringValue || v.count >= expiryPrefixSize else {
                        throw KVError.corruption(file: file, offset: offset, reason: "write batch: expiring value shorter than its expiry")
                    }
                    guard kind != .taggedValue || v.count >= taggedPrefixSize else {
                        throw KVError.corruption(file: file, offset: offset, reason: "write batch: tagged value shorter than its tag and expiry")
                    }
                    value = v
                }
                seen += 1
                if pass == 1 { try body(kind, key, value) }
            }
            guard seen == declared else {
                throw KVError.corruption(file: file, offset: offset, reason: "write batch declares \(declared) records but holds \(seen)")
            }
        }
    }
}
