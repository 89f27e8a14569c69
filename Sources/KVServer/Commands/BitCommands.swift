import KVCollections
import KVStore

/// SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP: a string as an array of bits, bit 0 being the
/// most significant bit of the first byte, as in Redis.
enum BitCommands {
    /// A bit offset as Redis accepts it: not negative, and inside a string no longer than
    /// `proto-max-bulk-len`.
    private static func offset(_ arg: [UInt8], _ s: ServerContext) throws(CommandError) -> Int {
        let error = CommandError.err("bit offset is not an integer or out of range")
        let n = try Arg.integer(arg, error: error)
        guard n >= 0, n >> 3 < s.config.limits.maxBulkLength else { throw error }
        return n
    }

    static func setbit(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let bitOffset = try offset(a[2], s)
        let bitError = CommandError.err("bit is not an integer or out of range")
        let on = try Arg.integer(a[3], error: bitError)
        guard on == 0 || on == 1 else { throw bitError }
        try s.db.requireThread(forBytes: (bitOffset >> 3) + 1, c)
        try s.db.write([a[1]], c) { (w) throws(CommandError) in
            let old = try ks { () throws(KeyspaceError) in try w.string(a[1]) }
            var value = old?.value ?? []
            let byte = bitOffset >> 3
            if value.count <= byte { value.append(contentsOf: repeatElement(0, count: byte + 1 - value.count)) }
            let mask = UInt8(1) << (7 - UInt8(bitOffset & 7))
            let previous = value[byte] & mask != 0 ? 1 : 0
            if on == 1 { value[byte] |= mask } else { value[byte] &= ~mask }
            w.setString(a[1], value, expiresAt: old?.expiresAt)
            out.writeIntegerReply(previous)
        }
        s.db.encodings.markRaw(a[1])
    }

    static func getbit(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let bitOffset = try offset(a[2], s)
        let value = try s.db.string(a[1], c)?.value ?? []
        let byte = bitOffset >> 3
        guard byte < value.count else { return out.writeIntegerReply(0) }
        out.writeIntegerReply(value[byte] & (UInt8(1) << (7 - UInt8(bitOffset & 7))) != 0 ? 1 : 0)
    }

    /// A `start end [BYTE|BIT]` range over a string of `length` bytes, as inclusive bit
    /// positions, with Redis's clamping of negative and out-of-range ends; nil when empty.
    private static func bitRange(start rawStart: Int, end rawEnd: Int, bits: Bool, length: Int) -> (Int, Int)? {
        let total = bits ? length * 8 : length
        var start = rawStart, end = rawEnd
        if start < 0 { start += total }
        if end < 0 { end += total }
        start = max(start, 0)
        end = max(end, 0)
        if end >= total { end = total - 1 }
        guard start <= end else { return nil }
        return bits ? (start, end) : (start * 8, end * 8 + 7)
    }

    private static func unit(_ arg: [UInt8]) throws(CommandError) -> Bool {
        if Arg.isKeyword(arg, "BIT") { return true }
        if Arg.isKeyword(arg, "BYTE") { return false }
        throw .syntax
    }

    /// BITCOUNT key [start end [BYTE|BIT]]
    static func bitcount(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        // Redis 7.0 looks the key up first: a missing key counts 0 whatever the arguments.
        guard let value = try s.db.string(a[1], c)?.value else { return out.writeIntegerReply(0) }
        var range: (Int, Int)?
        switch a.count {
        case 2:
            range = value.isEmpty ? nil : (0, value.count * 8 - 1)
        case 4, 5:
            let start = try Arg.integer(a[2]), end = try Arg.integer(a[3])
            if start < 0 && end < 0 && start > end { return out.writeIntegerReply(0) }
            let bits = a.count == 5 ? try unit(a[4]) : false
            range = bitRange(start: start, end: end, bits: bits, length: value.count)
        default:
            throw .syntax
        }
        guard let (first, last) = range else { return out.writeIntegerReply(0) }
        out.writeIntegerReply(countBits(value, first, last))
    }

