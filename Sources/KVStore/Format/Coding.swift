// Little-endian fixed-width integers, LEB128-style varints and length-prefixed byte strings:
// the vocabulary of every on-disk format (see docs/FORMATS.md). Encoders append to a
// `[UInt8]` that the caller reuses; decoders read from raw views and never trap on short or
// malformed input: they return nil and let the caller report corruption with a location.

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendFixed32(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 24))
    }

    @inline(__always)
    mutating func appendFixed64(_ v: UInt64) {
        appendFixed32(UInt32(truncatingIfNeeded: v))
        appendFixed32(UInt32(truncatingIfNeeded: v >> 32))
    }

    @inline(__always)
    mutating func appendVarint32(_ v: UInt32) {
        appendVarint64(UInt64(v))
    }

    @inline(__always)
    mutating func appendVarint64(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }

    /// varint32 length followed by the bytes.
    @inline(__always)
    mutating func appendLengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        appendVarint32(UInt32(bytes.count))
        append(contentsOf: bytes)
    }

    mutating func appendLengthPrefixed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { appendLengthPrefixed($0) }
    }
}

/// Number of bytes `appendVarint64(v)` writes.
@inline(__always)
func varintLength(_ v: UInt64) -> Int {
    var v = v
    var n = 1
    while v >= 0x80 {
        v >>= 7
        n += 1
    }
    return n
}

@inline(__always)
func loadFixed32(_ p: UnsafeRawPointer) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
}

@inline(__always)
func loadFixed64(_ p: UnsafeRawPointer) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
}

@inline(__always)
func storeFixed32(_ p: UnsafeMutableRawPointer, _ v: UInt32) {
    p.storeBytes(of: v.littleEndian, as: UInt32.self)
}

@inline(__always)
func storeFixed64(_ p: UnsafeMutableRawPointer, _ v: UInt64) {
    p.storeBytes(of: v.littleEndian, as: UInt64.self)
}

/// A cursor over bytes that refuses to read past the end. Every getter returns nil (and
/// leaves the cursor where it was) when the input is too short or malformed.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    mutating func readByte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readFixed32() -> UInt32? {
        guard remaining >= 4, let base = bytes.baseAddress else { return nil }
        defer { offset += 4 }
        return loadFixed32(base + offset)
    }

    mutating func readFixed64() -> UInt64? {
        guard remaining >= 8, let base = bytes.baseAddress else { return nil }
        defer { offset += 8 }
        return loadFixed64(base + offset)
    }

    mutating func readVarint64() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while i < bytes.count && shift <= 63 {
            let byte = bytes[i]
            i += 1
            if shift == 63 && byte > 1 { return nil }  // would overflow 64 bits
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 {
                offset = i
                return result
            }
            shift += 7
        }
        return nil
    }

    mutating func readVarint32() -> UInt32? {
        let saved = offset
        guard let v = readVarint64(), v <= UInt64(UInt32.max) else {
            offset = saved
            return nil
        }
        return UInt32(v)
    }

    /// A view of the next `count` bytes (valid as long as the underlying buffer is).
    mutating func readBytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// varint32 length followed by that many bytes.
    mutating func readLengthPrefixed() -> UnsafeRawBufferPointer? {
        let saved = offset
        guard let n = readVarint32(), let view = readBytes(Int(n)) else {
            offset = saved
            return nil
        }
        return view
    }
}
