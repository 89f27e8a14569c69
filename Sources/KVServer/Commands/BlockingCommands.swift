import KVCollections
import KVStore

/// The blocking pops: BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX BZMPOP.
///
/// Each first tries as its non-blocking form, holding its keys' locks. Finding nothing, it
/// registers the client in `BlockedClients` — still under those locks, so no push can slip
/// between the look and the wait — and the connection waits (no thread waits). A writer that
/// makes one of the keys ready serves the client inside its own unit of work
/// (`Database.commit`), first blocked first served; the timeout (seconds, fractions allowed,
/// 0 forever), CLIENT UNBLOCK or a disconnect end the wait otherwise. Inside MULTI they never
/// block: an empty key answers nil at once, as in Redis.
package enum BlockingCommands {
    /// Redis's timeout argument: seconds, a float; milliseconds back (0: forever).
    static func timeout(_ arg: [UInt8]) throws(CommandError) -> Int {
        guard let v = SortedSetArguments.double(arg), v.isFinite else { throw .err("timeout is not a float or out of range") }
        guard v >= 0 else { throw .err("timeout is negative") }
        let ms = v * 1000
        guard ms < Double(Int.max / 2) else { throw .err("timeout is out of range") }
        // A positive timeout below a millisecond still times out (after one).
        return v > 0 ? max(1, Int(ms.rounded(.up))) : 0
    }

    /// Registers `c` as blocked on `keys` (the caller holds their locks).
    static func block(_ s: ServerContext, _ c: inout Session, keys: [[UInt8]], kind: BlockedClient.Kind, timeout: Int, serve: @escaping BlockedClient.Serve) {
        c.blockedOn = s.db.blocked.block(clientID: c.record.id, keys: keys, kind: kind, resp3: c.resp3, serve: serve)
        c.blockTimeoutMillis = timeout
    }

    /// Ends the wait `c` just registered, if any, as a timeout: for a caller that will not
    /// wait (the fuzz target runs every command on one thread, reading no replies).
    package static func abandon(_ s: ServerContext, _ c: inout Session) {
        guard let waiter = c.blockedOn else { return }
        s.db.blocked.end(waiter, nil)
        c.blockedOn = nil
    }

    /// Whether `key` holds a collection of `type` (what a waiter of that kind is served from).
    static func holds<S: KeyspaceReader>(_ w: KeyspaceAccess<S>, _ key: [UInt8], _ type: KeyType) throws(CommandError) -> Bool {
        if case .collection(let m, _) = try ks({ () throws(KeyspaceError) in try w.entry(key) }), m.type == type { return true }
        return false
    }

    // MARK: Lists

    /// BLPOP and BRPOP key [key …] timeout
    static func bpop(left: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let keys = Array(a[1..<(a.count - 1)])
            let timeout = try timeout(a[a.count - 1])
            try s.db.write(keys, c) { (w) throws(CommandError) in
                if let (key, values) = try ListCommands.mpop(w, keys, left: left, count: 1), let v = values.first {
                    return writePair(key, v, &out)
                }
                guard c.transaction == nil else { return out.writeNullArray() }
                block(s, &c, keys: keys, kind: .list, timeout: timeout) { w, key, _, _, out throws(CommandError) in
                    guard try holds(w, key, .list),
                          let v = try ks({ () throws(KeyspaceError) in try w.listPop(key, left: left, count: 1) })?.first else { return false }
                    writePair(key, v, &out)
                    return true
                }
            }
        }
    }

    static func writePair(_ key: [UInt8], _ value: [UInt8], _ out: inout RESPReplyWriter) {
        out.writeArrayHeader(2)
        out.writeBulk(key)
        out.writeBulk(value)
    }

    /// BLMPOP timeout numkeys key [key …] LEFT|RIGHT [COUNT count]
    static func blmpop(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let timeout = try timeout(a[1])
        let (keys, rest) = try Arg.numkeys(a, at: 2)
        let (left, count) = try ListCommands.mpopOptions(rest)
        try s.db.write(keys, c) { (w) throws(CommandError) in
            if let result = try ListCommands.mpop(w, keys, left: left, count: count) { return ListCommands.writeMpop(result, &out) }
            guard c.transaction == nil else { return out.writeNullArray() }
            block(s, &c, keys: keys, kind: .list, timeout: timeout) { w, key, _, _, out throws(CommandError) in
                guard try holds(w, key, .list),
                      let values = try ks({ () throws(KeyspaceError) in try w.listPop(key, left: left, count: count) }), !values.isEmpty else { return false }
                ListCommands.writeMpop((key, values), &out)
                return true
            }
        }
    }

    /// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, and BRPOPLPUSH source
    /// destination timeout. Served, it pushes into the destination within the same unit of
    /// work, which may serve a client blocked there in turn.
    static func blmove(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let (src, dst) = (a[1], a[2])
        let (fromLeft, toLeft) = a.count == 6 ? (try ListCommands.side(a[3]), try ListCommands.side(a[4])) : (false, true)
        let timeout = try timeout(a[a.count - 1])
        try s.db.write([src, dst], c) { (w) throws(CommandError) in
            if let v = try ListCommands.move(w, src, dst, fromLeft: fromLeft, toLeft: toLeft, nonBlocking: !c.mayWait) {
                return out.writeBulk(v)
            }
            guard c.transaction == nil else { return out.writeNullBulk() }
            block(s, &c, keys: [src], kind: .list, timeout: timeout) { w, key, lock, mayWait, out throws(CommandError) in
                guard try holds(w, key, .list), lock(dst) else { return false }
                // A destination of another type: this client gets WRONGTYPE, the element stays.
                _ = try ks { () throws(KeyspaceError) in try w.metadata(dst, .list) }
                guard let v = try ListCommands.move(w, key, dst, fromLeft: fromLeft, toLeft: toLeft, nonBlocking: !mayWait) else { return false }
                out.writeBulk(v)
                return true
            }
        }
    }

    // MARK: Sorted sets

    /// BZPOPMIN and BZPOPMAX key [key …] timeout
    static func bzpop(max: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let keys = Array(a[1..<(a.count - 1)])
            let timeout = try timeout(a[a.count - 1])
            try s.db.write(keys, c) { (w) throws(CommandError) in
                if let (key, pairs) = try SortedSetCommands.mpop(w, keys, max: max, count: 1), let p = pairs.first {
                    return writeTriple(key, p, &out)
                }
                guard c.transaction == nil else { return out.writeNullArray() }
                block(s, &c, keys: keys, kind: .sortedSet, timeout: timeout) { w, key, _, _, out throws(CommandError) in
                    guard try holds(w, key, .sortedSet), let p = try SortedSetCommands.pop(w, key, max: max, count: 1).first else { return false }
                    writeTriple(key, p, &out)
                    return true
                }
            }
        }
    }

    static func writeTriple(_ key: [UInt8], _ p: (member: [UInt8], score: Double), _ out: inout RESPReplyWriter) {
        out.writeArrayHeader(3)
        out.writeBulk(key)
        out.writeBulk(p.member)
        out.writeDouble(p.score)
    }

    /// BZMPOP timeout numkeys key [key …] MIN|MAX [COUNT count]
    static func bzmpop(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let timeout = try timeout(a[1])
        let (keys, rest) = try Arg.numkeys(a, at: 2)
        let (max, count) = try SortedSetCommands.mpopOptions(rest)
        try s.db.write(keys, c) { (w) throws(CommandError) in
            if let result = try SortedSetCommands.mpop(w, keys, max: max, count: count) { return SortedSetCommands.writeMpop(result, &out) }
            guard c.transaction == nil else { return out.writeNullArray() }
            block(s, &c, keys: keys, kind: .sortedSet, timeout: timeout) { w, key, _, _, out throws(CommandError) in
                guard try holds(w, key, .sortedSet) else { return false }
                let pairs = try SortedSetCommands.pop(w, key, max: max, count: count)
                guard !pairs.isEmpty else { return false }
                SortedSetCommands.writeMpop((key, pairs), &out)
                return true
            }
        }
    }
}
