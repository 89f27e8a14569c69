import KVCollections

#if canImport(Glibc)
import Glibc
#endif

/// How the sorted-set commands read scores and ranges, with Redis's rules and error texts.
enum SortedSetArguments {
    /// A score as Redis's `string2d` reads one: what `strtod` accepts whole (inf, -inf and
    /// friends included), without leading space, not NaN, not out of range (an overflow, or an
    /// underflow to zero).
    static func double(_ arg: [UInt8]) -> Double? {
        guard !arg.isEmpty, arg.count < 1024, !arg.contains(0) else { return nil }
        let first = arg[0]
        guard first != 0x20, !(first >= 0x09 && first <= 0x0d) else { return nil }
        var text = arg
        text.append(0)
        errno = 0
        let (value, consumed): (Double, Int) = text.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                guard let base = chars.baseAddress else { return (0, -1) }
                var end: UnsafeMutablePointer<CChar>?
                let v = strtod(base, &end)
                return (v, end.map { $0 - base } ?? -1)
            }
        }
        guard consumed == arg.count, !value.isNaN else { return nil }
        if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
        return value
    }

    static func score(_ arg: [UInt8]) throws(CommandError) -> Double {
        guard let v = double(arg) else { throw .notFloat }
        return v
    }

    /// `min`/`max` of a score range: a score, `(score` (exclusive), `-inf`, `+inf`.
    static func scoreBound(_ arg: [UInt8]) throws(CommandError) -> ScoreBound {
        let invalid = CommandError.err("min or max is not a float")
        if arg.first == UInt8(ascii: "(") {
            guard let v = double(Array(arg.dropFirst())) else { throw invalid }
            return ScoreBound(v, exclusive: true)
        }
        guard let v = double(arg) else { throw invalid }
        return ScoreBound(v)
    }

    /// `min`/`max` of a lexicographic range: `-`, `+`, `[member`, `(member`.
    static func lexBound(_ arg: [UInt8]) throws(CommandError) -> LexBound {
        guard let first = arg.first else { throw .err("min or max not valid string range item") }
        switch first {
        case UInt8(ascii: "-") where arg.count == 1: return .minimum
        case UInt8(ascii: "+") where arg.count == 1: return .maximum
        case UInt8(ascii: "["): return .inclusive(Array(arg.dropFirst()))
        case UInt8(ascii: "("): return .exclusive(Array(arg.dropFirst()))
        default: throw .err("min or max not valid string range item")
        }
    }

    /// A positive pop count (ZPOPMIN/ZPOPMAX/LPOP's), Redis's error otherwise.
    static func positiveCount(_ arg: [UInt8]) throws(CommandError) -> Int {
        let error = CommandError.err("value is out of range, must be positive")
        let n = try Arg.integer(arg, error: error)
        guard n >= 0 else { throw error }
        return n
    }
}
