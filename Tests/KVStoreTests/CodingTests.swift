import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct CodingTests {
    @Test func fixedWidthRoundTrip() {
        var out: [UInt8] = []
        out.appendFixed32(0xdead_beef)
        out.appendFixed64(0x0102_0304_0506_0708)
        #expect(out == [0xef, 0xbe, 0xad, 0xde, 8, 7, 6, 5, 4, 3, 2, 1])
        out.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.readFixed32() == 0xdead_beef)
            #expect(r.readFixed64() == 0x0102_0304_0506_0708)
            #expect(r.readFixed32() == nil)
        }
    }

    @Test func varintBoundaries() {
        let values: [UInt64] = [0, 1, 127, 128, 255, 16383, 16384, 1 << 21, (1 << 28) - 1, 1 << 28,
                                UInt64(UInt32.max), 1 << 35, 1 << 49, 1 << 56, 1 << 63, UInt64.max]
        var out: [UInt8] = []
        for v in values { out.appendVarint64(v) }
        #expect(out.count == values.reduce(0) { $0 + varintLength($1) })
        out.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            for v in values { #expect(r.readVarint64() == v) }
            #expect(r.isAtEnd)
        }
        #expect(varintLength(UInt64.max) == 10)
    }

    @Test func varint32RejectsOversizedAndTruncated() {
        var out: [UInt8] = []
        out.appendVarint64(UInt64(UInt32.max) + 1)
        out.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.readVarint32() == nil)
            #expect(r.offset == 0)
        }
        let truncated: [UInt8] = [0x80, 0x80]
        truncated.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.readVarint64() == nil)
        }
        // Eleven continuation bytes can never be a 64-bit varint.
        let overlong = [UInt8](repeating: 0xff, count: 11)
        overlong.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.readVarint64() == nil)
        }
    }

    @Test func lengthPrefixedRejectsAbsurdLengths() {
        var out: [UInt8] = []
        out.appendLengthPrefixed(bytes("hello"))
        out.appendVarint32(1_000_000)  // claims far more than follows
        out.append(1)
        out.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.readLengthPrefixed().map(Array.init) == bytes("hello"))
            let before = r.offset
            #expect(r.readLengthPrefixed() == nil)
            #expect(r.offset == before)
        }
    }

    @Test func internalKeyOrder() {
        func cmp(_ a: String, _ sa: UInt64, _ b: String, _ sb: UInt64) -> Int {
            let x = bytes(a), y = bytes(b)
            return x.withUnsafeBytes { xa in
                y.withUnsafeBytes { yb in
                    compareInternal(xa.baseAddress, xa.count, packTrailer(sa, 1), yb.baseAddress, yb.count, packTrailer(sb, 1))
                }
            }
        }
        #expect(cmp("a", 1, "b", 1) < 0)
        #expect(cmp("a", 1, "ab", 1) < 0)
        #expect(cmp("a", 5, "a", 1) < 0)  // newer first
        #expect(cmp("a", 1, "a", 1) == 0)
        #expect(cmp("", 1, "a", 9) < 0)
    }

    /// The word-at-a-time comparison agrees with lexicographic order on every length up to
    /// and past its 32-byte switch to memcmp, including shared prefixes and 0x80+ bytes.
    @Test func compareBytesIsLexicographic() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 41)
            let a = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next() % 4 == 0 ? rng.next() : 0x7f + rng.next() % 3) }
            var b = a
            switch rng.next() % 4 {
            case 0: if !b.isEmpty { b[Int(rng.next() % UInt64(b.count))] &+= UInt8(1 + rng.next() % 255) }
            case 1: b.removeLast(Int(rng.next() % UInt64(b.count + 1)))
            case 2: b.append(UInt8(truncatingIfNeeded: rng.next()))
            default: break
            }
            let expected = a.lexicographicallyPrecedes(b) ? -1 : (b.lexicographicallyPrecedes(a) ? 1 : 0)
            let got = a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x.baseAddress, x.count, y.baseAddress, y.count) } }
            #expect(got.signum() == expected, "\(a) vs \(b)")
        }
    }
}
