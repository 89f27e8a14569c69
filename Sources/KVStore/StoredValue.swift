/// A value as stored: its bytes and, when it was written with them, its expiry and tag.
public struct StoredValue: Sendable, Equatable {
    /// The value's bytes.
    public var value: [UInt8]
    /// When the value stops being visible, in milliseconds since the Unix epoch on
    /// `Options.clock`; nil when it never expires.
    public var expiresAt: UInt64?
    /// The application's tag (`WriteBatch.put(_:_:expiresAt:tag:)`); 0 when it has none.
    public var tag: UInt8

    /// A value, its expiry (nil: none) and its tag (0: none).
    public init(value: [UInt8], expiresAt: UInt64? = nil, tag: UInt8 = 0) {
        self.value = value
        self.expiresAt = expiresAt
        self.tag = tag
    }
}

extension StoredValue {
    /// A value as the engine's read path finds it, where an expiry of 0 means none.
    init(found: (value: [UInt8], expiresAt: UInt64, tag: UInt8)) {
        self.init(value: found.value, expiresAt: found.expiresAt == 0 ? nil : found.expiresAt, tag: found.tag)
    }
}
