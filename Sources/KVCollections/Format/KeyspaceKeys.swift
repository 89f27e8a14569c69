/// Where the keyspace keeps what in the engine's one ordered keyspace (docs/FORMATS.md,
/// "Keyspace").
///
/// - A key's *main entry* — a string's value, or a collection's metadata — is at the key
///   itself, so a store written before collections existed (strings only, at their own keys)
///   is already laid out this way. The one exception: a key whose first byte is 0xFF is stored
///   as 0xFF 0xFF followed by the rest, to leave room for the band below. The mapping keeps
///   byte order, so the keys come back in order, whatever their type.
/// - The *band*: engine keys that start with 0xFF and a second byte below 0xFF, which no main
///   entry can have. 0xFF 0x00 "keyspace" is the format record; 0xFF 0x01 starts every
///   collection element: `0xFF 0x01 | key length u32 BE | key | version u64 BE | suffix`.
///
/// Elements of one collection (one key, one version) are contiguous, and nothing else shares
/// their prefix: the length is fixed-width and comes before the key.
enum KeyspaceKeys {
    static let bandByte: UInt8 = 0xFF
    /// The format record's engine key.
    static let formatKey: [UInt8] = [0xFF, 0x00] + Array("keyspace".utf8)
    static let elementByte: UInt8 = 0x01
    /// The band's bounds: [0xFF 0x00, 0xFF 0xFF).
    static let bandStart: [UInt8] = [0xFF, 0x00]
    static let bandEnd: [UInt8] = [0xFF, 0xFF]

    /// The engine key of `key`'s main entry.
    static func main(_ key: [UInt8]) -> [UInt8] {
        guard key.first == bandByte else { return key }
        var out: [UInt8] = [0xFF, 0xFF]
        out.reserveCapacity(key.count + 1)
        out.append(contentsOf: key.dropFirst())
        return out
    }

    /// The key whose main entry is at `engineKey`, or nil for an engine key in the band.
    static func key(fromMain engineKey: UnsafeRawBufferPointer) -> [UInt8]? {
        guard engineKey.first == bandByte else { return Array(engineKey) }
        guard engineKey.count >= 2, engineKey[1] == 0xFF else { return nil }
        return [0xFF] + engineKey[2...]
    }

    /// Whether `engineKey` lies in the band (an element or the format record).
    static func inBand(_ engineKey: UnsafeRawBufferPointer) -> Bool {
        engineKey.count >= 2 && engineKey[0] == bandByte && engineKey[1] != 0xFF
            || engineKey.count == 1 && engineKey[0] == bandByte
    }

    /// The prefix every element of version `version` of `key` starts with.
    static func elementPrefix(_ key: [UInt8], version: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(key.count + 14)
        out.append(bandByte)
        out.append(elementByte)
        appendBigEndian(UInt32(truncatingIfNeeded: key.count), to: &out)
        out.append(contentsOf: key)
        appendBigEndian(version, to: &out)
        return out
    }

    /// The key, version and suffix of an element's engine key; nil if it is not one.
    static func parseElement(_ engineKey: UnsafeRawBufferPointer) -> (key: UnsafeRawBufferPointer, version: UInt64, suffix: UnsafeRawBufferPointer)? {
        guard engineKey.count >= 14, engineKey[0] == bandByte, engineKey[1] == elementByte else { return nil }
        let length = Int(loadBigEndian32(engineKey, at: 2))
        guard engineKey.count >= 6 + length + 8 else { return nil }
        let key = UnsafeRawBufferPointer(rebasing: engineKey[6..<(6 + length)])
        let version = loadBigEndian64(engineKey, at: 6 + length)
        return (key, version, UnsafeRawBufferPointer(rebasing: engineKey[(14 + length)...]))
    }

    /// The smallest engine key above every key starting with `prefix` (nil: none).
    static func successor(_ prefix: [UInt8]) -> [UInt8]? {
        var p = prefix
        while let last = p.last {
            if last < 0xFF {
                p[p.count - 1] = last + 1
                return p
            }
            p.removeLast()
        }
        return nil
    }
}

@inline(__always)
func appendBigEndian(_ v: UInt32, to out: inout [UInt8]) {
    out.append(UInt8(truncatingIfNeeded: v >> 24))
    out.append(UInt8(truncatingIfNeeded: v >> 16))
    out.append(UInt8(truncatingIfNeeded: v >> 8))
    out.append(UInt8(truncatingIfNeeded: v))
}

@inline(__always)
func appendBigEndian(_ v: UInt64, to out: inout [UInt8]) {
    for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
}

@inline(__always)
func loadBigEndian32(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

@inline(__always)
func loadBigEndian64(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt64 {
    var v: UInt64 = 0
    for j in 0..<8 { v = v << 8 | UInt64(b[i + j]) }
    return v
}

@inline(__always)
func loadBigEndian64(_ b: [UInt8], at i: Int) -> UInt64 {
    var v: UInt64 = 0
    for j in 0..<8 { v = v << 8 | UInt64(b[i + j]) }
    return v
}
