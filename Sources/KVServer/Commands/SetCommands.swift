import KVCollections
import KVStore

/// The set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE
/// and the algebra SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE (SSCAN is
/// `ElementScan`'s). Members come back in byte order.
enum SetCommands {
    static func sadd(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let added = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.setAdd(a[1], Array(a[2...]), nonBlocking: !c.mayWait) }
        }
        out.writeIntegerReply(added)
    }

    static func srem(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let removed = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.setRemove(a[1], Array(a[2...])) }
        }
        out.writeIntegerReply(removed)
    }

    static func smembers(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = try s.db.pinnedReader(c)
        guard let (meta, _) = try ks({ () throws(KeyspaceError) in try r.metadata(a[1], .set) }) else { return out.writeSetHeader(0) }
        try s.db.requireThread(forCount: Int(meta.count), c)
        out.writeSetHeader(Int(meta.count))
        var written = 0
        try ks { () throws(KeyspaceError) in
            try r.setForEach(a[1]) { m in
                out.writeBulk(m)
                written += 1
            }
        }
        guard written == Int(meta.count) else {
            throw .err("storage error: set '\(Arg.string(a[1]))' holds \(written) members, its metadata says \(meta.count) (run kvctl verify)")
        }
    }

    static func sismember(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).setContains(a[1], a[2]) } ? 1 : 0)
    }

    static func smismember(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = try s.db.pinnedReader(c)
        var answers: [Int] = []
        for m in a[2...] { answers.append(try ks { () throws(KeyspaceError) in try r.setContains(a[1], m) } ? 1 : 0) }
        out.writeArrayHeader(answers.count)
        for x in answers { out.writeIntegerReply(x) }
    }

    static func scard(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).setCount(a[1]) })
    }

    /// SPOP key [count]
    static func spop(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a.count <= 3 else { throw .syntax }
        var count: Int?
        if a.count == 3 {
            count = try Arg.integer(a[2], error: .err("value is out of range, must be positive"))
            guard count! >= 0 else { throw .err("value is out of range, must be positive") }
        }
        // Large counts walk (and write) a lot: off the loop. A single pick is a few reads.
        try s.db.requireThread(forCount: count ?? 1, c)
        let popped = try s.db.write([a[1]], c) { (w) throws(CommandError) -> [[UInt8]]? in
            try ks { () throws(KeyspaceError) -> [[UInt8]]? in try w.setPop(a[1], count: count ?? 1) }
        }
        guard count != nil else {
            if let m = popped?.first { out.writeBulk(m) } else { out.writeNullBulk() }
            return
        }
        let list = popped ?? []
        out.writeSetHeader(list.count)
        for m in list { out.writeBulk(m) }
    }

    /// SRANDMEMBER key [count]
    static func srandmember(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a.count <= 3 else { throw .syntax }
        let count = a.count == 3 ? try Arg.integer(a[2]) : nil
        if let count, count.magnitude > UInt(RandomSample.maxCount) { throw .err("value is out of range") }
        try s.db.requireThread(forCount: Int(clamping: (count ?? 1).magnitude), c)
        let r = try s.db.pinnedReader(c)
        let chosen = try ks { () throws(KeyspaceError) -> [[UInt8]]? in
            guard try r.metadata(a[1], .set) != nil else { return nil }
            return try r.randomElements(a[1], .set, count: count ?? 1)
        }
        guard count != nil else { return chosen?.first.map { out.writeBulk($0) } ?? out.writeNullBulk() }
        let picked = chosen ?? []
        out.writeArrayHeader(picked.count)
        for m in picked { out.writeBulk(m) }
    }

    /// SMOVE source destination member: the destination changes (and its watchers learn)
    /// only if the member was not already there.
    static func smove(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (src, dst, member) = (a[1], a[2], a[3])
        let moved = try s.db.write([src, dst], c) { (w) throws(CommandError) -> Bool in
            try ks { () throws(KeyspaceError) -> Bool in
                // Both types are checked before anything moves.
                _ = try w.metadata(dst, .set)
                guard try w.setContains(src, member) else { return false }
                if src == dst { return true }
                _ = try w.setRemove(src, [member])
                _ = try w.setAdd(dst, [member], nonBlocking: !c.mayWait)
                return true
            }
        }
        out.writeIntegerReply(moved ? 1 : 0)
    }

    enum Algebra { case inter, union, diff }

    /// The members of the combination of `keys` (every key's type checked first; a missing
    /// key is an empty set). Intersection and difference walk the first set (the smallest,
    /// for an intersection) and look members up in the others.
    static func combine<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ keys: [[UInt8]], _ op: Algebra, _ s: ServerContext, _ c: Session, limit: Int = 0) throws(CommandError) -> [[UInt8]] {
        var counts: [Int] = []
        for k in keys { counts.append(try ks { () throws(KeyspaceError) in try r.setCount(k) }) }
        try s.db.requireThread(forCount: counts.reduce(0, +), c)
        switch op {
        case .union:
            var seen = Set<[UInt8]>()
            var out: [[UInt8]] = []
            for k in keys {
                try ks { () throws(KeyspaceError) in
                    try r.setForEach(k) { m in
                        let member = Array(m)
                        if seen.insert(member).inserted { out.append(member) }
                    }
                }
            }
            return out.sorted { $0.lexicographicallyPrecedes($1) }
        case .inter:
            if counts.contains(0) { return [] }
            let smallest = counts.indices.min { counts[$0] < counts[$1] }!
            var out: [[UInt8]] = []
            let others = keys.indices.filter { $0 != smallest }.map { keys[$0] }
            try ks { () throws(KeyspaceError) in
                try r.setForEach(keys[smallest]) { (m) throws(KeyspaceError) in
                    if limit > 0 && out.count >= limit { return }
                    let member = Array(m)
                    for k in others {
                        if !(try r.setContains(k, member)) { return }
                    }
                    out.append(member)
                }
            }
            return out
        case .diff:
            var out: [[UInt8]] = []
            try ks { () throws(KeyspaceError) in
                try r.setForEach(keys[0]) { (m) throws(KeyspaceError) in
                    let member = Array(m)
                    for k in keys.dropFirst() {
                        if try r.setContains(k, member) { return }
                    }
                    out.append(member)
                }
            }
            return out
        }
    }

    /// SINTER, SUNION, SDIFF key [key …]
    static func algebra(_ op: Algebra) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let members = try combine(s.db.pinnedReader(c), Array(a[1...]), op, s, c)
            out.writeSetHeader(members.count)
            for m in members { out.writeBulk(m) }
        }
    }

    /// SINTERSTORE, SUNIONSTORE, SDIFFSTORE destination key [key …]: the result replaces the
    /// destination (an empty one deletes it); the reply is its size.
    static func algebraStore(_ op: Algebra) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let dest = a[1]
            let sources = Array(a[2...])
            let n = try s.db.write([dest] + sources, c) { (w) throws(CommandError) -> Int in
                let members = try combine(w, sources, op, s, c)
                try ks { () throws(KeyspaceError) in try w.setStore(dest, members, nonBlocking: !c.mayWait) }
                return members.count
            }
            out.writeIntegerReply(n)
        }
    }

    /// SINTERCARD numkeys key [key …] [LIMIT limit]
    static func sintercard(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (keys, rest) = try Arg.numkeys(a, at: 1)
        var limit = 0
        var i = 0
        while i < rest.count {
            guard Arg.isKeyword(rest[i], "LIMIT"), i + 1 < rest.count else { throw .syntax }
            limit = try Arg.integer(rest[i + 1], error: .err("LIMIT can't be negative"))
            guard limit >= 0 else { throw .err("LIMIT can't be negative") }
            i += 2
        }
        out.writeIntegerReply(try combine(s.db.pinnedReader(c), keys, .inter, s, c, limit: limit).count)
    }
}
