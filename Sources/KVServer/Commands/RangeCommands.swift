import KVCollections
import KVStore
import NIOCore

/// What a hash table cannot do: keys in order. RANGE and DELRANGE (our own commands), and
/// SCAN and KEYS, whose cursors and prefix patterns use the order too.
enum RangeCommands {
    /// RANGE start end [LIMIT n] [REV] [KEYSONLY]: keys in [start, end) with their values, in
    /// key order (or reverse), as a flat array `key, value, key, value …`. An empty `end`
    /// means no upper bound; an empty `start` is the first key anyway.
    static func range(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var limit = Int.max
        var reverse = false
        var keysOnly = false
        var i = 3
        while i < a.count {
            if Arg.isKeyword(a[i], "LIMIT"), i + 1 < a.count {
                limit = try Arg.integer(a[i + 1])
                guard limit >= 0 else { throw .err("LIMIT must not be negative") }
                i += 2
            } else if Arg.isKeyword(a[i], "REV") {
                reverse = true
                i += 1
            } else if Arg.isKeyword(a[i], "KEYSONLY") {
                keysOnly = true
                i += 1
            } else {
                throw .syntax
            }
        }
        let it = try ks { () throws(KeyspaceError) in
            try s.db.reader(c).keys(from: a[1].isEmpty ? nil : a[1], to: a[2].isEmpty ? nil : a[2])
        }
        // Collect first: the reply's length comes before its elements.
        var body = out.makeBody()
        var n = 0
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid && n < limit {
            body.writeBulk(it.key)
            if !keysOnly {
                // A collection's value is not a string: nil in its place (TYPE tells what).
                if it.type == .string { body.writeBulk(it.value) } else { body.writeNullBulk() }
            }
            n += 1
            if reverse { it.previous() } else { it.next() }
        }
        do { try it.check() } catch { throw .store(error) }
        out.writeArrayHeader(keysOnly ? n : 2 * n)
        out.append(&body)
    }

    /// DELRANGE start end: deletes every key in [start, end) with one range deletion, however
    /// many keys that is (an empty `end`: to the last key). Replies OK.
    static func delrange(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let end: [UInt8]? = a[2].isEmpty ? nil : a[2]
        if let end, end.lexicographicallyPrecedes(a[1]) { throw .err("DELRANGE start sorts after end") }
        try s.db.writeAll(c) { (w) throws(CommandError) in
            try s.db.deleteKeys(from: a[1], to: end, w, dropElements: false)
        }
        out.writeOK()
    }

    /// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: examines about COUNT keys (default
    /// 10) after the cursor's key and returns those that match. A pattern with a literal
    /// prefix seeks to it and ends the scan where the prefix ends.
    static func scan(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a[1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), !a[1].isEmpty,
              let cursor = UInt64(Arg.string(a[1])) else { throw .err("invalid cursor") }
        var glob: Glob?
        var count = 10
        var typeFilter: [UInt8]?
        var i = 2
        while i < a.count {
            guard i + 1 < a.count else { throw .syntax }
            if Arg.isKeyword(a[i], "MATCH") { glob = Glob(a[i + 1]) }
            else if Arg.isKeyword(a[i], "COUNT") {
                count = try Arg.integer(a[i + 1])
                guard count >= 1 else { throw .syntax }
            } else if Arg.isKeyword(a[i], "TYPE") { typeFilter = a[i + 1] }
            else { throw .syntax }
            i += 2
        }
        var resume: [UInt8]?
        if cursor != 0 {
            guard let key = s.db.cursors.resumeKey(cursor) else {
                throw .err("invalid cursor (unknown or expired: SCAN cursors live for the newest \(ScanCursors.capacity) scans and until a restart)")
            }
            resume = key
        }
        // An unknown type matches nothing (Redis answers an empty scan too).
        let wanted: KeyType?? = typeFilter.map { KeyType(name: Arg.string($0)) }
        var prefix: [UInt8]?
        if let g = glob, !g.matchesAll, !g.literalPrefix.isEmpty { prefix = g.literalPrefix }
        let it = try ks { () throws(KeyspaceError) in try s.db.reader(c).keys(prefix: prefix) }
        if let resume {
            it.seek(to: resume + [0])  // the smallest key after the last one returned
        } else {
            it.seekToFirst()
        }
        var found: [[UInt8]] = []
        var examined = 0
        var last: [UInt8]?
        while it.isValid && examined < count {
            let key = it.key
            let typeMatches = wanted.map { $0 == it.type } ?? true
            if typeMatches && (glob.map({ $0.matchesAll || $0.matches(key) }) ?? true) { found.append(key) }
            last = key
            examined += 1
            it.next()
        }
        do { try it.check() } catch { throw .store(error) }
        let next: UInt64 = it.isValid ? s.db.cursors.save(last ?? []) : 0
        out.writeArrayHeader(2)
        out.writeBulk(String(next))
        out.writeArrayHeader(found.count)
        for key in found { out.writeBulk(key) }
    }

    /// KEYS pattern: every matching key, in key order (prefix patterns seek).
    static func keys(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let glob = Glob(a[1])
        let prefix = glob.literalPrefix
        let it = try ks { () throws(KeyspaceError) in try s.db.reader(c).keys(prefix: prefix.isEmpty ? nil : prefix) }
        it.seekToFirst()
        var body = out.makeBody()
        var n = 0
        while it.isValid {
            let k = it.key
            if glob.matchesAll || glob.matches(k) {
                body.writeBulk(k)
                n += 1
            }
            it.next()
        }
        do { try it.check() } catch { throw .store(error) }
        out.writeArrayHeader(n)
        out.append(&body)
    }
}
