import KVStore
import NIOCore

/// One unit of what a primary sends a replica after PSYNC's answer (docs/FORMATS.md,
/// "Replication stream"): `kind u8 | length u32 LE | crc32c u32 LE of the payload | payload`.
/// The checksum is checked before a payload is used: a damaged frame ends the connection, and
/// the replica asks again from the last offset it applied.
enum ReplicationFrame {
    enum Kind: UInt8, Sendable {
        // 1 is retired: it carried a logical snapshot's entries, before full synchronisation
        // shipped the engine's tables. A replica refuses it as an unknown kind.
        /// The checkpoint is complete: `sequence u64 | files u64 | bytes u64`. Its tables hold
        /// every batch at or below the sequence and none above.
        case snapshotEnd = 2
        /// A committed group's log record (the WAL's batch encoding). Only these frames count
        /// towards the replication offset.
        case batch = 3
        /// Once a second while idle: `primary offset u64`, so a replica can tell a quiet
        /// primary from a lost one.
        case ping = 4
        /// A checkpoint file begins: `name length u16 | name | size u64`; its bytes follow in
        /// `fileData` frames.
        case file = 5
        /// The next bytes of the file the last `file` frame named.
        case fileData = 6
    }

    /// The stream's format, as a replica announces it (`REPLCONF capa`): a primary streams only
    /// to a replica that names it. Kind 1's retirement made it `kvstore2`; a kvserver of the
    /// first format is refused at PSYNC with an error saying so, instead of failing on frames.
    static let format = "kvstore2"

    static let headerSize = 9
    /// The length field's limit. A group larger than this (a batch of several values near the
    /// engine's 1 GiB maximum) cannot be framed: the primary forgets its history instead and
    /// its replicas synchronise in full (`ReplicationSource.record`).
    static let maxPayload = Int(UInt32.max)

    /// A decoded frame; `size` is its whole length on the wire.
    struct Frame: Sendable {
        let kind: Kind
        let payload: [UInt8]
        /// The payload's checksum, as received (a replica's backlog keeps the frame as sent).
        let crc: UInt32
        var size: Int { ReplicationFrame.headerSize + payload.count }

        /// Appends the frame as it was on the wire, without computing its checksum again.
        func write(to buffer: inout ReplicationBacklog) {
            withUnsafeTemporaryAllocation(byteCount: ReplicationFrame.headerSize, alignment: 1) { h in
                h[0] = kind.rawValue
                withUnsafeBytes(of: UInt32(payload.count).littleEndian) { h.baseAddress!.advanced(by: 1).copyMemory(from: $0.baseAddress!, byteCount: 4) }
                withUnsafeBytes(of: crc.littleEndian) { h.baseAddress!.advanced(by: 5).copyMemory(from: $0.baseAddress!, byteCount: 4) }
                buffer.append(UnsafeRawBufferPointer(h))
            }
            payload.withUnsafeBytes { buffer.append($0) }
        }
    }

    /// Appends a frame holding `payload`.
    static func write(_ kind: Kind, _ payload: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt32(payload.count), endianness: .little)
        buffer.writeInteger(CRC32C.checksum(payload), endianness: .little)
        buffer.writeBytes(payload)
    }

    /// A frame's bytes.
    static func encode(_ kind: Kind, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + payload.count)
        out.append(kind.rawValue)
        appendLE(UInt32(payload.count), to: &out)
        appendLE(CRC32C.checksum(payload), to: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// Takes one whole frame off the front of `buffer`; nil when it does not hold one yet.
    /// Throws for an unknown kind, an absurd length or a checksum mismatch.
    static func decode(_ buffer: inout ByteBuffer) throws(ReplicationError) -> Frame? {
        guard buffer.readableBytes >= headerSize,
              let kindByte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, endianness: .little, as: UInt32.self),
              let crc = buffer.getInteger(at: buffer.readerIndex + 5, endianness: .little, as: UInt32.self)
        else { return nil }
        guard let kind = Kind(rawValue: kindByte) else { throw .protocolViolation("unknown replication frame kind \(kindByte)") }
        guard Int(length) <= maxPayload else { throw .protocolViolation("replication frame of \(length) bytes") }
        guard buffer.readableBytes >= headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: headerSize)
        let payload = buffer.readBytes(length: Int(length)) ?? []
        guard CRC32C.checksum(payload) == crc else {
            throw .corruptFrame("\(kind) frame of \(length) bytes fails its checksum")
        }
        return Frame(kind: kind, payload: payload, crc: crc)
    }

    static func appendLE<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    /// A little-endian integer at `offset` of `bytes`, nil past the end.
    static func loadLE<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type = T.self) -> T? {
        let n = MemoryLayout<T>.size
        guard offset >= 0, offset + n <= bytes.count else { return nil }
        var v: T = 0
        for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
        return v
    }
}

/// What can go wrong on a replication link; each ends the connection (the replica reconnects).
enum ReplicationError: Error, CustomStringConvertible {
    /// The primary sent something that is not the protocol (a bad kind, length or reply).
    case protocolViolation(String)
    /// A frame failed its checksum.
    case corruptFrame(String)
    /// The primary refused a step of the handshake.
    case refused(String)
    /// This server could not do its part (the disk, for a checkpoint being received).
    case local(String)

    var description: String {
        switch self {
        case .protocolViolation(let s): return "replication protocol: \(s)"
        case .corruptFrame(let s): return "corrupt replication frame: \(s)"
        case .refused(let s): return "primary refused: \(s)"
        case .local(let s): return "replica: \(s)"
        }
    }
}
