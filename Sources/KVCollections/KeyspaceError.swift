import KVStore

/// Every error the keyspace layer throws.
public enum KeyspaceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key holds another type than the operation needs (Redis's WRONGTYPE).
    case wrongType
    /// A stored record does not decode: what and where.
    case corruption(key: [UInt8], reason: String)
    /// The store's format is not one this version reads, or cannot be brought to it.
    case unsupportedFormat(String)
    /// An argument the operation cannot take (a NaN score, a count out of range …).
    case invalidArgument(String)
    /// The engine's error.
    case store(KVError)

    /// What went wrong, in one line.
    public var description: String {
        switch self {
        case .wrongType: return "WRONGTYPE Operation against a key holding the wrong kind of value"
        case let .corruption(key, reason):
            return "corruption at key \(String(decoding: key.prefix(64), as: UTF8.self).debugDescription): \(reason)"
        case .unsupportedFormat(let what): return "unsupported keyspace format: \(what)"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        case .store(let e): return e.description
        }
    }

    /// A non-blocking read or write that would have waited.
    public var wouldBlock: Bool { self == .store(.wouldBlock) }
}
