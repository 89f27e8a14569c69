import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct CRC32CTests {
    // Test vectors from RFC 3720 (iSCSI), appendix B.4, as used by LevelDB's crc32c_test.
    @Test func standardVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8a91_36aa)
        #expect(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)) == 0x62a8_ab43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46dd_794e)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113f_db5c)
        #expect(CRC32C.checksum(bytes("123456789")) == 0xe306_9283)
        let iscsiRead: [UInt8] = [
            0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
            0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(iscsiRead) == 0xd996_3a56)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func softwareMatchesHardwareOnRandomInputs() {
        var rng = SplitMix64(seed: 42)
        // Around the three-way stretches (3 × 256 and 3 × 8192 bytes) as well as small sizes.
        for length in [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 767, 768, 769, 1000, 1539, 2304, 4096,
                       24_575, 24_576, 24_577, 25_000, 65_537, 100_003] {
            let data = randomBytes(length, &rng)
            data.withUnsafeBytes { raw in
                let sw = CRC32C.software(0, raw)
                #expect(sw == CRC32C.extend(0, raw), "length \(length)")
                // Unaligned starts exercise the hardware path's prologue.
                if length > 3 {
                    let tail = UnsafeRawBufferPointer(rebasing: raw[3...])
                    #expect(CRC32C.software(0, tail) == CRC32C.extend(0, tail))
                }
            }
        }
    }

    @Test func extendEqualsWhole() {
        let data = bytes("hello world, this is a test of extension")
        data.withUnsafeBytes { raw in
            let whole = CRC32C.extend(0, raw)
            let part = CRC32C.extend(CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: raw[..<11])), UnsafeRawBufferPointer(rebasing: raw[11...]))
            #expect(whole == part)
        }
    }

    @Test func maskRoundTrips() {
        let crc = CRC32C.checksum(bytes("foo"))
        #expect(CRC32C.mask(crc) != crc)
        #expect(CRC32C.mask(CRC32C.mask(crc)) != crc)
        #expect(CRC32C.unmask(CRC32C.mask(crc)) == crc)
        #expect(CRC32C.unmask(CRC32C.unmask(CRC32C.mask(CRC32C.mask(crc)))) == crc)
    }
}
