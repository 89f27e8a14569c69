import KVCollections
import KVStore

/// Ranges of a sorted set: ZRANGE (by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES) and its
/// older forms (ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX),
/// ZRANGESTORE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX.
///
/// Replies stream as the members are read: a range by rank knows its length first; a range
/// by score or member is walked twice (once to count, once to send), so a reply of a million
/// members never sits in memory twice.
enum SortedSetRangeCommands {
    enum By {
        case rank(Int, Int)
        case score(ScoreBound, ScoreBound)
        case lex(LexBound, LexBound)
    }

    struct Request {
        var by: By
        var reverse = false
        var offset = 0
        /// nil: no LIMIT (or a negative count: all).
        var limit: Int?
        var withScores = false
    }

    /// Parses `min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]` (ZRANGE's) from
    /// `a[i]` on.
    static func parseZrange(_ a: [[UInt8]], from i: Int, store: Bool) throws(CommandError) -> Request {
        var byScore = false, byLex = false, reverse = false, withScores = false
        var limit: (Int, Int)?
        var j = i + 2
        while j < a.count {
            if Arg.isKeyword(a[j], "BYSCORE") { byScore = true }
            else if Arg.isKeyword(a[j], "BYLEX") { byLex = true }
            else if Arg.isKeyword(a[j], "REV") { reverse = true }
            else if Arg.isKeyword(a[j], "WITHSCORES"), !store { withScores = true }
            else if Arg.isKeyword(a[j], "LIMIT"), j + 2 < a.count {
                limit = (try Arg.integer(a[j + 1]), try Arg.integer(a[j + 2]))
                j += 2
            } else { throw .syntax }
            j += 1
        }
        if byScore && byLex { throw .syntax }
        if limit != nil && !byScore && !byLex { throw .err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX") }
        if withScores && byLex { throw .err("syntax error, WITHSCORES not supported in combination with BYLEX") }
        // With REV, a score or member range is given high end first.
        let (lo, hi) = reverse && (byScore || byLex) ? (a[i + 1], a[i]) : (a[i], a[i + 1])
        var r: Request
        if byScore {
            r = Request(by: .score(try SortedSetArguments.scoreBound(lo), try SortedSetArguments.scoreBound(hi)))
        } else if byLex {
            r = Request(by: .lex(try SortedSetArguments.lexBound(lo), try SortedSetArguments.lexBound(hi)))
        } else {
            r = Request(by: .rank(try Arg.integer(a[i]), try Arg.integer(a[i + 1])))
        }
        r.reverse = reverse
        r.withScores = withScores
        if let (offset, count) = limit {
            r.offset = offset
            r.limit = count < 0 ? nil : count
            if offset < 0 { r.limit = 0 }  // Redis: a negative offset returns nothing
        }
        return r
    }

    /// Calls `body` with each member of the range, in order, honouring offset and limit.
    static func walk<S: KeyspaceReader>(
        _ r: KeyspaceAccess<S>, _ key: [UInt8], _ q: Request, _ body: (UnsafeRawBufferPointer, Double) -> Void
    ) throws(CommandError) {
        var skip = q.offset
        var left = q.limit ?? Int.max
        guard left > 0 else { return }
        try ks { () throws(KeyspaceError) in
            switch q.by {
            case .rank(let start, let stop):
                guard let count = try r.metadata(key, .sortedSet)?.meta.count else { return }
                guard let (lo, hi) = rankRange(start, stop, count: Int(count)) else { return }
                try r.sortedSetWalkRanks(key, from: lo, to: hi, reverse: q.reverse) { m, score in
                    body(m, score)
                    return true
                }
            case .score(let min, let max):
                try r.sortedSetWalk(key, min: min, max: max, reverse: q.reverse) { m, score in
                    if skip > 0 {
                        skip -= 1
                        return true
                    }
                    body(m, score)
                    left -= 1
                    return left > 0
                }
            case .lex(let min, let max):
                try r.sortedSetWalkLex(key, min: min, max: max, reverse: q.reverse) { m, score in
                    if skip > 0 {
                        skip -= 1
                        return true
                    }
                    body(m, score)
                    left -= 1
                    return left > 0
                }
            }
        }
    }

    /// How many members a request reads at most from a set of `count` (the rank directory's
    /// few thousand entries aside): what decides whether it may run on the event loop.
    static func work(_ q: Request, count: Int) -> Int {
        switch q.by {
        case .rank(let start, let stop):
            return rankRange(start, stop, count: count).map { $0.1 - $0.0 + 1 } ?? 0
        case .score, .lex:
            guard let limit = q.limit else { return count }
            return min(count, q.offset.addingReportingOverflow(limit).overflow ? Int.max : q.offset + limit)
        }
    }

    /// Redis's normalization of a rank range over `count` members; nil when empty.
    static func rankRange(_ start: Int, _ stop: Int, count: Int) -> (Int, Int)? {
        var s = start < 0 ? count + start : start
        var e = stop < 0 ? count + stop : stop
        if s < 0 { s = 0 }
        if e >= count { e = count - 1 }
        return s > e || s >= count ? nil : (s, e)
    }

    /// Runs a range request and writes its reply (two passes: count, then send).
    static func reply<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ key: [UInt8], _ q: Request, _ s: ServerContext, _ c: Session, _ out: inout RESPReplyWriter) throws(CommandError) {
        let total = try ks { () throws(KeyspaceError) in try r.sortedSetCount(key) }
        try s.db.requireThread(forCount: work(q, count: total), c)
        var n = 0
        try walk(r, key, q) { _, _ in n += 1 }
        let nested = q.withScores && out.resp3
        out.writeArrayHeader(q.withScores && !out.resp3 ? 2 * n : n)
        var sent = 0
        try walk(r, key, q) { m, score in
            guard sent < n else { return }  // nothing changes between the passes (one snapshot or locks)
            if nested { out.writeArrayHeader(2) }
            out.writeBulk(m)
            if q.withScores { out.writeDouble(score) }
            sent += 1
        }
    }

