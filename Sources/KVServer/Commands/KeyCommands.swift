import KVStore
import NIOCore

/// Commands on keys whatever their value: DEL, EXISTS, TTL and the EXPIRE family, TYPE,
/// RENAME, RANDOMKEY, DBSIZE, FLUSHDB.
enum KeyCommands {
    /// DEL and UNLINK: one batch for all existing keys, so they vanish together.
    static func del(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        let keys = Array(a[1...])
        try s.locks.withLocks(keys) { () throws(CommandError) in
            var batch = WriteBatch()
            var removed = 0
            var seen = Set<[UInt8]>()
            for key in keys where seen.insert(key).inserted {
                if try s.exists(key, c) {
                    batch.delete(key)
                    removed += 1
                }
            }
            if removed > 0 { try s.write(batch) }
            out.writeIntegerReply(removed)
        }
    }

    /// EXISTS counts a key named twice twice, as Redis.
    static func exists(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        var n = 0
        for key in a[1...] where try s.exists(key, c) { n += 1 }
        out.writeIntegerReply(n)
    }

    /// TTL (seconds, rounded) and PTTL: -2 for no key, -1 for no expiry.
    static func ttl(milliseconds: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            guard let v = try s.lookup(a[1], c) else { return out.writeIntegerReply(-2) }
            guard let e = v.expiresAt else { return out.writeIntegerReply(-1) }
            let left = Int(clamping: Int64(clamping: e) - Int64(clamping: s.clock()))
            out.writeIntegerReply(milliseconds ? max(left, 0) : max((left + 500) / 1000, 0))
        }
    }

    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT].
    static func expire(milliseconds: Bool, absolute: Bool, name: String) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let when = try s.expiry(a[2], milliseconds: milliseconds, absolute: absolute, name: name, allowNonPositive: true)
            var nx = false, xx = false, gt = false, lt = false
            for opt in a[3...] {
                if Arg.isKeyword(opt, "NX") { nx = true }
                else if Arg.isKeyword(opt, "XX") { xx = true }
                else if Arg.isKeyword(opt, "GT") { gt = true }
                else if Arg.isKeyword(opt, "LT") { lt = true }
                else { throw .err("Unsupported option \(Arg.string(opt))") }
            }
            if (nx && (xx || gt || lt)) || (gt && lt) {
                throw .err("NX and XX, GT or LT options at the same time are not compatible")
            }
            try s.locks.withLock(a[1]) { () throws(CommandError) in
                guard let v = try s.lookup(a[1], c) else { return out.writeIntegerReply(0) }
                // A key without expiry counts as expiring never (infinitely late) for GT/LT.
                let current = v.expiresAt.map { Int64(clamping: $0) }
                if nx && current != nil { return out.writeIntegerReply(0) }
                if xx && current == nil { return out.writeIntegerReply(0) }
                if gt && (current.map { when <= $0 } ?? true) { return out.writeIntegerReply(0) }
                if lt, let cur = current, when >= cur { return out.writeIntegerReply(0) }
                if when <= Int64(clamping: s.clock()) {
                    try s.delete(a[1])
                } else {
                    try s.put(a[1], v.value, expiresAt: UInt64(when))
                }
                out.writeIntegerReply(1)
            }
        }
    }

    static func persist(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        try s.locks.withLock(a[1]) { () throws(CommandError) in
            guard let v = try s.lookup(a[1], c), v.expiresAt != nil else { return out.writeIntegerReply(0) }
            try s.put(a[1], v.value, expiresAt: nil)
            out.writeIntegerReply(1)
        }
    }

    /// Every value is a string: "string" or "none".
    static func type(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        out.writeSimple(try s.exists(a[1], c) ? "string" : "none")
    }

    /// RENAME src dst: one batch (delete src, put dst with src's expiry), both keys locked.
    static func rename(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        let (src, dst) = (a[1], a[2])
        try s.locks.withLocks([src, dst]) { () throws(CommandError) in
            guard let v = try s.lookup(src, c) else { throw .err("no such key") }
            if src != dst {
                var batch = WriteBatch()
                batch.delete(src)
                s.add(&batch, dst, v.value, expiresAt: v.expiresAt)
                try s.write(batch)
            }
            out.writeOK()
        }
    }

    /// A key chosen by seeking to random bytes: uniform over the gaps between keys rather
    /// than over keys, which is random enough for sampling and costs one seek.
    static func randomkey(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        let it = try s.iterator()
        var target = [UInt8](repeating: 0, count: 8)
        for i in target.indices { target[i] = UInt8.random(in: 0...255) }
        it.seek(to: target)
        if !it.isValid { it.seekToFirst() }
        try s.check(it)
        if it.isValid { out.writeBulk(it.key) } else { out.writeNullBulk() }
    }

    /// Exact: walks the keys (expired ones excluded).
    static func dbsize(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        do { out.writeIntegerReply(try s.store.count()) } catch { throw .store(error) }
    }

    /// FLUSHDB / FLUSHALL [ASYNC|SYNC]: one range deletion over every key, so the cost does
    /// not grow with the number of keys; compaction reclaims the space later.
    static func flushdb(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        if a.count > 2 { throw .syntax }
        if a.count == 2 && !Arg.isKeyword(a[1], "ASYNC") && !Arg.isKeyword(a[1], "SYNC") { throw .syntax }
        try s.locks.withAllLocks { () throws(CommandError) in
            try RangeCommands.deleteRange(s, from: [], to: nil)
        }
        out.writeOK()
    }
}
