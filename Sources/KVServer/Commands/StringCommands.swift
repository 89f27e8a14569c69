import KVCollections
import KVStore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// GET, SET and the other string commands. Writes hold their keys' stripes (`KeyLocks`)
/// across read and write, which makes every read-modify-write atomic.
enum StringCommands {
    static func get(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        try answerGet(try s.db.entry(a[1], c), &c, &out)
    }

    /// GET's reply for its key's main entry: alone, or in a pipelined multi-get.
    static let answerGet: EntryAnswer = { entry, c, out throws(CommandError) in
        switch entry {
        case .string(let stored):
            c.hits += 1
            out.writeBulk(stored.value)
        case .none:
            c.misses += 1
            out.writeNullBulk()
        case .collection:
            throw .wrongType
        }
    }

    /// `SET key value` when it reads nothing — no NX, XX, GET, KEEPTTL, expiry — as a batch
    /// entry of the connection's pipelined writes; false when the full command must run.
    /// The same parse as `set`, so the two cannot disagree on what a plain SET is.
    static let batchSet: @Sendable ([[UInt8]], inout WriteBatch) -> Bool = { a, batch in
        guard let request = try? SetRequest(a, now: 0), request.isPlain else { return false }
        batch.put(Keyspace.mainKey(a[1]), a[2])
        return true
    }

    /// `MSET k v …` as batch entries (an odd pair count is the full command's error).
    static let batchMset: @Sendable ([[UInt8]], inout WriteBatch) -> Bool = { a, batch in
        guard a.count % 2 == 1 else { return false }
        for i in stride(from: 1, to: a.count, by: 2) { batch.put(Keyspace.mainKey(a[i]), a[i + 1]) }
        return true
    }

    /// SET's options, parsed once for both paths.
    struct SetRequest {
        var nx = false, xx = false, returnOld = false, keepTTL = false
        var expiresAt: Int64?

        /// A SET that neither reads nor expires: an unconditional put.
        var isPlain: Bool { !nx && !xx && !returnOld && !keepTTL && expiresAt == nil }

        /// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms|KEEPTTL]; `now` turns a
        /// relative expiry into an absolute one.
        init(_ a: [[UInt8]], now: UInt64) throws(CommandError) {
            var expiryKind: (Bool, Bool)?
            var i = 3
            while i < a.count {
                let opt = a[i]
                if Arg.isKeyword(opt, "NX"), !xx { nx = true }
                else if Arg.isKeyword(opt, "XX"), !nx { xx = true }
                else if Arg.isKeyword(opt, "GET") { returnOld = true }
                else if Arg.isKeyword(opt, "KEEPTTL"), expiresAt == nil { keepTTL = true }
                else if let kind = Self.expiryKind(opt) {
                    // The same option again replaces the first (Redis 7.0); a different one clashes.
                    if let previous = expiryKind, previous != kind { throw .syntax }
                    guard !keepTTL, i + 1 < a.count else { throw .syntax }
                    expiryKind = kind
                    expiresAt = try Arg.expiry(a[i + 1], milliseconds: kind.0, absolute: kind.1, name: "set", allowNonPositive: false, now: now)
                    i += 1
                } else { throw .syntax }
                i += 1
            }
        }

        /// (milliseconds, absolute) of EX, PX, EXAT, PXAT.
        private static func expiryKind(_ opt: [UInt8]) -> (Bool, Bool)? {
            if Arg.isKeyword(opt, "EX") { return (false, false) }
            if Arg.isKeyword(opt, "PX") { return (true, false) }
            if Arg.isKeyword(opt, "EXAT") { return (false, true) }
            if Arg.isKeyword(opt, "PXAT") { return (true, true) }
            return nil
        }
    }

    /// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms|KEEPTTL]
    static func set(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = try SetRequest(a, now: s.clock())
        let key = a[1]
        try s.db.write([key], c) { (w) throws(CommandError) in
            // Plain SET (the common case) reads nothing: it replaces whatever the key held.
            var old: MainEntry = .none
            if r.nx || r.xx || r.returnOld || r.keepTTL { old = try ks { () throws(KeyspaceError) in try w.entry(key) } }
            // GET needs a string to return (the key is left untouched otherwise).
            if r.returnOld, case .collection = old { throw .wrongType }
            let exists = old.type != nil
            if (r.nx && exists) || (r.xx && !exists) {
                if r.returnOld, case .string(let v) = old { out.writeBulk(v.value) } else { out.writeNullBulk() }
                return
            }
            let deadline = r.keepTTL ? old.expiresAt : r.expiresAt.map { UInt64(clamping: $0) }
            w.setString(key, a[2], expiresAt: deadline)
            if r.returnOld {
                if case .string(let v) = old { out.writeBulk(v.value) } else { out.writeNullBulk() }
            } else {
                out.writeOK()
            }
        }
    }

