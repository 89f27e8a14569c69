import KVStore

/// DUMP and RESTORE's serialized value: opaque to clients, as Redis's is, and read back only
/// by RESTORE (docs/FORMATS.md, "DUMP payload"):
///
/// ```
/// "KVDUMP" | version u8 (1) | type u8 | body | CRC32C u32 LE of everything before it
/// body: string: its bytes; hash: varint count, (field, value)*; set, list: varint count,
/// element*; sorted set: varint count, (member, score f64 LE)* — every byte string
/// length-prefixed (varint).
/// ```
extension KeyspaceAccess {
    static var dumpMagic: [UInt8] { Array("KVDUMP".utf8) }

    /// `key`'s value serialized, nil when it does not exist.
    public func dump(_ key: [UInt8]) throws(KeyspaceError) -> [UInt8]? {
        let e = try entry(key)
        guard let type = e.type else { return nil }
        var out = Self.dumpMagic + [1, type.rawValue]
        func put(_ bytes: some Collection<UInt8>) {
            appendVarint(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
        switch e {
        case .none: return nil
        case .string(let v):
            out.append(contentsOf: v.value)
        case .collection(let meta, _):
            appendVarint(meta.count, to: &out)
            switch meta.type {
            case .hash:
                try forEachElement(key, meta) { f, v in
                    put(f)
                    put(v)
                }
            case .set:
                try forEachElement(key, meta) { m, _ in put(m) }
            case .sortedSet:
                try walkIndex(key, meta, min: .negativeInfinity, max: .positiveInfinity, reverse: false) { m, score in
                    put(m)
                    appendLittleEndian(score.bitPattern, to: &out)
                    return true
                }
            case .list:
                try walkPositions(key, meta, from: 0, to: Int(meta.count) - 1, reverse: false) { _, v in
                    put(v)
                    return true
                }
            case .string:
                break
            }
        }
        let crc = CRC32C.checksum(out)
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(i * 8))) }
        return out
    }
}

extension KeyspaceAccess where Storage: KeyspaceWriter {
    /// Recreates `key` from a `dump` payload (replacing what it held), with an expiry.
    /// Throws `invalidArgument` for a payload that does not check out.
    public func restore(_ key: [UInt8], payload p: [UInt8], expiresAt: UInt64?, nonBlocking: Bool = false) throws(KeyspaceError) {
        let bad = KeyspaceError.invalidArgument("DUMP payload version or checksum are wrong")
        guard p.count >= 12, Array(p[0..<6]) == Self.dumpMagic, p[6] == 1, let type = KeyType(rawValue: p[7]) else { throw bad }
        var crc: UInt32 = 0
        for i in 0..<4 { crc |= UInt32(p[p.count - 4 + i]) << UInt32(i * 8) }
        guard CRC32C.checksum(Array(p[..<(p.count - 4)])) == crc else { throw bad }
        var reader = PayloadReader(bytes: Array(p[8..<(p.count - 4)]))
        if type == .string {
            setString(key, reader.bytes, expiresAt: expiresAt)
            return
        }
        guard let count = reader.varint(), count < UInt64(Int32.max) else { throw bad }
        storage.delete(KeyspaceKeys.main(key))
        switch type {
        case .hash:
            var pairs: [(field: [UInt8], value: [UInt8])] = []
            for _ in 0..<count {
                guard let f = reader.string(), let v = reader.string() else { throw bad }
                pairs.append((f, v))
            }
            try writeFresh(key, .hash, nonBlocking) { () throws(KeyspaceError) in _ = try hashSet(key, pairs, nonBlocking: nonBlocking) }
        case .set:
            var members: [[UInt8]] = []
            for _ in 0..<count {
                guard let m = reader.string() else { throw bad }
                members.append(m)
            }
            try writeFresh(key, .set, nonBlocking) { () throws(KeyspaceError) in _ = try setAdd(key, members, nonBlocking: nonBlocking) }
        case .sortedSet:
            var pairs: [(score: Double, member: [UInt8])] = []
            for _ in 0..<count {
                guard let m = reader.string(), let bits = reader.fixed64() else { throw bad }
                let score = Double(bitPattern: bits)
                guard !score.isNaN else { throw bad }
                pairs.append((score, m))
            }
            try writeFresh(key, .sortedSet, nonBlocking) { () throws(KeyspaceError) in
                _ = try sortedSetAdd(key, pairs, nonBlocking: nonBlocking)
            }
        case .list:
            var values: [[UInt8]] = []
            for _ in 0..<count {
                guard let v = reader.string() else { throw bad }
                values.append(v)
            }
            try writeFresh(key, .list, nonBlocking) { () throws(KeyspaceError) in _ = try listPush(key, values, left: false, nonBlocking: nonBlocking) }
        case .string:
            break
        }
        guard reader.atEnd else { throw bad }
        if let expiresAt { try setExpiry(key, expiresAt) }
    }

    /// Runs `fill` after the key's main entry was deleted, so it builds a fresh collection.
    private func writeFresh(_ key: [UInt8], _ type: KeyType, _ nonBlocking: Bool, _ fill: () throws(KeyspaceError) -> Void) throws(KeyspaceError) {
        try fill()
        storage.noteModified(key)
    }
}

/// Reads a DUMP payload's body.
struct PayloadReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func varint() -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let b = bytes[offset]
            offset += 1
            v |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return v }
            shift += 7
        }
        return nil
    }

    mutating func string() -> [UInt8]? {
        guard let n = varint(), n <= UInt64(bytes.count - offset) else { return nil }
        defer { offset += Int(n) }
        return Array(bytes[offset..<(offset + Int(n))])
    }

    mutating func fixed64() -> UInt64? {
        guard bytes.count - offset >= 8 else { return nil }
        defer { offset += 8 }
        return loadLittleEndian64(bytes, at: offset)
    }
}

func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
    var v = v
    while v >= 0x80 {
        out.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
}
