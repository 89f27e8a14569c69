import KVCollections
import KVStore

/// SORT and SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern …] [ASC|DESC] [ALPHA]
/// [STORE destination]: the elements of a list, set or sorted set, sorted numerically (or by
/// bytes with ALPHA), optionally by the values of other keys (`weight_*`, `hash_*->field`),
/// returning them or other keys' values (`#` is the element itself). A BY pattern without `*`
/// skips sorting (a list keeps its order, a sorted set its score order). Equal sort keys fall
/// back to the elements' bytes, as in Redis. STORE replaces the destination with a list (an
/// empty result deletes it) and answers its length.
enum SortCommand {
    struct Request {
        var by: [UInt8]?
        var offset = 0
        var count = -1
        var gets: [[UInt8]] = []
        var descending = false
        var alpha = false
        var store: [UInt8]?
    }

    static func parse(_ a: [[UInt8]], readOnly: Bool) throws(CommandError) -> Request {
        var r = Request()
        var i = 2
        while i < a.count {
            let left = a.count - i - 1
            if Arg.isKeyword(a[i], "ASC") { r.descending = false }
            else if Arg.isKeyword(a[i], "DESC") { r.descending = true }
            else if Arg.isKeyword(a[i], "ALPHA") { r.alpha = true }
            else if Arg.isKeyword(a[i], "LIMIT"), left >= 2 {
                r.offset = try Arg.integer(a[i + 1])
                r.count = try Arg.integer(a[i + 2])
                i += 2
            } else if Arg.isKeyword(a[i], "STORE"), left >= 1, !readOnly {
                r.store = a[i + 1]
                i += 1
            } else if Arg.isKeyword(a[i], "BY"), left >= 1 {
                r.by = a[i + 1]
                i += 1
            } else if Arg.isKeyword(a[i], "GET"), left >= 1 {
                r.gets.append(a[i + 1])
                i += 1
            } else {
                throw .syntax
            }
            i += 1
        }
        return r
    }

    /// The value a pattern names for `element` (Redis's `lookupKeyByPattern`): `#` the element,
    /// else the pattern with its first `*` replaced — a string's value, or with `->field` a
    /// hash field's; nil when missing or of another type.
    static func lookup<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ pattern: [UInt8], _ element: [UInt8]) throws(CommandError) -> [UInt8]? {
        if pattern == Array("#".utf8) { return element }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var keyPattern = pattern
        var field: [UInt8]?
        // "->" after the star splits key and field.
        if pattern.count >= 3 {
            var j = pattern.count - 2
            while j > star {
                if pattern[j] == UInt8(ascii: "-") && pattern[j + 1] == UInt8(ascii: ">") && j + 2 < pattern.count {
                    keyPattern = Array(pattern[..<j])
                    field = Array(pattern[(j + 2)...])
                    break
                }
                j -= 1
            }
        }
        var key = Array(keyPattern[..<star])
        key.append(contentsOf: element)
        key.append(contentsOf: keyPattern[(star + 1)...])
        return try ks { () throws(KeyspaceError) -> [UInt8]? in
            switch try r.entry(key) {
            case .string(let v): return field == nil ? v.value : nil
            case .collection(let m, _) where m.type == .hash:
                guard let field else { return nil }
                return try r.hashGet(key, field)
            default: return nil
            }
        }
    }

    static func sort<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ key: [UInt8], _ q: Request, _ s: ServerContext, _ c: Session) throws(CommandError) -> [[UInt8]?] {
        var elements: [[UInt8]] = []
        var type: KeyType?
        try s.db.requireThread(forElementsOf: key, r, c)  // before reading them all
        try ks { () throws(KeyspaceError) in
            type = try r.type(of: key)
            switch type {
            case nil: break
            case .list?:
                try r.listWalk(key, from: 0, to: Int.max - 1) { v in
                    elements.append(Array(v))
                    return true
                }
            case .set?:
                elements = try r.setMembers(key)
            case .sortedSet?:
                try r.sortedSetWalk(key) { m, _ in
                    elements.append(Array(m))
                    return true
                }
            default:
                throw .wrongType
            }
        }
        let dontSort = q.by.map { !$0.contains(UInt8(ascii: "*")) } ?? false
        if !dontSort {
            var keyed: [(element: [UInt8], alpha: [UInt8]?, score: Double)] = []
            keyed.reserveCapacity(elements.count)
            for e in elements {
                let by = try q.by.map { (p) throws(CommandError) in try lookup(r, p, e) } ?? e
                if q.alpha {
                    keyed.append((e, by, 0))
                } else if let by {
                    guard let v = SortedSetArguments.double(by) else { throw .err("One or more scores can't be converted into double") }
                    keyed.append((e, nil, v))
                } else {
                    keyed.append((e, nil, 0))
                }
            }
            keyed.sort { x, y in
                var less: Bool
                if q.alpha {
                    let a = x.alpha ?? [], b = y.alpha ?? []
                    less = a == b ? x.element.lexicographicallyPrecedes(y.element) : a.lexicographicallyPrecedes(b)
                    if a == b && x.element == y.element { return false }
                } else if x.score != y.score {
                    less = x.score < y.score
                } else {
                    if x.element == y.element { return false }
                    less = x.element.lexicographicallyPrecedes(y.element)
                }
                return q.descending ? !less : less
            }
            elements = keyed.map(\.element)
        } else if q.descending && type == .list {
            elements.reverse()
        } else if q.descending && type == .sortedSet {
            elements.reverse()
        }
        // LIMIT: a negative offset is 0, a negative count is all.
        let start = min(max(q.offset, 0), elements.count)
        let end = q.count < 0 || q.count >= elements.count - start ? elements.count : start + q.count
        let window = Array(elements[start..<end])
        guard !q.gets.isEmpty else { return window }
        var out: [[UInt8]?] = []
        for e in window {
            for g in q.gets { out.append(try lookup(r, g, e)) }
        }
        return out
    }

    /// SORT key … (STORE writes; without it, a read) and SORT_RO key …
    static func command(readOnly: Bool) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            let q = try parse(a, readOnly: readOnly)
            if let dest = q.store {
                let n = try s.db.write([a[1], dest], c) { (w) throws(CommandError) -> Int in
                    let values = try sort(w, a[1], q, s, c).map { $0 ?? [] }
                    try ks { () throws(KeyspaceError) in try w.listStore(dest, values, nonBlocking: !c.mayWait) }
                    return values.count
                }
                return out.writeIntegerReply(n)
            }
            let values = try sort(s.db.pinnedReader(c), a[1], q, s, c)
            out.writeArrayHeader(values.count)
            for v in values { if let v { out.writeBulk(v) } else { out.writeNullBulk() } }
        }
    }
}