    /// Set bits among bit positions first...last.
    static func countBits(_ value: [UInt8], _ first: Int, _ last: Int) -> Int {
        var count = 0
        var bit = first
        while bit <= last && bit & 7 != 0 {
            if value[bit >> 3] & (0x80 >> UInt8(bit & 7)) != 0 { count += 1 }
            bit += 1
        }
        while bit + 7 <= last {
            count += value[bit >> 3].nonzeroBitCount
            bit += 8
        }
        while bit <= last {
            if value[bit >> 3] & (0x80 >> UInt8(bit & 7)) != 0 { count += 1 }
            bit += 1
        }
        return count
    }

    /// BITPOS key bit [start [end [BYTE|BIT]]]
    static func bitpos(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let wanted = try Arg.integer(a[2])
        guard wanted == 0 || wanted == 1 else { throw .err("The bit argument must be 1 or 0.") }
        // A missing key is an endless run of zeros.
        guard let value = try s.db.string(a[1], c)?.value else { return out.writeIntegerReply(wanted == 1 ? -1 : 0) }
        var endGiven = false
        var range: (Int, Int)?
        switch a.count {
        case 3:
            range = value.isEmpty ? nil : (0, value.count * 8 - 1)
        case 4, 5, 6:
            let start = try Arg.integer(a[3])
            let bits = a.count == 6 ? try unit(a[5]) : false
            var end = bits ? value.count * 8 + 7 : value.count - 1
            if a.count >= 5 {
                end = try Arg.integer(a[4])
                endGiven = true
            }
            range = bitRange(start: start, end: end, bits: bits, length: value.count)
        default:
            throw .syntax
        }
        guard let (first, last) = range else { return out.writeIntegerReply(-1) }
        let skip: UInt8 = wanted == 1 ? 0x00 : 0xff
        var bit = first
        while bit <= last {
            if bit & 7 == 0 && bit + 7 <= last && value[bit >> 3] == skip {
                bit += 8
                continue
            }
            let set = value[bit >> 3] & (0x80 >> UInt8(bit & 7)) != 0
            if set == (wanted == 1) { return out.writeIntegerReply(bit) }
            bit += 1
        }
        // No such bit in range. Looking for a 0 without an explicit end, the string goes on
        // as zeros: the first bit after it.
        out.writeIntegerReply(wanted == 0 && !endGiven ? last + 1 : -1)
    }

    /// BITOP AND|OR|XOR|NOT destkey key [key …]: the result is as long as the longest input
    /// (missing keys and short strings count as zero bytes); an empty result deletes destkey.
    static func bitop(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        enum Op { case and, or, xor, not }
        let op: Op
        if Arg.isKeyword(a[1], "AND") { op = .and }
        else if Arg.isKeyword(a[1], "OR") { op = .or }
        else if Arg.isKeyword(a[1], "XOR") { op = .xor }
        else if Arg.isKeyword(a[1], "NOT") { op = .not }
        else { throw .syntax }
        let sources = Array(a[3...])
        if op == .not && sources.count != 1 { throw .err("BITOP NOT must be called with a single source key.") }
        let dest = a[2]
        var written = false
        try s.db.write([dest] + sources, c) { (w) throws(CommandError) in
            var inputs: [[UInt8]] = []
            for key in sources { inputs.append(try ks { () throws(KeyspaceError) in try w.string(key) }?.value ?? []) }
            let length = inputs.map(\.count).max() ?? 0
            try s.db.requireThread(forBytes: length * inputs.count, c)
            guard length > 0 else {
                _ = try ks { () throws(KeyspaceError) in try w.delete(dest) }
                return out.writeIntegerReply(0)
            }
            var result = [UInt8](repeating: 0, count: length)
            for i in 0..<length {
                var b: UInt8 = i < inputs[0].count ? inputs[0][i] : 0
                if op == .not { b = ~b }
                for input in inputs.dropFirst() {
                    let x: UInt8 = i < input.count ? input[i] : 0
                    switch op {
                    case .and: b &= x
                    case .or: b |= x
                    case .xor: b ^= x
                    case .not: break
                    }
                }
                result[i] = b
            }
            w.setString(dest, result)
            written = true
            out.writeIntegerReply(length)
        }
        if written { s.db.encodings.markRaw(dest) }
    }
}