    static func setnx(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let key = a[1]
        try s.db.write([key], c) { (w) throws(CommandError) in
            if try ks({ () throws(KeyspaceError) in try w.type(of: key) }) != nil {
                out.writeIntegerReply(0)
            } else {
                w.setString(key, a[2])
                out.writeIntegerReply(1)
            }
        }
    }

    /// SETEX key seconds value / PSETEX key milliseconds value
    static func setex(milliseconds: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let e = try Arg.expiry(a[2], milliseconds: milliseconds, absolute: false, name: milliseconds ? "psetex" : "setex", allowNonPositive: false, now: s.clock())
            try s.db.write([a[1]], c) { (w) throws(CommandError) in w.setString(a[1], a[3], expiresAt: UInt64(clamping: e)) }
            out.writeOK()
        }
    }

    static func getset(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            let old = try ks { () throws(KeyspaceError) in try w.string(a[1]) }
            w.setString(a[1], a[2])
            if let old { out.writeBulk(old.value) } else { out.writeNullBulk() }
        }
    }

    static func getdel(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            guard let old = try ks({ () throws(KeyspaceError) in try w.string(a[1]) }) else { return out.writeNullBulk() }
            _ = try ks { () throws(KeyspaceError) in try w.delete(a[1]) }
            out.writeBulk(old.value)
        }
    }

    /// GETEX key [EX s|PX ms|EXAT ts|PXAT ms|PERSIST]
    static func getex(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var newExpiry: Int64?
        var persist = false
        if a.count > 2 {
            guard a.count == 3 || a.count == 4 else { throw .syntax }
            let opt = a[2]
            if a.count == 3 {
                guard Arg.isKeyword(opt, "PERSIST") else { throw .syntax }
                persist = true
            } else {
                let (ms, absolute): (Bool, Bool)
                if Arg.isKeyword(opt, "EX") { (ms, absolute) = (false, false) }
                else if Arg.isKeyword(opt, "PX") { (ms, absolute) = (true, false) }
                else if Arg.isKeyword(opt, "EXAT") { (ms, absolute) = (false, true) }
                else if Arg.isKeyword(opt, "PXAT") { (ms, absolute) = (true, true) }
                else { throw .syntax }
                newExpiry = try Arg.expiry(a[3], milliseconds: ms, absolute: absolute, name: "getex", allowNonPositive: false, now: s.clock())
            }
        }
        let raw = s.db.encodings.isRaw(a[1])
        defer { if raw { s.db.encodings.markRaw(a[1]) } }  // a new expiry, the same object
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            guard let old = try ks({ () throws(KeyspaceError) in try w.string(a[1]) }) else { return out.writeNullBulk() }
            if let e = newExpiry {
                w.setString(a[1], old.value, expiresAt: UInt64(clamping: e))
            } else if persist && old.expiresAt != nil {
                w.setString(a[1], old.value, expiresAt: nil)
            }
            out.writeBulk(old.value)
        }
    }

    static func mget(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        // One view for all keys (the engine's multi-get), so an MSET is seen whole or not at
        // all, as in Redis.
        let r = s.db.reader(c)
        let entries = try ks { () throws(KeyspaceError) in try r.entries(Array(a[1...])) }
        out.writeArrayHeader(a.count - 1)
        for entry in entries {
            // A key of another type reads as nil here, not an error (Redis's MGET).
            if case .string(let stored) = entry {
                let v = stored.value
                c.hits += 1
                out.writeBulk(v)
            } else {
                c.misses += 1
                out.writeNullBulk()
            }
        }
    }

    /// MSET and MSETNX: one batch, so all keys change at once (also across a crash).
    static func mset(onlyIfNoneExist: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            guard a.count % 2 == 1 else { throw .wrongArity(onlyIfNoneExist ? "msetnx" : "mset") }
            let keys = stride(from: 1, to: a.count, by: 2).map { a[$0] }
            try s.db.write(keys, c) { (w) throws(CommandError) in
                if onlyIfNoneExist {
                    for key in keys where try ks({ () throws(KeyspaceError) in try w.type(of: key) }) != nil {
                        return out.writeIntegerReply(0)
                    }
                }
                for i in stride(from: 1, to: a.count, by: 2) { w.setString(a[i], a[i + 1]) }
                if onlyIfNoneExist { out.writeIntegerReply(1) } else { out.writeOK() }
            }
        }
    }

    /// INCR, DECR, INCRBY, DECRBY: the expiry, if any, is kept.
    static func incr(by fixed: Int?, negate: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            var delta: Int
            if let fixed { delta = fixed } else { delta = try Arg.integer(a[2]) }
            if negate {
                guard delta != Int.min else { throw .err("decrement would overflow") }
                delta = -delta
            }
            try s.db.write([a[1]], c) { (w) throws(CommandError) in
                let old = try ks { () throws(KeyspaceError) in try w.string(a[1]) }
                let current = try old.map { v throws(CommandError) in try Arg.storedInteger(v.value) } ?? 0
                let (next, o) = current.addingReportingOverflow(delta)
                if o { throw .overflow }
                w.setString(a[1], Array(String(next).utf8), expiresAt: old?.expiresAt)
                out.writeIntegerReply(next)
            }
        }
    }

    static func incrbyfloat(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let delta = try Arg.longDouble(a[2])
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            let old = try ks { () throws(KeyspaceError) in try w.string(a[1]) }
            let current = try old.map { v throws(CommandError) in try Arg.longDouble(v.value) } ?? 0
            let next = current + delta
            guard next.isFinite else { throw .err("increment would produce NaN or Infinity") }
            let text = formatLongDouble(next)
            w.setString(a[1], text, expiresAt: old?.expiresAt)
            out.writeBulk(text)
        }
    }

    /// Redis's human-friendly long double (`ld2string` with LD_STR_HUMAN): 17 digits after
    /// the point, trailing zeros and a bare point removed, "-0" as "0".
    static func formatLongDouble(_ value: Float80) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 5 * 1024)
        let written = withVaList([value]) { args in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.17Lf", args) }
        }
        var text = buffer.prefix(max(0, min(Int(written), buffer.count - 1))).map { UInt8(bitPattern: $0) }
        if text.contains(UInt8(ascii: ".")) {
            while text.last == UInt8(ascii: "0") { text.removeLast() }
            if text.last == UInt8(ascii: ".") { text.removeLast() }
        }
        if text == Array("-0".utf8) { text = [UInt8(ascii: "0")] }
        return text
    }

    static func append(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var appended = false
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            let old = try ks { () throws(KeyspaceError) in try w.string(a[1]) }
            var value = old?.value ?? []
            guard value.count + a[2].count <= s.config.limits.maxBulkLength else {
                throw .err("string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            try s.db.requireThread(forBytes: value.count + a[2].count, c)
            value.append(contentsOf: a[2])
            w.setString(a[1], value, expiresAt: old?.expiresAt)
            appended = old != nil
            out.writeIntegerReply(value.count)
        }
        if appended { s.db.encodings.markRaw(a[1]) }  // Redis appends to a raw copy
    }

    static func strlen(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(try s.db.string(a[1], c)?.value.count ?? 0)
    }

    /// GETRANGE key start end — inclusive offsets, negative from the end.
    static func getrange(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var start = try Arg.integer(a[2])
        var end = try Arg.integer(a[3])
        let value = try s.db.string(a[1], c)?.value ?? []
        let n = value.count
        if start < 0 && end < 0 && start > end { return out.writeBulk([UInt8]()) }
        if start < 0 { start = n + start }
        if end < 0 { end = n + end }
        start = max(start, 0)
        end = max(end, 0)
        if end >= n { end = n - 1 }
        if n == 0 || start > end { return out.writeBulk([UInt8]()) }
        out.writeBulk(value[start...end])
    }

    /// SETRANGE key offset value — zero-pads a short or missing value.
    static func setrange(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let offset = try Arg.integer(a[2])
        guard offset >= 0 else { throw .err("offset is out of range") }
        let patch = a[3]
        var changed = false
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            let old = try ks { () throws(KeyspaceError) in try w.string(a[1]) }
            var value = old?.value ?? []
            if patch.isEmpty { return out.writeIntegerReply(value.count) }
            let (end, o) = offset.addingReportingOverflow(patch.count)
            guard !o, end <= s.config.limits.maxBulkLength else {
                throw .err("string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            try s.db.requireThread(forBytes: max(end, value.count), c)
            if value.count < end { value.append(contentsOf: repeatElement(0, count: end - value.count)) }
            value.replaceSubrange(offset..<end, with: patch)
            w.setString(a[1], value, expiresAt: old?.expiresAt)
            changed = true
            out.writeIntegerReply(value.count)
        }
        if changed { s.db.encodings.markRaw(a[1]) }
    }
}
