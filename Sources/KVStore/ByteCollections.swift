// Keys and values from any collection of bytes — `Data`, `ArraySlice<UInt8>`, a string's
// `utf8` view, SwiftNIO's `ByteBuffer.readableBytesView` — without first copying them into an
// `[UInt8]`. Contiguous collections are read in place; others are gathered once. Values come
// back as `[UInt8]`, or as a `String` where the caller asks for one.

extension KVStore {
    /// The value stored under `key`, or nil.
    public func get(_ key: some Collection<UInt8>, options: ReadOptions = ReadOptions()) throws(KVError) -> [UInt8]? {
        try withBytes(of: key) { (key) throws(KVError) in try read(key, options)?.value }
    }

    /// The value and expiry stored under `key`, or nil.
    public func lookup(_ key: some Collection<UInt8>, options: ReadOptions = ReadOptions()) throws(KVError) -> StoredValue? {
        try withBytes(of: key) { (key) throws(KVError) in try lookup(key, options) }
    }

    /// The value stored under the UTF-8 bytes of `key`, decoded as UTF-8 (invalid sequences
    /// become U+FFFD), or nil.
    public func string(forKey key: String, options: ReadOptions = ReadOptions()) throws(KVError) -> String? {
        try get(key.utf8, options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Stores `value` under `key`, replacing any previous value; nil `expiresAt`: no expiry
    /// (see `put(_:_:expiresAt:options:)`).
    public func put(
        _ key: some Collection<UInt8>, _ value: some Collection<UInt8>, expiresAt: UInt64? = nil,
        options: WriteOptions = WriteOptions()
    ) throws(KVError) {
        try check(key: key, value: value)
        var batch = WriteBatch(reservingCapacity: 20 + key.count + value.count)
        batch.put(key, value, expiresAt: expiresAt)
        try engine.write(batch, sync: options.sync, nonBlocking: options.nonBlocking)
    }

    /// Removes `key`.
    public func delete(_ key: some Collection<UInt8>, options: WriteOptions = WriteOptions()) throws(KVError) {
        try check(key: key, value: EmptyCollection<UInt8>())
        var batch = WriteBatch(reservingCapacity: 6 + key.count)
        batch.delete(key)
        try engine.write(batch, sync: options.sync, nonBlocking: options.nonBlocking)
    }

    private func withBytes<R>(
        of bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) throws(KVError) -> R
    ) throws(KVError) -> R {
        // The standard library's closure is `rethrows` (untyped): the error leaves it by hand.
        var failure: KVError?
        let done = bytes.withContiguousStorageIfAvailable { buffer -> R? in
            do throws(KVError) {
                return try body(UnsafeRawBufferPointer(buffer))
            } catch {
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        if let done, let result = done { return result }
        return try Array(bytes).withBytes(body)
    }
}

extension WriteBatch {
    /// Stores `value` under `key` (nil `expiresAt`: no expiry), from any collection of bytes.
    public mutating func put(_ key: some Collection<UInt8>, _ value: some Collection<UInt8>, expiresAt: UInt64? = nil) {
        if let expiresAt {
            encoded.append(ValueKind.expiringValue.rawValue)
            encoded.appendLengthPrefixed(key)
            encoded.appendVarint32(UInt32(value.count + expiryPrefixSize))
            encoded.appendFixed64(max(expiresAt, 1))
            encoded.append(contentsOf: value)
        } else {
            encoded.append(ValueKind.value.rawValue)
            encoded.appendLengthPrefixed(key)
            encoded.appendLengthPrefixed(value)
        }
        setCount(count + 1)
    }

    /// Removes `key`, from any collection of bytes.
    public mutating func delete(_ key: some Collection<UInt8>) {
        encoded.append(ValueKind.deletion.rawValue)
        encoded.appendLengthPrefixed(key)
        setCount(count + 1)
    }
}

extension [UInt8] {
    mutating func appendLengthPrefixed(_ bytes: some Collection<UInt8>) {
        appendVarint32(UInt32(bytes.count))
        append(contentsOf: bytes)
    }
}
