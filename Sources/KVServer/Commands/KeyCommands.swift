import KVCollections
import KVStore
import NIOCore

/// Commands on keys whatever they hold: DEL, EXISTS, TTL and the EXPIRE family, TYPE,
/// RENAME, RENAMENX, COPY, OBJECT, MEMORY USAGE, RANDOMKEY, DBSIZE, FLUSHDB.
enum KeyCommands {
    /// DEL and UNLINK: one batch for all existing keys, so they vanish together.
    static func del(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let keys = Array(a[1...])
        try s.db.write(keys, c) { (w) throws(CommandError) in
            var removed = 0
            var seen = Set<[UInt8]>()
            for key in keys where seen.insert(key).inserted {
                if try ks({ () throws(KeyspaceError) in try w.delete(key) }) { removed += 1 }
            }
            out.writeIntegerReply(removed)
        }
    }

    /// EXISTS counts a key named twice twice, as Redis.
    static func exists(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var n = 0
        for key in a[1...] where try s.db.exists(key, c) { n += 1 }
        out.writeIntegerReply(n)
    }

    /// TTL (seconds, rounded) and PTTL: -2 for no key, -1 for no expiry.
    static func ttl(milliseconds: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let entry = try ks { () throws(KeyspaceError) in try s.db.reader(c).entry(a[1]) }
            guard entry.type != nil else { return out.writeIntegerReply(-2) }
            guard let e = entry.expiresAt else { return out.writeIntegerReply(-1) }
            let left = Int(clamping: Int64(clamping: e) - Int64(clamping: s.clock()))
            out.writeIntegerReply(milliseconds ? max(left, 0) : max((left + 500) / 1000, 0))
        }
    }

    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT].
    static func expire(milliseconds: Bool, absolute: Bool, name: String) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let when = try Arg.expiry(a[2], milliseconds: milliseconds, absolute: absolute, name: name, allowNonPositive: true, now: s.clock())
            var nx = false, xx = false, gt = false, lt = false
            for opt in a[3...] {
                if Arg.isKeyword(opt, "NX") { nx = true }
                else if Arg.isKeyword(opt, "XX") { xx = true }
                else if Arg.isKeyword(opt, "GT") { gt = true }
                else if Arg.isKeyword(opt, "LT") { lt = true }
                else { throw .err("Unsupported option \(Arg.string(opt))") }
            }
            if nx && (xx || gt || lt) { throw .err("NX and XX, GT or LT options at the same time are not compatible") }
            if gt && lt { throw .err("GT and LT options at the same time are not compatible") }
            let raw = s.db.encodings.isRaw(a[1])
            try s.db.write([a[1]], c) { (w) throws(CommandError) in
                let entry = try ks { () throws(KeyspaceError) in try w.entry(a[1]) }
                guard entry.type != nil else { return out.writeIntegerReply(0) }
                // A key without expiry counts as expiring never (infinitely late) for GT/LT.
                let current = entry.expiresAt.map { Int64(clamping: $0) }
                if nx && current != nil { return out.writeIntegerReply(0) }
                if xx && current == nil { return out.writeIntegerReply(0) }
                if gt && (current.map { when <= $0 } ?? true) { return out.writeIntegerReply(0) }
                if lt, let cur = current, when >= cur { return out.writeIntegerReply(0) }
                // At or before now, the key goes.
                _ = try ks { () throws(KeyspaceError) in try w.setExpiry(a[1], UInt64(clamping: max(when, 0))) }
                out.writeIntegerReply(1)
            }
            if raw && when > Int64(clamping: s.clock()) { s.db.encodings.markRaw(a[1]) }  // a new expiry, the same object
        }
    }

    static func persist(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let raw = s.db.encodings.isRaw(a[1])
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            let entry = try ks { () throws(KeyspaceError) in try w.entry(a[1]) }
            guard entry.type != nil, entry.expiresAt != nil else { return out.writeIntegerReply(0) }
            _ = try ks { () throws(KeyspaceError) in try w.setExpiry(a[1], nil) }
            out.writeIntegerReply(1)
        }
        if raw { s.db.encodings.markRaw(a[1]) }
    }

    /// string, hash, set, zset, list, or none.
    static func type(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeSimple(try ks { () throws(KeyspaceError) in try s.db.reader(c).type(of: a[1]) }?.name ?? "none")
    }

    /// RENAME src dst and RENAMENX src dst: one batch (delete src, put dst with src's
    /// expiry), both keys locked. RENAMENX answers 0 when dst exists.
    static func rename(onlyIfAbsent: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let (src, dst) = (a[1], a[2])
            let raw = s.db.encodings.isRaw(src)
            var moved = false
            try s.db.write([src, dst], c) { (w) throws(CommandError) in
                guard try ks({ () throws(KeyspaceError) in try w.type(of: src) }) != nil else { throw .err("no such key") }
                if src == dst { return onlyIfAbsent ? out.writeIntegerReply(0) : out.writeOK() }
                if onlyIfAbsent, try ks({ () throws(KeyspaceError) in try w.type(of: dst) }) != nil { return out.writeIntegerReply(0) }
                try s.db.requireThread(forElementsOf: src, w, c)
                _ = try ks { () throws(KeyspaceError) in try w.rename(src, to: dst, nonBlocking: !c.mayWait) }
                moved = true
                if onlyIfAbsent { out.writeIntegerReply(1) } else { out.writeOK() }
            }
            if moved && raw { s.db.encodings.markRaw(dst) }
        }
    }

    /// COPY source destination [DB 0] [REPLACE]: the value and its expiry; 0 when the source
    /// is missing or the destination exists without REPLACE.
    static func copy(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var replace = false
        var db = 0
        var i = 3
        while i < a.count {
            if Arg.isKeyword(a[i], "REPLACE") { replace = true }
            else if Arg.isKeyword(a[i], "DB"), i + 1 < a.count {
                db = try Arg.integer(a[i + 1])
                i += 1
            } else { throw .syntax }
            i += 1
        }
        guard db == 0 else { throw .err("DB index is out of range") }
        let (src, dst) = (a[1], a[2])
        if src == dst { throw .err("source and destination objects are the same") }
        var copied = false
        try s.db.write([src, dst], c) { (w) throws(CommandError) in
            try s.db.requireThread(forElementsOf: src, w, c)
            copied = try ks { () throws(KeyspaceError) in try w.copy(src, to: dst, replace: replace, nonBlocking: !c.mayWait) }
            out.writeIntegerReply(copied ? 1 : 0)
        }
        if copied && s.db.encodings.isRaw(src) { s.db.encodings.markRaw(dst) }
    }

    /// EXPIRETIME and PEXPIRETIME: the absolute expiry, -1 without one, -2 without the key.
    static func expiretime(milliseconds: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let entry = try ks { () throws(KeyspaceError) in try s.db.reader(c).entry(a[1]) }
            guard entry.type != nil else { return out.writeIntegerReply(-2) }
            guard let e = entry.expiresAt else { return out.writeIntegerReply(-1) }
            out.writeIntegerReply(Int(clamping: milliseconds ? e : e / 1000))
        }
    }

    /// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP key. Values are stored as bytes;
    /// ENCODING names the encoding Redis would have for the same string: by its bytes (int,
    /// embstr, raw), or raw after an in-place change (`EncodingHints`).
    static func object(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "HELP") {
            let lines = [
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>", "    Return the kind of internal representation used in order to store the value", "    associated with a <key>.",
                "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is", "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of", "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>", "    Return the number of references of the value associated with the specified", "    <key>.",
                "HELP", "    Prints this help.",
            ]
            out.writeHelp(lines)
            return
        }
        let known = Arg.isKeyword(sub, "ENCODING") || Arg.isKeyword(sub, "REFCOUNT") || Arg.isKeyword(sub, "IDLETIME") || Arg.isKeyword(sub, "FREQ")
        guard known else { throw .err("unknown subcommand '\(Arg.string(sub))'. Try OBJECT HELP.") }
        guard a.count == 3 else { throw .err("wrong number of arguments for 'object|\(Arg.string(sub).lowercased())' command") }
        let entry = try ks { () throws(KeyspaceError) in try s.db.reader(c).entry(a[2]) }
        if Arg.isKeyword(sub, "ENCODING") {
            switch entry {
            case .none: out.writeNullBulk()
            case .string(let v):
                let value = v.value
                if s.db.encodings.isRaw(a[2]) { out.writeBulk("raw") }
                else if value.count <= 20, (try? Arg.integer(value)) != nil { out.writeBulk("int") }
                else if value.count <= 44 { out.writeBulk("embstr") }
                else { out.writeBulk("raw") }
            case .collection(let meta, _):
                out.writeBulk(Self.encodingName(meta))
            }
            return
        }
        guard entry.type != nil else { return out.writeNullBulk() }
        if Arg.isKeyword(sub, "REFCOUNT") {
            out.writeIntegerReply(1)
        } else if Arg.isKeyword(sub, "IDLETIME") {
            out.writeIntegerReply(0)
        } else {
            throw .err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        }
    }

    /// Redis 7.0's name for how it would hold this collection: its small encoding until a
    /// size limit was passed (sticky), lists always a quicklist.
    static func encodingName(_ meta: CollectionMetadata) -> String {
        switch meta.type {
        case .hash: return meta.isConverted ? "hashtable" : "listpack"
        case .set: return meta.isConverted ? "hashtable" : "intset"
        case .sortedSet: return meta.isConverted ? "skiplist" : "listpack"
        case .list: return "quicklist"
        case .string: return "raw"
        }
    }

    /// MEMORY USAGE key [SAMPLES n]: bytes the key takes, estimated: a string's key and
    /// value; a collection's key and record plus its element count times the average size of
    /// up to `n` sampled elements (5 by default, 0: all), as Redis samples.
    static func memory(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "HELP") {
            out.writeHelp([
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "USAGE <key> [SAMPLES <count>]", "    Return memory in bytes used by <key> and its value. Nested values are", "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP", "    Prints this help.",
            ])
            return
        }
        guard Arg.isKeyword(sub, "USAGE") else { throw .err("unknown subcommand '\(Arg.string(sub))'. Try MEMORY HELP.") }
        guard a.count == 3 || a.count == 5 else { throw .syntax }
        var samples = 5
        if a.count == 5 {
            guard Arg.isKeyword(a[3], "SAMPLES") else { throw .syntax }
            samples = try Arg.integer(a[4])
            guard samples >= 0 else { throw .syntax }
        }
        let r = s.db.reader(c)
        let entry = try ks { () throws(KeyspaceError) in try r.entry(a[2]) }
        switch entry {
        case .none: out.writeNullBulk()
        case .string(let v): out.writeIntegerReply(a[2].count + v.value.count + 16)
        case .collection(let meta, _):
            let sampled = try ks { () throws(KeyspaceError) in try r.sampleElementBytes(a[2], meta, limit: samples == 0 ? Int.max : samples) }
            out.writeIntegerReply(a[2].count + 34 + Int(meta.count) * sampled)
        }
    }

    /// A key chosen by seeking to a random point between the first and the last key, then
    /// taking the key at or after it or the one before, by a coin: every key has a chance
    /// (the two keys of a two-key database come up evenly), at the cost of three seeks, not
    /// a walk. Keys after wide gaps come up more often than keys in dense runs.
    static func randomkey(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let it = try ks { () throws(KeyspaceError) in try s.db.reader(c).keys() }
        func check() throws(CommandError) {
            do { try it.check() } catch { throw .store(error) }
        }
        it.seekToFirst()
        try check()
        guard it.isValid else { return out.writeNullBulk() }
        let first = it.key
        it.seekToLast()
        try check()
        guard it.isValid else { return out.writeNullBulk() }
        let last = it.key
        if first == last { return out.writeBulk(first) }
        var target: [UInt8] = []
        var i = 0
        while i < first.count && i < last.count && first[i] == last[i] {
            target.append(first[i])
            i += 1
        }
        let low = i < first.count ? first[i] : 0
        let high = i < last.count ? last[i] : 255
        target.append(UInt8.random(in: low...high))
        for _ in 0..<8 { target.append(UInt8.random(in: 0...255)) }
        it.seek(to: target)
        if !it.isValid { it.seekToLast() }
        if Bool.random() {
            it.previous()
            if !it.isValid { it.seekToFirst() }
        }
        try check()
        if it.isValid { out.writeBulk(it.key) } else { out.writeNullBulk() }
    }

    /// Exact: walks the keys (expired ones excluded), whatever their type; inside EXEC, the
    /// keys as the transaction sees them.
    static func dbsize(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let it = try ks { () throws(KeyspaceError) in try s.db.reader(c).keys() }
        var n = 0
        it.seekToFirst()
        while it.isValid {
            n += 1
            it.next()
        }
        do { try it.check() } catch { throw .store(error) }
        out.writeIntegerReply(n)
    }

    /// FLUSHDB / FLUSHALL [ASYNC|SYNC]: one range deletion over every key, so the cost does
    /// not grow with the number of keys; compaction reclaims the space later.
    static func flushdb(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if a.count > 2 { throw .syntax }
        if a.count == 2 && !Arg.isKeyword(a[1], "ASYNC") && !Arg.isKeyword(a[1], "SYNC") { throw .syntax }
        try s.db.writeAll(c) { (w) throws(CommandError) in
            try s.db.deleteKeys(from: [], to: nil, w, dropElements: true)
        }
        out.writeOK()
    }
}
