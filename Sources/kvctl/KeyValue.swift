import KVCollections
import KVStore

/// What a key holds, as kvctl shows it: a string, or a collection with its elements (a
/// hash's fields and values, a set's members, a sorted set's members and scores in score
/// order, a list's elements in order).
enum KeyValue {
    case string(StoredValue)
    case collection(KeyType, [Element], expiresAt: UInt64?)

    struct Element {
        var member: [UInt8]
        /// A hash field's value.
        var value: [UInt8]?
        /// A sorted-set member's score.
        var score: Double?
    }

    var type: KeyType {
        switch self {
        case .string: return .string
        case .collection(let t, _, _): return t
        }
    }

    var expiresAt: UInt64? {
        switch self {
        case .string(let v): return v.expiresAt
        case .collection(_, _, let e): return e
        }
    }
}

extension RecordFormat {
    /// A key and what it holds (nil: the key alone). A string prints as before; a collection
    /// as its type and elements — text `key (hash, 2) => {f: v, …}`, tsv the same after a tab,
    /// JSON with a `type` and the elements as an object (hash), an array of members (set,
    /// list) or of [member, score] pairs (sorted set).
    func line(key: [UInt8], _ value: KeyValue?, encoding: ByteEncoding) -> String {
        guard let value else { return line(key: key, value: nil, encoding: encoding) }
        guard case .collection(let type, let elements, let expiresAt) = value else {
            if case .string(let v) = value { return line(key: key, value: v.value, expiresAt: v.expiresAt, encoding: encoding) }
            return line(key: key, value: nil, encoding: encoding)
        }
        let k = encoding.encode(key)
        switch self {
        case .text, .tsv:
            let body = elements.map { e -> String in
                let m = encoding.encode(e.member)
                if let v = e.value { return m + ": " + encoding.encode(v) }
                if let s = e.score { return m + ": " + Self.score(s) }
                return m
            }
            let (open, close) = type == .hash || type == .sortedSet ? ("{", "}") : (type == .list ? ("[", "]") : ("{", "}"))
            var s = k + (self == .tsv ? "\t" : " ") + "(\(type.name), \(elements.count))" + (self == .tsv ? "\t" : " => ")
                + open + body.joined(separator: ", ") + close
            if let e = expiresAt { s += self == .tsv ? "\t\(e)" : "  (expires at \(e) ms)" }
            return s
        case .json:
            var s = "{\"key\":" + jsonString(k) + ",\"type\":" + jsonString(type.name) + ",\"value\":"
            switch type {
            case .hash:
                s += "{" + elements.map { jsonString(encoding.encode($0.member)) + ":" + jsonString(encoding.encode($0.value ?? [])) }.joined(separator: ",") + "}"
            case .sortedSet:
                s += "[" + elements.map { "[" + jsonString(encoding.encode($0.member)) + "," + Self.score($0.score ?? 0) + "]" }.joined(separator: ",") + "]"
            default:
                s += "[" + elements.map { jsonString(encoding.encode($0.member)) }.joined(separator: ",") + "]"
            }
            if let e = expiresAt { s += ",\"expires_at\":\(e)" }
            return s + "}"
        }
    }

    /// A score as JSON and people read it (inf spelled out as a string JSON can carry).
    static func score(_ s: Double) -> String {
        if s.isInfinite { return s < 0 ? "\"-inf\"" : "\"inf\"" }
        if s == s.rounded(), abs(s) < 1e15 { return String(Int64(s)) }
        return String(s)
    }
}
