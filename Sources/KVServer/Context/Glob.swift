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

    /// Iterative matching with one backtrack point (the last `*`): O(pattern × text) at
    /// worst, so a pattern like `*a*a*a*a*b` cannot make a scan take exponential time.
    func matches(_ text: some Collection<UInt8>) -> Bool {
        let s = Array(text)
        let p = pattern
        var pi = 0, si = 0
        var star = -1, starText = 0
        while si < s.count {
            if pi < p.count {
                if p[pi] == UInt8(ascii: "*") {
                    star = pi
                    starText = si
                    pi += 1
                    continue
                }
                if let length = token(p, pi, matching: s[si]) {
                    pi += length
                    si += 1
                    continue
                }
            }
            // Mismatch: let the last star take one more character, or fail.
            guard star >= 0 else { return false }
            pi = star + 1
            starText += 1
            si = starText
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// The length of the pattern token at `i` if it matches `ch` (one character), else nil.
    private func token(_ p: [UInt8], _ i: Int, matching ch: UInt8) -> Int? {
        switch p[i] {
        case UInt8(ascii: "?"):
            return 1
        case UInt8(ascii: "\\") where i + 1 < p.count:
            return p[i + 1] == ch ? 2 : nil
        case UInt8(ascii: "["):
            var j = i + 1
            var negate = false
            if j < p.count && p[j] == UInt8(ascii: "^") {
                negate = true
                j += 1
            }
            var matched = false
            while j < p.count && p[j] != UInt8(ascii: "]") {
                if p[j] == UInt8(ascii: "\\") && j + 1 < p.count {
                    if p[j + 1] == ch { matched = true }
                    j += 2
                } else if j + 2 < p.count && p[j + 1] == UInt8(ascii: "-") && p[j + 2] != UInt8(ascii: "]") {
                    let lo = min(p[j], p[j + 2]), hi = max(p[j], p[j + 2])
                    if ch >= lo && ch <= hi { matched = true }
                    j += 3
                } else {
                    if p[j] == ch { matched = true }
                    j += 1
                }
            }
            let length = min(j + 1, p.count) - i  // through the ']' (or the end, unclosed)
            return matched != negate ? length : nil
        default:
            return p[i] == ch ? 1 : nil
        }
    }
}
