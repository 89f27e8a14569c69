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
        try writePut(key, value, expiresAt: expiresAt, options: options)
    }

    /// Removes `key`.
    public func delete(_ key: some Collection<UInt8>, options: WriteOptions = WriteOptions()) throws(KVError) {
        try writeDelete(key, options: options)
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
        appendPut(key, value, expiresAt: expiresAt)
    }

    /// Removes `key`, from any collection of bytes.
    public mutating func delete(_ key: some Collection<UInt8>) {
        appendDelete(key)
    }
}

extension [UInt8] {
    mutating func appendLengthPrefixed(_ bytes: some Collection<UInt8>) {
        appendVarint32(UInt32(bytes.count))
        append(contentsOf: bytes)
    }
}
