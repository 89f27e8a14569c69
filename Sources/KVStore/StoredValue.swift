/// A value as stored: its bytes and, when it was written with one, its expiry.
public struct StoredValue: Sendable, Equatable {
    /// The value's bytes.
    public var value: [UInt8]
    /// When the value stops being visible, in milliseconds since the Unix epoch on
    /// `Options.clock`; nil when it never expires.
    public var expiresAt: UInt64?

    /// A value and its expiry (nil: none).
    public init(value: [UInt8], expiresAt: UInt64? = nil) {
        self.value = value
        self.expiresAt = expiresAt
    }
}
