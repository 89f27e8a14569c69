import KVCollections
import KVStore

/// The sorted-set commands on members: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZRANK ZREVRANK
/// ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER (ranges: `SortedSetRangeCommands`; unions and
/// intersections: `SortedSetAlgebra`). Scores print as Redis prints them (`%.17g`; doubles in
/// RESP3).
enum SortedSetCommands {
    /// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member …]
    static func zadd(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var options = SortedSetAddOptions()
        var changed = false
        var i = 2
        while i < a.count {
            if Arg.isKeyword(a[i], "NX") { options.onlyNew = true }
            else if Arg.isKeyword(a[i], "XX") { options.onlyExisting = true }
            else if Arg.isKeyword(a[i], "GT") { options.onlyGreater = true }
            else if Arg.isKeyword(a[i], "LT") { options.onlyLess = true }
            else if Arg.isKeyword(a[i], "CH") { changed = true }
            else if Arg.isKeyword(a[i], "INCR") { options.increment = true }
            else { break }
            i += 1
        }
        let elements = a.count - i
        if elements % 2 != 0 || elements == 0 { throw .syntax }
        if options.onlyNew && options.onlyExisting { throw .err("XX and NX options at the same time are not compatible") }
        if (options.onlyGreater && options.onlyNew) || (options.onlyLess && options.onlyNew) || (options.onlyGreater && options.onlyLess) {
            throw .err("GT, LT, and/or NX options at the same time are not compatible")
        }
        if options.increment && elements > 2 { throw .err("INCR option supports a single increment-element pair") }
        var pairs: [(score: Double, member: [UInt8])] = []
        while i < a.count {
            pairs.append((try SortedSetArguments.score(a[i]), a[i + 1]))
            i += 2
        }
        let result = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.sortedSetAdd(a[1], pairs, options: options, nonBlocking: !c.mayWait) }
        }
        if options.increment {
            if let v = result.incremented { out.writeDouble(v) } else { out.writeNullBulk() }
        } else {
            out.writeIntegerReply(result.added + (changed ? result.updated : 0))
        }
    }

    /// ZINCRBY key increment member
    static func zincrby(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let delta = try SortedSetArguments.score(a[2])
        var options = SortedSetAddOptions()
        options.increment = true
        let result = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.sortedSetAdd(a[1], [(delta, a[3])], options: options, nonBlocking: !c.mayWait) }
        }
        if let v = result.incremented { out.writeDouble(v) } else { out.writeNullBulk() }
    }

    static func zrem(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let removed = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.sortedSetRemove(a[1], Array(a[2...])) }
        }
        out.writeIntegerReply(removed)
    }

    static func zscore(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if let v = try ks({ () throws(KeyspaceError) in try s.db.reader(c).sortedSetScore(a[1], a[2]) }) {
            c.hits += 1
            out.writeDouble(v)
        } else {
            c.misses += 1
            out.writeNullBulk()
        }
    }

    static func zmscore(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = try s.db.pinnedReader(c)
        var scores: [Double?] = []
        for m in a[2...] { scores.append(try ks { () throws(KeyspaceError) in try r.sortedSetScore(a[1], m) }) }
        out.writeArrayHeader(scores.count)
        for v in scores { if let v { out.writeDouble(v) } else { out.writeNullBulk() } }
    }

    static func zcard(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).sortedSetCount(a[1]) })
    }

    /// ZRANK and ZREVRANK key member
    static func zrank(reverse: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let r = try s.db.pinnedReader(c)
            let count = try ks { () throws(KeyspaceError) in try r.sortedSetCount(a[1]) }
            try s.db.requireThread(forCount: count, c)
            if let rank = try ks({ () throws(KeyspaceError) in try r.sortedSetRank(a[1], a[2], reverse: reverse) }) {
                out.writeIntegerReply(rank)
            } else {
                out.writeNullBulk()
            }
        }
    }

    /// Writes (member, score) pairs: a flat array in RESP2 (scores as bulk strings, `withScores`),
    /// in RESP3 an array of two-element arrays when `nested` (ZPOPMIN with a count, ZRANDMEMBER
    /// WITHSCORES, ZRANGE WITHSCORES).
    static func writePairs(_ pairs: [(member: [UInt8], score: Double)], withScores: Bool, _ out: inout RESPReplyWriter) {
        if !withScores {
            out.writeArrayHeader(pairs.count)
            for p in pairs { out.writeBulk(p.member) }
        } else if out.resp3 {
            out.writeArrayHeader(pairs.count)
            for p in pairs {
                out.writeArrayHeader(2)
                out.writeBulk(p.member)
                out.writeDouble(p.score)
            }
        } else {
            out.writeArrayHeader(pairs.count * 2)
            for p in pairs {
                out.writeBulk(p.member)
                out.writeDouble(p.score)
            }
        }
    }

    /// Removes and returns up to `count` members from the low (or high) end.
    static func pop<S: KeyspaceWriter>(_ w: KeyspaceAccess<S>, _ key: [UInt8], max: Bool, count: Int) throws(CommandError) -> [(member: [UInt8], score: Double)] {
        try ks { () throws(KeyspaceError) in try w.sortedSetPop(key, count: count, max: max) }
    }

    /// ZPOPMIN and ZPOPMAX key [count]
    static func zpop(max: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            guard a.count <= 3 else { throw .syntax }
            let count = a.count == 3 ? try SortedSetArguments.positiveCount(a[2]) : nil
            try s.db.requireThread(forCount: count ?? 1, c)  // a large pop is O(count): off the loop
            let popped = try s.db.write([a[1]], c) { (w) throws(CommandError) in
                // The type is checked even for a count of 0.
                _ = try ks { () throws(KeyspaceError) in try w.metadata(a[1], .sortedSet) }
                return try pop(w, a[1], max: max, count: count ?? 1)
            }
            if count == nil {
                // One pair, flat in both protocols; nothing: an empty array.
                out.writeArrayHeader(popped.isEmpty ? 0 : 2)
                if let p = popped.first {
                    out.writeBulk(p.member)
                    out.writeDouble(p.score)
                }
            } else {
                writePairs(popped, withScores: true, &out)
            }
        }
    }

    /// The MIN|MAX [COUNT n] tail of ZMPOP and BZMPOP.
    static func mpopOptions(_ rest: [[UInt8]]) throws(CommandError) -> (max: Bool, count: Int) {
        guard let where_ = rest.first else { throw .syntax }
        let max: Bool
        if Arg.isKeyword(where_, "MIN") { max = false } else if Arg.isKeyword(where_, "MAX") { max = true } else { throw .syntax }
        var count = 1
        var i = 1
        var seenCount = false
        while i < rest.count {
            guard Arg.isKeyword(rest[i], "COUNT"), i + 1 < rest.count, !seenCount else { throw .syntax }
            count = try Arg.integer(rest[i + 1], error: .err("count should be greater than 0"))
            guard count > 0 else { throw .err("count should be greater than 0") }
            seenCount = true
            i += 2
        }
        return (max, count)
    }

    /// Pops from the first of `keys` that is a non-empty sorted set; nil when none is.
    static func mpop<S: KeyspaceWriter>(_ w: KeyspaceAccess<S>, _ keys: [[UInt8]], max: Bool, count: Int) throws(CommandError) -> (key: [UInt8], pairs: [(member: [UInt8], score: Double)])? {
        for key in keys {
            let n = try ks { () throws(KeyspaceError) in try w.sortedSetCount(key) }
            if n > 0 { return (key, try pop(w, key, max: max, count: count)) }
        }
        return nil
    }

    static func writeMpop(_ result: (key: [UInt8], pairs: [(member: [UInt8], score: Double)])?, _ out: inout RESPReplyWriter) {
        guard let result else { return out.writeNullArray() }
        out.writeArrayHeader(2)
        out.writeBulk(result.key)
        out.writeArrayHeader(result.pairs.count)
        for p in result.pairs {
            out.writeArrayHeader(2)
            out.writeBulk(p.member)
            out.writeDouble(p.score)
        }
    }

    /// ZMPOP numkeys key [key …] MIN|MAX [COUNT count]
    static func zmpop(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (keys, rest) = try Arg.numkeys(a, at: 1)
        let (max, count) = try mpopOptions(rest)
        try s.db.requireThread(forCount: count, c)
        let result = try s.db.write(keys, c) { (w) throws(CommandError) in try mpop(w, keys, max: max, count: count) }
        writeMpop(result, &out)
    }

    /// ZRANDMEMBER key [count [WITHSCORES]]
    static func zrandmember(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var count: Int?
        var withScores = false
        if a.count >= 3 { count = try Arg.integer(a[2]) }
        if a.count == 4 {
            guard Arg.isKeyword(a[3], "WITHSCORES") else { throw .syntax }
            withScores = true
        }
        if a.count > 4 { throw .syntax }
        if let count, count.magnitude > UInt(RandomSample.maxCount) { throw .err("value is out of range") }
        let r = try s.db.pinnedReader(c)
        try s.db.requireThread(forCount: Int(clamping: (count ?? 1).magnitude), c)
        let picked = try ks { () throws(KeyspaceError) -> [(member: [UInt8], score: Double)]? in
            guard try r.metadata(a[1], .sortedSet) != nil else { return nil }
            var out: [(member: [UInt8], score: Double)] = []
            for m in try r.randomElements(a[1], .sortedSet, count: count ?? 1) { out.append((m, try r.sortedSetScore(a[1], m) ?? 0)) }
            return out
        }
        guard let picked else {
            if count == nil { out.writeNullBulk() } else { out.writeArrayHeader(0) }
            return
        }
        guard count != nil else { return picked.first.map { out.writeBulk($0.member) } ?? out.writeNullBulk() }
        writePairs(picked, withScores: withScores, &out)
    }
}
