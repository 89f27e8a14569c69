// The log file format shared by the write-ahead log and the MANIFEST (docs/FORMATS.md).
//
// A file is a sequence of 32 KiB blocks. Each block holds physical records:
//
//     checksum u32 | length u16 | type u8 | payload[length]
//
// `checksum` is the masked CRC32C of the type byte and the payload. A logical record that
// does not fit in the rest of a block is split into FIRST, MIDDLE…, LAST fragments. Fewer
// than 7 bytes left in a block are zero-filled and skipped. The first physical record of
// every file is a HEADER naming the format version, the file's purpose and its number, so a
// future format, or a file renamed into the wrong place, can be told apart.

package enum LogFormat {
    static let blockSize = 32 * 1024
    static let headerSize = 7

    enum RecordType: UInt8 {
        case zero = 0  // never written; zeros on disk mean preallocation or lost data
        case full = 1
        case first = 2
        case middle = 3
        case last = 4
        case fileHeader = 5
    }

    static let magic: [UInt8] = Array("KVLG".utf8)
    static let version: UInt8 = 1
    static let fileHeaderPayloadSize = 4 + 1 + 1 + 8

    /// What a log file holds; recorded in its header.
    package enum Purpose: UInt8 {
        case writeAheadLog = 1
        case manifest = 2
    }

    static func fileHeaderPayload(purpose: Purpose, fileNumber: UInt64) -> [UInt8] {
        var p = magic
        p.append(version)
        p.append(purpose.rawValue)
        p.appendFixed64(fileNumber)
        return p
    }

    /// Masked CRC32C of the type byte followed by the payload.
    @inline(__always)
    static func checksum(type: UInt8, _ payload: UnsafeRawBufferPointer) -> UInt32 {
        var t = type
        let c = withUnsafeBytes(of: &t) { CRC32C.extend(0, $0) }
        return CRC32C.mask(CRC32C.extend(c, payload))
    }
}
