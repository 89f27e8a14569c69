import KVCollections
import KVStore

/// The hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN
/// HDEL HINCRBY HINCRBYFLOAT HRANDFIELD (HSCAN is `ElementScan`'s). Fields come back in byte
/// order (Redis's order is its hash table's).
enum HashCommands {
    static func hset(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a.count % 2 == 0 else { throw .wrongArity(Arg.string(a[0]).lowercased()) }
        let key = a[1]
        let pairs = stride(from: 2, to: a.count, by: 2).map { (field: a[$0], value: a[$0 + 1]) }
        let legacy = Arg.isKeyword(a[0], "HMSET")
        let added = try s.db.write([key], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.hashSet(key, pairs, nonBlocking: !c.mayWait) }
        }
        if legacy { out.writeOK() } else { out.writeIntegerReply(added) }
    }

    static func hsetnx(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let added = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.hashSet(a[1], [(a[2], a[3])], onlyIfAbsent: true, nonBlocking: !c.mayWait) }
        }
        out.writeIntegerReply(added)
    }

    static func hget(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if let v = try ks({ () throws(KeyspaceError) in try s.db.reader(c).hashGet(a[1], a[2]) }) {
            c.hits += 1
            out.writeBulk(v)
        } else {
            c.misses += 1
            out.writeNullBulk()
        }
    }

    static func hmget(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = try s.db.pinnedReader(c)
        // The type is checked before the reply starts (a missing key answers all nils).
        _ = try ks { () throws(KeyspaceError) in try r.metadata(a[1], .hash) }
        out.writeArrayHeader(a.count - 2)
        for field in a[2...] {
            if let v = try ks({ () throws(KeyspaceError) in try r.hashGet(a[1], field) }) { out.writeBulk(v) } else { out.writeNullBulk() }
        }
    }

    /// HGETALL (`fields` and `values`), HKEYS (`fields`), HVALS (`values`): streamed as read,
    /// the count known from the hash's metadata.
    static func getAll(fields: Bool, values: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let r = try s.db.pinnedReader(c)
            guard let (meta, _) = try ks({ () throws(KeyspaceError) in try r.metadata(a[1], .hash) }) else {
                if fields && values { out.writeMapHeader(0) } else { out.writeArrayHeader(0) }
                return
            }
            try s.db.requireThread(forCount: Int(meta.count), c)
            if fields && values { out.writeMapHeader(Int(meta.count)) } else { out.writeArrayHeader(Int(meta.count)) }
            var written = 0
            try ks { () throws(KeyspaceError) in
                try r.hashForEach(a[1]) { f, v in
                    if fields { out.writeBulk(f) }
                    if values { out.writeBulk(v) }
                    written += 1
                }
            }
            guard written == Int(meta.count) else {
                throw .err("storage error: hash '\(Arg.string(a[1]))' holds \(written) fields, its metadata says \(meta.count) (run kvctl verify)")
            }
        }
    }

    static func hlen(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).hashCount(a[1]) })
    }

    static func hexists(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).hashGet(a[1], a[2]) } != nil ? 1 : 0)
    }

    static func hstrlen(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try ks { () throws(KeyspaceError) in try s.db.reader(c).hashGet(a[1], a[2]) }?.count ?? 0)
    }

    static func hdel(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let removed = try s.db.write([a[1]], c) { (w) throws(CommandError) in
            try ks { () throws(KeyspaceError) in try w.hashDelete(a[1], Array(a[2...])) }
        }
        out.writeIntegerReply(removed)
    }

    static func hincrby(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let delta = try Arg.integer(a[3])
        let next = try s.db.write([a[1]], c) { (w) throws(CommandError) -> Int in
            let old = try ks { () throws(KeyspaceError) in try w.hashGet(a[1], a[2]) }
            let current = try old.map { v throws(CommandError) in try Arg.integer(v, error: .err("hash value is not an integer")) } ?? 0
            let (next, o) = current.addingReportingOverflow(delta)
            if o { throw .overflow }
            try ks { () throws(KeyspaceError) in _ = try w.hashSet(a[1], [(a[2], Array(String(next).utf8))], nonBlocking: !c.mayWait) }
            return next
        }
        out.writeIntegerReply(next)
    }

    static func hincrbyfloat(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let delta = try Arg.longDouble(a[3])
        guard delta.isFinite else { throw .err("value is NaN or Infinity") }
        let text = try s.db.write([a[1]], c) { (w) throws(CommandError) -> [UInt8] in
            let old = try ks { () throws(KeyspaceError) in try w.hashGet(a[1], a[2]) }
            let current: Float80
            do { current = try old.map { v throws(CommandError) in try Arg.longDouble(v) } ?? 0 } catch { throw .err("hash value is not a float") }
            let next = current + delta
            guard next.isFinite else { throw .err("increment would produce NaN or Infinity") }
            let text = StringCommands.formatLongDouble(next)
            try ks { () throws(KeyspaceError) in _ = try w.hashSet(a[1], [(a[2], text)], nonBlocking: !c.mayWait) }
            return text
        }
        out.writeBulk(text)
    }

    /// HRANDFIELD key [count [WITHVALUES]]: distinct fields for a positive count, with
    /// repetitions for a negative one (see `KeyspaceAccess.randomElements`).
    static func hrandfield(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var count: Int?
        var withValues = false
        if a.count >= 3 { count = try Arg.integer(a[2]) }
        if a.count == 4 {
            guard Arg.isKeyword(a[3], "WITHVALUES") else { throw .syntax }
            withValues = true
        }
        if a.count > 4 { throw .syntax }
        if let count, count.magnitude > UInt(RandomSample.maxCount) { throw .err("value is out of range") }
        let r = try s.db.pinnedReader(c)
        try s.db.requireThread(forCount: Int(clamping: (count ?? 1).magnitude), c)
        let pairs = try ks { () throws(KeyspaceError) -> [(field: [UInt8], value: [UInt8])]? in
            guard try r.metadata(a[1], .hash) != nil else { return nil }
            var out: [(field: [UInt8], value: [UInt8])] = []
            for f in try r.randomElements(a[1], .hash, count: count ?? 1) { out.append((f, try r.hashGet(a[1], f) ?? [])) }
            return out
        }
        guard let pairs else {
            if count == nil { out.writeNullBulk() } else { out.writeArrayHeader(0) }
            return
        }
        guard count != nil else {
            if let pick = pairs.first { out.writeBulk(pick.field) } else { out.writeNullBulk() }
            return
        }
        out.writeArrayHeader(withValues && !out.resp3 ? pairs.count * 2 : pairs.count)
        for p in pairs {
            if withValues && out.resp3 {
                out.writeArrayHeader(2)
                out.writeBulk(p.field)
                out.writeBulk(p.value)
            } else {
                out.writeBulk(p.field)
                if withValues { out.writeBulk(p.value) }
            }
        }
    }
}

/// The random picks' argument limit (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER); the picks
/// themselves are `KeyspaceAccess.randomElements`.
enum RandomSample {
    /// The most a count may ask for: past it the reply alone would take gigabytes (Redis
    /// tries, and runs out of memory); kvserver answers "value is out of range".
    static let maxCount = 1 << 24
}
