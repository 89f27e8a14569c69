import KVCollections
import KVStore

/// DUMP key and RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ
/// frequency]: a key's value as an opaque payload (kvserver's own format, read back only by
/// kvserver: `KeyspaceAccess.dump`) and back.
enum DumpCommands {
    static func dump(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = try s.db.pinnedReader(c)
        try s.db.requireThread(forElementsOf: a[1], r, c)
        if let payload = try ks({ () throws(KeyspaceError) in try r.dump(a[1]) }) { out.writeBulk(payload) } else { out.writeNullBulk() }
    }

    static func restore(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var replace = false, absolute = false
        var i = 4
        while i < a.count {
            if Arg.isKeyword(a[i], "REPLACE") { replace = true }
            else if Arg.isKeyword(a[i], "ABSTTL") { absolute = true }
            else if (Arg.isKeyword(a[i], "IDLETIME") || Arg.isKeyword(a[i], "FREQ")), i + 1 < a.count {
                let n = try Arg.integer(a[i + 1])
                guard n >= 0 else { throw .err("Invalid \(Arg.isKeyword(a[i], "FREQ") ? "FREQ" : "IDLETIME") value, must be >= 0") }
                i += 1  // no access clock or frequency is kept
            } else { throw .syntax }
            i += 1
        }
        let ttl = try Arg.integer(a[2])
        guard ttl >= 0 else { throw .err("Invalid TTL value, must be >= 0") }
        let expiresAt: UInt64? = ttl == 0 ? nil : (absolute ? UInt64(ttl) : s.clock() &+ UInt64(ttl))
        try s.db.requireThread(forBytes: a[3].count * 4, c)
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            if !replace, try ks({ () throws(KeyspaceError) in try w.type(of: a[1]) }) != nil {
                throw CommandError("BUSYKEY Target key name already exists.")
            }
            // An absolute expiry already past: the key is only deleted (Redis does the same).
            if let e = expiresAt, e <= s.clock() {
                _ = try ks { () throws(KeyspaceError) in try w.delete(a[1]) }
                return
            }
            try ks { () throws(KeyspaceError) in try w.restore(a[1], payload: a[3], expiresAt: expiresAt, nonBlocking: !c.mayWait) }
        }
        out.writeOK()
    }
}