    /// ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
    static func zrange(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let q = try parseZrange(a, from: 2, store: false)
        try reply(s.db.pinnedReader(c), a[1], q, s, c, &out)
    }

    /// ZREVRANGE key start stop [WITHSCORES]
    static func zrevrange(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a.count <= 5 else { throw .syntax }
        var q = Request(by: .rank(try Arg.integer(a[2]), try Arg.integer(a[3])))
        q.reverse = true
        if a.count == 5 {
            guard Arg.isKeyword(a[4], "WITHSCORES") else { throw .syntax }
            q.withScores = true
        }
        try reply(s.db.pinnedReader(c), a[1], q, s, c, &out)
    }

    /// ZRANGEBYSCORE key min max / ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count],
    /// and the BYLEX pair (no WITHSCORES).
    static func byRange(lex: Bool, reverse: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            var q: Request
            let (lo, hi) = reverse ? (a[3], a[2]) : (a[2], a[3])
            if lex {
                q = Request(by: .lex(try SortedSetArguments.lexBound(lo), try SortedSetArguments.lexBound(hi)))
            } else {
                q = Request(by: .score(try SortedSetArguments.scoreBound(lo), try SortedSetArguments.scoreBound(hi)))
            }
            q.reverse = reverse
            var j = 4
            while j < a.count {
                if Arg.isKeyword(a[j], "WITHSCORES") {
                    if lex { throw .err("syntax error, WITHSCORES not supported in combination with BYLEX") }
                    q.withScores = true
                } else if Arg.isKeyword(a[j], "LIMIT"), j + 2 < a.count {
                    let offset = try Arg.integer(a[j + 1])
                    let count = try Arg.integer(a[j + 2])
                    q.offset = offset
                    q.limit = count < 0 ? nil : count
                    if offset < 0 { q.limit = 0 }
                    j += 2
                } else {
                    throw .syntax
                }
                j += 1
            }
            try reply(s.db.pinnedReader(c), a[1], q, s, c, &out)
        }
    }

    /// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
    static func zrangestore(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let q = try parseZrange(a, from: 3, store: true)
        let n = try s.db.write([a[1], a[2]], c) { (w) throws(CommandError) -> Int in
            let total = try ks { () throws(KeyspaceError) in try w.sortedSetCount(a[2]) }
            try s.db.requireThread(forCount: total, c)
            var pairs: [(member: [UInt8], score: Double)] = []
            try walk(w, a[2], q) { m, score in pairs.append((Array(m), score)) }
            try ks { () throws(KeyspaceError) in try w.sortedSetStore(a[1], pairs, nonBlocking: !c.mayWait) }
            return pairs.count
        }
        out.writeIntegerReply(n)
    }

    /// ZCOUNT key min max, ZLEXCOUNT key min max
    static func count(lex: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let q = lex
                ? Request(by: .lex(try SortedSetArguments.lexBound(a[2]), try SortedSetArguments.lexBound(a[3])))
                : Request(by: .score(try SortedSetArguments.scoreBound(a[2]), try SortedSetArguments.scoreBound(a[3])))
            let r = try s.db.pinnedReader(c)
            if case .score(let min, let max) = q.by {
                // Two ranks through the directory, whatever the set's size.
                out.writeIntegerReply(try ks { () throws(KeyspaceError) in try r.sortedSetCount(a[1], min: min, max: max) })
                return
            }
            try s.db.requireThread(forCount: try ks { () throws(KeyspaceError) in try r.sortedSetCount(a[1]) }, c)
            var n = 0
            try walk(r, a[1], q) { _, _ in n += 1 }
            out.writeIntegerReply(n)
        }
    }

    /// ZREMRANGEBYSCORE key min max, ZREMRANGEBYLEX key min max, ZREMRANGEBYRANK key start stop
    static func removeRange(_ kind: String) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let q: Request
            switch kind {
            case "score": q = Request(by: .score(try SortedSetArguments.scoreBound(a[2]), try SortedSetArguments.scoreBound(a[3])))
            case "lex": q = Request(by: .lex(try SortedSetArguments.lexBound(a[2]), try SortedSetArguments.lexBound(a[3])))
            default: q = Request(by: .rank(try Arg.integer(a[2]), try Arg.integer(a[3])))
            }
            let n = try s.db.write([a[1]], c) { (w) throws(CommandError) -> Int in
                try s.db.requireThread(forCount: work(q, count: try ks { () throws(KeyspaceError) in try w.sortedSetCount(a[1]) }), c)
                var gathered: [(member: [UInt8], score: Double)] = []
                try walk(w, a[1], q) { m, score in gathered.append((Array(m), score)) }
                return try ks { () throws(KeyspaceError) in try w.sortedSetRemove(a[1], gathered: gathered) }
            }
            out.writeIntegerReply(n)
        }
    }
}
