/// What a key holds. Each collection type is stored as a tag on its main entry
/// (`StoredValue.tag`); a string has none, so a store written before collections existed
/// reads as all strings.
public enum KeyType: UInt8, Sendable, CaseIterable {
    case string = 0
    case hash = 1
    case set = 2
    case sortedSet = 3
    case list = 4

    /// The name Redis's TYPE command answers.
    public var name: String {
        switch self {
        case .string: return "string"
        case .hash: return "hash"
        case .set: return "set"
        case .sortedSet: return "zset"
        case .list: return "list"
        }
    }

    /// The type named `name` as TYPE and SCAN's TYPE option spell it (any case).
    public init?(name: String) {
        guard let t = KeyType.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = t
    }
}
