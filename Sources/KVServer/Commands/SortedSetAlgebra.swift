import KVCollections
import KVStore

/// ZUNION, ZINTER, ZDIFF (and their STORE forms) and ZINTERCARD. Plain sets count as sorted
/// sets whose members all score 1, as in Redis; the result is ordered by score, then member.
enum SortedSetAlgebra {
    enum Op { case union, inter, diff }
    enum Aggregate { case sum, min, max }

    /// A key's members and scores: a sorted set's, a set's (score 1), nil when absent.
    static func scored<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ key: [UInt8]) throws(CommandError) -> [(member: [UInt8], score: Double)]? {
        try ks { () throws(KeyspaceError) -> [(member: [UInt8], score: Double)]? in
            switch try r.type(of: key) {
            case nil: return nil
            case .sortedSet?:
                var out: [(member: [UInt8], score: Double)] = []
                try r.sortedSetWalk(key) { m, score in
                    out.append((Array(m), score))
                    return true
                }
                return out
            case .set?:
                return try r.setMembers(key).map { ($0, 1.0) }
            default:
                throw .wrongType
            }
        }
    }

    struct Options {
        var weights: [Double]?
        var aggregate = Aggregate.sum
        var withScores = false
    }

    /// `[WEIGHTS w …] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` after the keys.
    static func options(_ rest: [[UInt8]], keys: Int, op: Op, store: Bool) throws(CommandError) -> Options {
        var o = Options()
        var i = 0
        while i < rest.count {
            if op != .diff && Arg.isKeyword(rest[i], "WEIGHTS") && i + keys < rest.count {
                var w: [Double] = []
                for j in 1...keys {
                    guard let v = SortedSetArguments.double(rest[i + j]) else { throw .err("weight value is not a float") }
                    w.append(v)
                }
                o.weights = w
                i += keys + 1
            } else if op != .diff && Arg.isKeyword(rest[i], "AGGREGATE") && i + 1 < rest.count {
                if Arg.isKeyword(rest[i + 1], "SUM") { o.aggregate = .sum }
                else if Arg.isKeyword(rest[i + 1], "MIN") { o.aggregate = .min }
                else if Arg.isKeyword(rest[i + 1], "MAX") { o.aggregate = .max }
                else { throw .syntax }
                i += 2
            } else if !store && Arg.isKeyword(rest[i], "WITHSCORES") {
                o.withScores = true
                i += 1
            } else {
                throw .syntax
            }
        }
        return o
    }

    /// NaN (inf − inf, 0 × inf) counts as 0, as in Redis.
    static func clean(_ v: Double) -> Double { v.isNaN ? 0 : v }

    static func combine<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ keys: [[UInt8]], _ op: Op, _ o: Options, _ s: ServerContext, _ c: Session) throws(CommandError) -> [(member: [UInt8], score: Double)] {
        var inputs: [[(member: [UInt8], score: Double)]] = []
        var total = 0
        for k in keys {
            let n = try ks { () throws(KeyspaceError) -> Int in
                switch try r.type(of: k) {
                case .sortedSet?: return try r.sortedSetCount(k)
                case .set?: return try r.setCount(k)
                case nil: return 0
                default: throw .wrongType
                }
            }
            total += n
        }
        try s.db.requireThread(forCount: total, c)
        for k in keys { inputs.append(try scored(r, k) ?? []) }
        func aggregate(_ a: Double, _ b: Double) -> Double {
            switch o.aggregate {
            case .sum: return clean(a + b)
            case .min: return Swift.min(a, b)
            case .max: return Swift.max(a, b)
            }
        }
        func weighted(_ index: Int) -> [[UInt8]: Double] {
            let weight = o.weights?[index] ?? 1
            var out: [[UInt8]: Double] = [:]
            for (m, score) in inputs[index] { out[m] = clean(score * weight) }
            return out
        }
        var result: [[UInt8]: Double] = [:]
        switch op {
        case .union:
            for index in inputs.indices {
                for (m, v) in weighted(index) { result[m] = result[m].map { aggregate($0, v) } ?? v }
            }
        case .inter:
            result = weighted(0)
            for index in inputs.indices.dropFirst() where !result.isEmpty {
                let here = weighted(index)
                var next: [[UInt8]: Double] = [:]
                for (m, v) in result { if let h = here[m] { next[m] = aggregate(v, h) } }
                result = next
            }
        case .diff:
            var excluded = Set<[UInt8]>()
            for input in inputs.dropFirst() { for (m, _) in input { excluded.insert(m) } }
            for (m, score) in inputs[0] where !excluded.contains(m) { result[m] = score }
        }
        return result.map { ($0.key, $0.value) }.sorted {
            $0.score != $1.score ? $0.score < $1.score : $0.member.lexicographicallyPrecedes($1.member)
        }
    }

    /// ZUNION, ZINTER, ZDIFF numkeys key [key …] [WEIGHTS …] [AGGREGATE …] [WITHSCORES]
    static func command(_ op: Op, name: String) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let (keys, rest) = try Arg.numkeys(
                a, at: 1, invalid: .err("at least 1 input key is needed for '\(name)' command"), invalidIncludesText: false, tooMany: .syntax)
            let o = try options(rest, keys: keys.count, op: op, store: false)
            let result = try combine(s.db.pinnedReader(c), keys, op, o, s, c)
            SortedSetCommands.writePairs(result, withScores: o.withScores, &out)
        }
    }

    /// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE destination numkeys key [key …] [WEIGHTS …] [AGGREGATE …]
    static func store(_ op: Op, name: String) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let (keys, rest) = try Arg.numkeys(
                a, at: 2, invalid: .err("at least 1 input key is needed for '\(name)' command"), invalidIncludesText: false, tooMany: .syntax)
            let o = try options(rest, keys: keys.count, op: op, store: true)
            let n = try s.db.write([a[1]] + keys, c) { (w) throws(CommandError) -> Int in
                let result = try combine(w, keys, op, o, s, c)
                try ks { () throws(KeyspaceError) in try w.sortedSetStore(a[1], result, nonBlocking: !c.mayWait) }
                return result.count
            }
            out.writeIntegerReply(n)
        }
    }

    /// ZINTERCARD numkeys key [key …] [LIMIT limit]
    static func zintercard(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (keys, rest) = try Arg.numkeys(
            a, at: 1, invalid: .err("at least 1 input key is needed for 'zintercard' command"), invalidIncludesText: false, tooMany: .syntax)
        var limit = 0
        var i = 0
        while i < rest.count {
            guard Arg.isKeyword(rest[i], "LIMIT"), i + 1 < rest.count else { throw .syntax }
            limit = try Arg.integer(rest[i + 1], error: .err("LIMIT can't be negative"))
            guard limit >= 0 else { throw .err("LIMIT can't be negative") }
            i += 2
        }
        let n = try combine(s.db.pinnedReader(c), keys, .inter, Options(), s, c).count
        out.writeIntegerReply(limit > 0 ? min(n, limit) : n)
    }
}
