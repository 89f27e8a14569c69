import KVStore

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common
/// subsequence of two strings, by Redis's dynamic program and its walk back through the table
/// (so ties resolve, and matches are listed, exactly as Redis lists them: last first).
enum LCSCommand {
    static func lcs(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        // Redis's own words for a key of another type (not WRONGTYPE).
        func value(_ key: [UInt8]) throws(CommandError) -> [UInt8] {
            do { return try s.db.string(key, c)?.value ?? [] } catch {
                if error.text == CommandError.wrongType.text { throw .err("The specified keys must contain string values") }
                throw error
            }
        }
        let x = try value(a[1])
        let y = try value(a[2])
        var wantIndexes = false, wantLength = false, withMatchLength = false
        var minMatchLength = 0
        var i = 3
        while i < a.count {
            if Arg.isKeyword(a[i], "IDX") { wantIndexes = true }
            else if Arg.isKeyword(a[i], "LEN") { wantLength = true }
            else if Arg.isKeyword(a[i], "WITHMATCHLEN") { withMatchLength = true }
            else if Arg.isKeyword(a[i], "MINMATCHLEN"), i + 1 < a.count {
                minMatchLength = max(try Arg.integer(a[i + 1]), 0)
                i += 1
            } else {
                throw .syntax
            }
            i += 1
        }
        if wantIndexes && wantLength { throw .err("If you want both the length and indexes, please just use IDX.") }
        let (m, n) = (x.count, y.count)
        // The table is transient memory the client asked for: bounded as Redis bounds it.
        let (cells, o1) = (m + 1).multipliedReportingOverflow(by: n + 1)
        let (bytes, o2) = cells.multipliedReportingOverflow(by: 4)
        guard !o1, !o2, bytes <= s.config.limits.maxBulkLength else {
            throw .err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }
        try s.db.requireThread(forBytes: bytes, c)
        let width = n + 1
        var table = [UInt32](repeating: 0, count: cells)
        if m > 0 && n > 0 {
            for p in 1...m {
                for q in 1...n {
                    table[p * width + q] = x[p - 1] == y[q - 1]
                        ? table[(p - 1) * width + q - 1] + 1
                        : max(table[(p - 1) * width + q], table[p * width + q - 1])
                }
            }
        }
        let length = Int(table[m * width + n])
        if wantLength && !wantIndexes { return out.writeIntegerReply(length) }

        var common = [UInt8](repeating: 0, count: length)
        var matches = out.makeBody()
        var matchCount = 0
        var remaining = length
        var p = m, q = n
        // The current run of matches, as in Redis: `aStart == m` means none.
        var aStart = m, aEnd = m, bStart = n, bEnd = n
        while p > 0 && q > 0 {
            var emit = false
            if x[p - 1] == y[q - 1] {
                common[remaining - 1] = x[p - 1]
                if aStart == m {
                    (aStart, aEnd, bStart, bEnd) = (p - 1, p - 1, q - 1, q - 1)
                } else if aStart == p && bStart == q {
                    aStart -= 1
                    bStart -= 1
                } else {
                    emit = true
                }
                if aStart == 0 || bStart == 0 { emit = true }
                remaining -= 1
                p -= 1
                q -= 1
            } else {
                if table[(p - 1) * width + q] > table[p * width + q - 1] { p -= 1 } else { q -= 1 }
                if aStart != m { emit = true }
            }
            if emit {
                let runLength = aEnd - aStart + 1
                if wantIndexes && (minMatchLength == 0 || runLength >= minMatchLength) {
                    matches.writeArrayHeader(withMatchLength ? 3 : 2)
                    matches.writeArrayHeader(2)
                    matches.writeIntegerReply(aStart)
                    matches.writeIntegerReply(aEnd)
                    matches.writeArrayHeader(2)
                    matches.writeIntegerReply(bStart)
                    matches.writeIntegerReply(bEnd)
                    if withMatchLength { matches.writeIntegerReply(runLength) }
                    matchCount += 1
                }
                aStart = m
            }
        }
        guard wantIndexes else { return out.writeBulk(common) }
        out.writeMapHeader(2)
        out.writeBulk("matches")
        out.writeArrayHeader(matchCount)
        out.append(&matches)
        out.writeBulk("len")
        out.writeIntegerReply(length)
    }
}
