import KVCollections
import KVStore

/// The list commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT
/// LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP (the blocking forms: `BlockingCommands`).
enum ListCommands {
    /// LPUSH, RPUSH, LPUSHX, RPUSHX key element [element …]
    static func push(left: Bool, onlyIfExists: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let n = try s.db.write([a[1]], c) { (w) throws(CommandError) in
                try ks { () throws(KeyspaceError) in
                    try w.listPush(a[1], Array(a[2...]), left: left, onlyIfExists: onlyIfExists, nonBlocking: !c.mayWait)
                }
            }
            out.writeIntegerReply(n)
        }
    }

    /// LPOP, RPOP key [count]
    static func pop(left: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            guard a.count <= 3 else { throw .wrongArity(left ? "lpop" : "rpop") }
            let count = a.count == 3 ? try SortedSetArguments.positiveCount(a[2]) : nil
            try s.db.requireThread(forCount: count ?? 1, c)  // a large pop is O(count): off the loop
            let popped = try s.db.write([a[1]], c) { (w) throws(CommandError) in
                try ks { () throws(KeyspaceError) in try w.listPop(a[1], left: left, count: count ?? 1) }
            }
            guard count != nil else {
                if let v = popped?.first { out.writeBulk(v) } else { out.writeNullBulk() }
                return
            }
            guard let popped else { return out.writeNullArray() }
            out.writeArrayHeader(popped.count)
            for v in popped { out.writeBulk(v) }
        }
    }

    static func llen(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).listCount(a[1]) })
    }

    /// LRANGE key start stop: streamed, one point read to find the start.
    static func lrange(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let start = try Arg.integer(a[2])
        let stop = try Arg.integer(a[3])
        let r = try s.db.pinnedReader(c)
        let n = try ks { () throws(KeyspaceError) in try r.listCount(a[1]) }
        guard let (lo, hi) = SortedSetRangeCommands.rankRange(start, stop, count: n) else { return out.writeArrayHeader(0) }
        try s.db.requireThread(forCount: hi - lo + 1, c)
        out.writeArrayHeader(hi - lo + 1)
        var sent = 0
        try ks { () throws(KeyspaceError) in
            try r.listWalk(a[1], from: lo, to: hi) { v in
                out.writeBulk(v)
                sent += 1
                return true
            }
        }
        guard sent == hi - lo + 1 else { throw .err("storage error: list '\(Arg.string(a[1]))' is missing elements (run kvctl verify)") }
    }

    static func lindex(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let index = try Arg.integer(a[2])
        if let v = try ks({ () throws(KeyspaceError) in try s.db.reader(c).listIndex(a[1], index) }) { out.writeBulk(v) } else { out.writeNullBulk() }
    }

    static func lset(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let index = try Arg.integer(a[2])
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            guard try ks({ () throws(KeyspaceError) in try w.metadata(a[1], .list) }) != nil else { throw .err("no such key") }
            guard try ks({ () throws(KeyspaceError) in try w.listSet(a[1], index, a[3]) }) else { throw .err("index out of range") }
        }
        out.writeOK()
    }

    /// LINSERT key BEFORE|AFTER pivot element
    static func linsert(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let before: Bool
        if Arg.isKeyword(a[2], "BEFORE") { before = true } else if Arg.isKeyword(a[2], "AFTER") { before = false } else { throw .syntax }
        let n = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try s.db.requireThread(forElementsOf: a[1], w, c)
            return try ks { () throws(KeyspaceError) in try w.listInsert(a[1], before: before, pivot: a[3], value: a[4]) }
        }
        out.writeIntegerReply(n)
    }

    static func lrem(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let count = try Arg.integer(a[2])
        let n = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try s.db.requireThread(forElementsOf: a[1], w, c)
            return try ks { () throws(KeyspaceError) in try w.listRemove(a[1], count: count, value: a[3]) }
        }
        out.writeIntegerReply(n)
    }

    static func ltrim(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let start = try Arg.integer(a[2])
        let stop = try Arg.integer(a[3])
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try s.db.requireThread(forElementsOf: a[1], w, c)
            try ks { () throws(KeyspaceError) in try w.listTrim(a[1], start: start, stop: stop) }
        }
        out.writeOK()
    }

    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
    static func lpos(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var rank = 1
        var count: Int?
        var maxlen = 0
        var i = 3
        while i < a.count {
            guard i + 1 < a.count else { throw .syntax }
            if Arg.isKeyword(a[i], "RANK") {
                rank = try Arg.integer(a[i + 1])
                if rank == 0 {
                    throw .err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                }
                if rank == Int.min { throw .err("value is out of range") }
            } else if Arg.isKeyword(a[i], "COUNT") {
                count = try Arg.integer(a[i + 1])
                guard count! >= 0 else { throw .err("COUNT can't be negative") }
            } else if Arg.isKeyword(a[i], "MAXLEN") {
                maxlen = try Arg.integer(a[i + 1])
                guard maxlen >= 0 else { throw .err("MAXLEN can't be negative") }
            } else {
                throw .syntax
            }
            i += 2
        }
        let r = try s.db.pinnedReader(c)
        let n = try ks { () throws(KeyspaceError) in try r.listCount(a[1]) }
        try s.db.requireThread(forCount: maxlen > 0 ? min(maxlen, n) : n, c)
        var matches: [Int] = []
        let wanted = count == 0 ? Int.max : (count ?? 1)
        var skip = abs(rank) - 1
        var examined = 0
        let reverse = rank < 0
        try ks { () throws(KeyspaceError) in
            try r.listWalk(a[1], from: 0, to: n - 1, reverse: reverse) { v in
                let index = reverse ? n - 1 - examined : examined
                examined += 1
                if v.elementsEqual(a[2]) {
                    if skip > 0 { skip -= 1 } else { matches.append(index) }
                }
                if matches.count >= wanted { return false }
                return maxlen == 0 || examined < maxlen
            }
        }
        if count == nil {
            if let m = matches.first { out.writeIntegerReply(m) } else { out.writeNullBulk() }
        } else {
            out.writeArrayHeader(matches.count)
            for m in matches { out.writeIntegerReply(m) }
        }
    }

    static func side(_ arg: [UInt8]) throws(CommandError) -> Bool {
        if Arg.isKeyword(arg, "LEFT") { return true }
        if Arg.isKeyword(arg, "RIGHT") { return false }
        throw .syntax
    }

    /// Moves one element from `src`'s `fromLeft` end to `dst`'s `toLeft` end; nil when `src`
    /// is empty. The destination's type is checked before anything moves.
    static func move<S: KeyspaceWriter>(_ w: KeyspaceAccess<S>, _ src: [UInt8], _ dst: [UInt8], fromLeft: Bool, toLeft: Bool, nonBlocking: Bool) throws(CommandError) -> [UInt8]? {
        try ks { () throws(KeyspaceError) -> [UInt8]? in
            guard try w.metadata(src, .list) != nil else { return nil }
            _ = try w.metadata(dst, .list)
            guard let v = try w.listPop(src, left: fromLeft, count: 1)?.first else { return nil }
            _ = try w.listPush(dst, [v], left: toLeft, nonBlocking: nonBlocking)
            return v
        }
    }

    /// LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH source destination
    static func lmove(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (fromLeft, toLeft) = a.count == 5 ? (try side(a[3]), try side(a[4])) : (false, true)
        let v = try s.db.write([a[1], a[2]], c) { (w) throws(CommandError) in
            try move(w, a[1], a[2], fromLeft: fromLeft, toLeft: toLeft, nonBlocking: !c.mayWait)
        }
        if let v { out.writeBulk(v) } else { out.writeNullBulk() }
    }

    /// The LEFT|RIGHT [COUNT n] tail of LMPOP and BLMPOP.
    static func mpopOptions(_ rest: [[UInt8]]) throws(CommandError) -> (left: Bool, count: Int) {
        guard let first = rest.first else { throw .syntax }
        let left = try side(first)
        var count = 1
        var i = 1
        var seen = false
        while i < rest.count {
            guard Arg.isKeyword(rest[i], "COUNT"), i + 1 < rest.count, !seen else { throw .syntax }
            count = try Arg.integer(rest[i + 1], error: .err("count should be greater than 0"))
            guard count > 0 else { throw .err("count should be greater than 0") }
            seen = true
            i += 2
        }
        return (left, count)
    }

    /// Pops from the first of `keys` that is a non-empty list; nil when none is.
    static func mpop<S: KeyspaceWriter>(_ w: KeyspaceAccess<S>, _ keys: [[UInt8]], left: Bool, count: Int) throws(CommandError) -> (key: [UInt8], values: [[UInt8]])? {
        try ks { () throws(KeyspaceError) -> (key: [UInt8], values: [[UInt8]])? in
            for key in keys {
                if try w.listCount(key) > 0, let v = try w.listPop(key, left: left, count: count) { return (key, v) }
            }
            return nil
        }
    }

    static func writeMpop(_ result: (key: [UInt8], values: [[UInt8]])?, _ out: inout RESPReplyWriter) {
        guard let result else { return out.writeNullArray() }
        out.writeArrayHeader(2)
        out.writeBulk(result.key)
        out.writeArrayHeader(result.values.count)
        for v in result.values { out.writeBulk(v) }
    }

    /// LMPOP numkeys key [key …] LEFT|RIGHT [COUNT count]
    static func lmpop(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (keys, rest) = try Arg.numkeys(a, at: 1)
        let (left, count) = try mpopOptions(rest)
        try s.db.requireThread(forCount: count, c)
        let result = try s.db.write(keys, c) { (w) throws(CommandError) in try mpop(w, keys, left: left, count: count) }
        writeMpop(result, &out)
    }
}
