/// A RESP2 reply.
public enum RESPValue: Hashable, Sendable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    /// A bulk string; nil is the null bulk string (a missing key).
    case bulk([UInt8]?)
    /// An array; nil is the null array.
    case array([RESPValue]?)
    // RESP3 (after HELLO 3):
    /// `_`: the one null of RESP3, for a missing key and a missing array alike.
    case nullValue
    /// `%`: a map, as its keys and values alternating (key, value, key, value …).
    case map([RESPValue])
    /// `~`: a set.
    case set([RESPValue])
    /// `,`: a double, as the server wrote it.
    case double(String)
    /// `#`: a boolean.
    case boolean(Bool)
    /// `=`: text with its three-letter format (`txt`, `mkd`).
    case verbatim(format: String, text: [UInt8])
    /// `(`: an integer too big for 64 bits, in decimal.
    case bigNumber(String)
    /// `>`: an out-of-band push.
    case push([RESPValue])

    /// A bulk string holding the UTF-8 bytes of `s`.
    public static func text(_ s: String) -> RESPValue { .bulk(Array(s.utf8)) }
    /// The null bulk string (`$-1`).
    public static let null = RESPValue.bulk(nil)
    /// The `+OK` reply.
    public static let ok = RESPValue.simple("OK")

    /// The text of a status, an error or a bulk string (bytes read as UTF-8).
    public var string: String? {
        switch self {
        case .simple(let s), .error(let s): return s
        case .bulk(let b?), .verbatim(_, let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// The bytes of a bulk string.
    public var bytes: [UInt8]? {
        if case .bulk(let b) = self { return b }
        return nil
    }

    /// The elements of an array (empty for anything else).
    public var elements: [RESPValue] {
        switch self {
        case .array(let a?), .set(let a), .map(let a), .push(let a): return a
        default: return []
        }
    }

    /// Whether the reply is an error (`-…`).
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// The reply as redis-cli would print it.
    public var description: String {
        switch self {
        case .simple(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let n): return ":\(n)"
        case .bulk(nil): return "(nil)"
        case .bulk(let b?): return "\"\(String(decoding: b, as: UTF8.self))\""
        case .array(nil): return "*(nil)"
        case .array(let a?): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .nullValue: return "_"
        case .map(let a): return "%{" + a.map(\.description).joined(separator: ", ") + "}"
        case .set(let a): return "~{" + a.map(\.description).joined(separator: ", ") + "}"
        case .double(let d): return "," + d
        case .boolean(let b): return b ? "#t" : "#f"
        case .verbatim(let f, let t): return "=\(f):\(String(decoding: t, as: UTF8.self))"
        case .bigNumber(let n): return "(" + n
        case .push(let a): return ">[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
