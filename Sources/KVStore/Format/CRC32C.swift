import CKVSupport

/// CRC32C (Castagnoli), the checksum of every WAL record and table block.
///
/// On x86-64 with SSE4.2 the C helper uses the `crc32` instruction (~9 GB/s); elsewhere the
/// table-driven slicing-by-8 code below (~2 GB/s) runs. Tests cross-check the two.
package enum CRC32C {
    static let hardwareAvailable: Bool = kv_crc32c_hw_available() == 1

    /// CRC32C of `bytes`, continuing from `crc` (pass 0 to start).
    @inline(__always)
    static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        if hardwareAvailable {
            return kv_crc32c_hw_extend(crc, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        return software(crc, bytes)
    }

    package static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { extend(0, bytes) }

    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { extend(0, $0) }
    }

    // A CRC stored next to the data it covers is masked, so that computing the CRC of a
    // string that itself contains embedded CRCs does not degenerate (LevelDB's rule).
    private static let maskDelta: UInt32 = 0xa282_ead8

    @inline(__always)
    static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ maskDelta
    }

    @inline(__always)
    static func unmask(_ masked: UInt32) -> UInt32 {
        let rot = masked &- maskDelta
        return (rot >> 17) | (rot << 15)
    }

    /// Portable slicing-by-8 implementation; also the reference the tests compare against.
    static func software(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        var i = 0
        let n = bytes.count
        tables.withUnsafeBufferPointer { t in
            while n - i >= 8 {
                let lo = c ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8
                    | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                c = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(bytes[i + 4])] ^ t[2 * 256 + Int(bytes[i + 5])]
                    ^ t[1 * 256 + Int(bytes[i + 6])] ^ t[Int(bytes[i + 7])]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xff)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    private static let tables: [UInt32] = {
        let poly: UInt32 = 0x82f6_3b78  // reversed Castagnoli polynomial
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xff)]
            }
        }
        return t
    }()
}
