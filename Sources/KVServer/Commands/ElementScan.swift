import KVCollections
import KVStore

/// HSCAN, SSCAN and ZSCAN key cursor [MATCH pattern] [COUNT count]: about COUNT elements after
/// the cursor's, in order; the cursor is a number the server maps to the last element
/// returned (as SCAN's is, `ScanCursors`). ZSCAN's scores are bulk strings in both protocols.
enum ElementScan {
    static func command(_ type: KeyType) -> CommandFunction {
        { s, c, a, out throws(CommandError) in
            guard a[2].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), !a[2].isEmpty,
                  let cursor = UInt64(Arg.string(a[2])) else { throw .err("invalid cursor") }
            let r = try s.db.pinnedReader(c)
            // A missing key answers an empty scan before its options are read, as in Redis.
            guard try ks({ () throws(KeyspaceError) in try r.metadata(a[1], type) }) != nil else {
                out.writeArrayHeader(2)
                out.writeBulk("0")
                out.writeArrayHeader(0)
                return
            }
            var glob: Glob?
            var count = 10
            var i = 3
            while i < a.count {
                guard i + 1 < a.count else { throw .syntax }
                if Arg.isKeyword(a[i], "MATCH") { glob = Glob(a[i + 1]) }
                else if Arg.isKeyword(a[i], "COUNT") {
                    count = try Arg.integer(a[i + 1])
                    guard count >= 1 else { throw .syntax }
                } else { throw .syntax }
                i += 2
            }
            var after: [UInt8]?
            if cursor != 0 {
                guard let resume = s.db.cursors.resumeKey(cursor) else {
                    throw .err("invalid cursor (unknown or expired: SCAN cursors live for the newest \(ScanCursors.capacity) scans and until a restart)")
                }
                after = resume
            }
            try s.db.requireThread(forCount: count, c)
            var found: [([UInt8], [UInt8])] = []
            let last = try ks { () throws(KeyspaceError) in
                try r.scanElements(a[1], type, after: after, count: count) { k, v in
                    guard glob.map({ $0.matchesAll || $0.matches(k) }) ?? true else { return }
                    found.append((Array(k), Array(v)))
                }
            }
            let next: UInt64 = last.map { s.db.cursors.save($0) } ?? 0
            out.writeArrayHeader(2)
            out.writeBulk(String(next))
            switch type {
            case .set:
                out.writeArrayHeader(found.count)
                for (m, _) in found { out.writeBulk(m) }
            case .sortedSet:
                out.writeArrayHeader(found.count * 2)
                for (m, v) in found {
                    out.writeBulk(m)
                    out.writeScoreBulk(ScoreEncoding.score(fromValue: v) ?? 0)
                }
            default:
                out.writeArrayHeader(found.count * 2)
                for (f, v) in found {
                    out.writeBulk(f)
                    out.writeBulk(v)
                }
            }
        }
    }
}
