/// Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET): `*`, `?`, `[abc]`, `[^a]`, `[a-z]`
/// and `\x` to match a special character literally. Bytewise, as Redis's `stringmatchlen`.
struct Glob: Sendable {
    let pattern: [UInt8]

    init(_ pattern: [UInt8]) {
        self.pattern = pattern
    }

    /// The literal bytes every match starts with: a scan can seek there and stop after.
    var literalPrefix: [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < pattern.count {
            let c = pattern[i]
            switch c {
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["):
                return out
            case UInt8(ascii: "\\"):
                guard i + 1 < pattern.count else { return out }
                out.append(pattern[i + 1])
                i += 2
            default:
                out.append(c)
                i += 1
            }
        }
        return out
    }

    /// True when the pattern is `*` (matches everything).
    var matchesAll: Bool { pattern == [UInt8(ascii: "*")] }

    func matches(_ text: some Collection<UInt8>) -> Bool {
        let s = Array(text)
        return pattern.withUnsafeBufferPointer { p in
            s.withUnsafeBufferPointer { t in Self.match(p[...], t[...], depth: 0) }
        }
    }

    /// Backtracking matcher; `depth` bounds the recursion a hostile pattern of many stars
    /// could otherwise drive (Redis bounds it too, and treats the excess as no match).
    private static func match(_ p: Slice<UnsafeBufferPointer<UInt8>>, _ s: Slice<UnsafeBufferPointer<UInt8>>, depth: Int) -> Bool {
        if depth > 1000 { return false }
        var p = p
        var s = s
        while let c = p.first {
            switch c {
            case UInt8(ascii: "*"):
                while p.first == UInt8(ascii: "*") { p = p.dropFirst() }
                if p.isEmpty { return true }
                var rest = s
                while true {
                    if match(p, rest, depth: depth + 1) { return true }
                    guard !rest.isEmpty else { return false }
                    rest = rest.dropFirst()
                }
            case UInt8(ascii: "?"):
                guard !s.isEmpty else { return false }
                s = s.dropFirst()
                p = p.dropFirst()
            case UInt8(ascii: "["):
                guard let ch = s.first else { return false }
                p = p.dropFirst()
                var negate = false
                if p.first == UInt8(ascii: "^") {
                    negate = true
                    p = p.dropFirst()
                }
                var matched = false
                while let pc = p.first, pc != UInt8(ascii: "]") {
                    if pc == UInt8(ascii: "\\"), p.count >= 2 {
                        p = p.dropFirst()
                        if p.first == ch { matched = true }
                        p = p.dropFirst()
                    } else if p.count >= 3, p[p.startIndex + 1] == UInt8(ascii: "-") {
                        var lo = pc
                        var hi = p[p.startIndex + 2]
                        if lo > hi { swap(&lo, &hi) }
                        if ch >= lo && ch <= hi { matched = true }
                        p = p.dropFirst(3)
                    } else {
                        if pc == ch { matched = true }
                        p = p.dropFirst()
                    }
                }
                p = p.dropFirst()  // the ']' (or nothing, for an unclosed class)
                if negate { matched.toggle() }
                guard matched else { return false }
                s = s.dropFirst()
            case UInt8(ascii: "\\") where p.count >= 2:
                p = p.dropFirst()
                guard s.first == p.first else { return false }
                s = s.dropFirst()
                p = p.dropFirst()
            default:
                guard s.first == c else { return false }
                s = s.dropFirst()
                p = p.dropFirst()
            }
        }
        return s.isEmpty
    }
}
