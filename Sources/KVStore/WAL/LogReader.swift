/// Reads the logical records of a log file and decides what a damaged spot means.
///
/// Recovery policy (docs/FORMATS.md, "Log recovery"):
/// - A bad spot (checksum mismatch, impossible length or type, a record cut short by the end
///   of the file, zeros) after which no valid physical record exists anywhere in the file is a
///   **torn tail**: what a crash or power cut leaves. Reading stops at the end of the last
///   complete logical record; `tornTail` says where and why, and `validLength` is where the
///   file should be truncated before anything else is appended.
/// - In a write-ahead log, zeros from where a record should start to the end of the file are
///   its **clean end**: space reserved ahead by `MappedLogFile` that a crash left in place.
///   Nothing is dropped; `reservedTail` counts those bytes and `validLength` is where the
///   file ends logically.
/// - A bad spot followed by any valid record is **corruption in the middle**: the bytes after
///   it were once written completely, so skipping would silently lose acknowledged data.
///   `next()` throws `KVError.corruption` with the file and the offset of the bad spot.
package struct LogReader {
    struct TornTail: Equatable, Sendable {
        /// Offset of the first byte dropped (the start of the incomplete logical record).
        var offset: Int64
        /// Bytes from `offset` to the end of the file.
        var droppedBytes: Int64
        var reason: String
    }

    let path: String
    let purpose: LogFormat.Purpose
    /// MANIFESTs are strict: a complete last record with a bad checksum is corruption, not a
    /// torn tail. Each edit is synced before it takes effect and before the logs it retires
    /// are deleted, so dropping a damaged one would lose data; only a record cut short by the
    /// end of the file (an append that never finished) may be dropped.
    private var strictTail: Bool { purpose == .manifest }
    private let bytes: [UInt8]
    private var position = 0
    private var sawHeader = false
    private(set) var fileNumber: UInt64?
    /// End of the last complete logical record returned (or of the file header).
    private(set) var validLength: Int64 = 0
    private(set) var tornTail: TornTail?
    /// Zero bytes after the last record of a write-ahead log (reserved space, not data).
    private(set) var reservedTail: Int64 = 0
    private var finished = false

    /// Reads the whole file (logs are bounded by the memtable size; MANIFESTs are small).
    init(file: ReadableFile, purpose: LogFormat.Purpose) throws(KVError) {
        self.path = file.path
        self.purpose = purpose
        self.bytes = try file.readAll()
    }

    package init(bytes: [UInt8], path: String, purpose: LogFormat.Purpose) {
        self.path = path
        self.purpose = purpose
        self.bytes = bytes
    }

    var fileLength: Int64 { Int64(bytes.count) }

    /// The next logical record and the offset of its first fragment, or nil at the end.
    package mutating func next() throws(KVError) -> (offset: Int64, payload: [UInt8])? {
        guard !finished else { return nil }
        if bytes.isEmpty {
            // Not even a header: created, then lost before anything reached the disk. Report
            // it, since a log that should hold records might have been emptied.
            tornTail = TornTail(offset: 0, droppedBytes: 0, reason: "empty log (no header)")
            finished = true
            return nil
        }
        var assembled: [UInt8] = []
        var recordStart = -1  // offset of the FIRST fragment while assembling
        while true {
            let inBlock = position % LogFormat.blockSize
            let leftover = LogFormat.blockSize - inBlock
            if leftover < LogFormat.headerSize {
                // Block trailer: zero padding, skipped.
                position += leftover
                continue
            }
            if position >= bytes.count {
                if recordStart >= 0 {
                    return try badSpot(at: position, restartAt: recordStart, "log ends inside a fragmented record")
                }
                finished = true
                return nil
            }
            if bytes.count - position < LogFormat.headerSize {
                return try badSpot(at: position, restartAt: recordStart, "log ends inside a record header")
            }
            let header = parseHeader(at: position)
            if header.type == 0 && header.length == 0 && header.checksum == 0 {
                if purpose == .writeAheadLog && sawHeader && recordStart < 0 && onlyZeros(from: position) {
                    reservedTail = Int64(bytes.count - position)
                    finished = true
                    return nil
                }
                return try badSpot(at: position, restartAt: recordStart, "zeros where a record should start")
            }
            guard header.length <= leftover - LogFormat.headerSize else {
                return try badSpot(at: position, restartAt: recordStart, "record length \(header.length) crosses a block boundary")
            }
            guard position + LogFormat.headerSize + header.length <= bytes.count else {
                return try badSpot(at: position, restartAt: recordStart, "record of \(header.length) bytes cut short by the end of the log")
            }
            guard checksumMatches(at: position, header) else {
                if strictTail && sawHeader {
                    throw KVError.corruption(file: path, offset: Int64(position), reason: "checksum mismatch in a complete record")
                }
                return try badSpot(at: position, restartAt: recordStart, "checksum mismatch")
            }
            let here = position
            let payloadStart = position + LogFormat.headerSize
            let payloadRange = payloadStart..<(payloadStart + header.length)
            position = payloadRange.upperBound

            guard let type = LogFormat.RecordType(rawValue: header.type), type != .zero else {
                return try badSpot(at: here, restartAt: recordStart, "unknown record type \(header.type)")
            }
            if !sawHeader {
                guard type == .fileHeader else {
                    throw KVError.corruption(file: path, offset: 0, reason: "not a KVStore log: missing file header")
                }
                try checkFileHeader(Array(bytes[payloadRange]))
                sawHeader = true
                validLength = Int64(position)
                continue
            }
            switch type {
            case .fileHeader, .zero:
                return try badSpot(at: here, restartAt: recordStart, "unexpected file header record")
            case .full:
                guard recordStart < 0 else {
                    return try badSpot(at: here, restartAt: recordStart, "FULL record inside a fragmented record")
                }
                validLength = Int64(position)
                return (Int64(here), Array(bytes[payloadRange]))
            case .first:
                guard recordStart < 0 else {
                    return try badSpot(at: here, restartAt: recordStart, "FIRST record inside a fragmented record")
                }
                recordStart = here
                assembled.append(contentsOf: bytes[payloadRange])
            case .middle, .last:
                guard recordStart >= 0 else {
                    return try badSpot(at: here, restartAt: recordStart, "\(type) fragment without a FIRST")
                }
                assembled.append(contentsOf: bytes[payloadRange])
                if type == .last {
                    validLength = Int64(position)
                    return (Int64(recordStart), assembled)
                }
            }
        }
    }

    private struct Header {
        var checksum: UInt32
        var length: Int
        var type: UInt8
    }

    private func parseHeader(at p: Int) -> Header {
        bytes.withUnsafeBytes { raw in
            Header(
                checksum: loadFixed32(raw.baseAddress! + p),
                length: Int(raw[p + 4]) | Int(raw[p + 5]) << 8,
                type: raw[p + 6])
        }
    }

    private func checksumMatches(at p: Int, _ h: Header) -> Bool {
        bytes.withUnsafeBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[(p + LogFormat.headerSize)..<(p + LogFormat.headerSize + h.length)])
            return LogFormat.checksum(type: h.type, payload) == h.checksum
        }
    }

    private mutating func checkFileHeader(_ payload: [UInt8]) throws(KVError) {
        guard payload.count == LogFormat.fileHeaderPayloadSize, Array(payload[0..<4]) == LogFormat.magic else {
            throw KVError.corruption(file: path, offset: 0, reason: "not a KVStore log: bad magic")
        }
        guard payload[4] == LogFormat.version else {
            throw KVError.corruption(file: path, offset: 0, reason: "unsupported log format version \(payload[4])")
        }
        guard payload[5] == purpose.rawValue else {
            throw KVError.corruption(file: path, offset: 0, reason: "log purpose \(payload[5]) where \(purpose) was expected")
        }
        fileNumber = payload.withUnsafeBytes { loadFixed64($0.baseAddress! + 6) }
    }

    private func onlyZeros(from offset: Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            UnsafeRawBufferPointer(rebasing: raw[offset...]).allSatisfy { $0 == 0 }
        }
    }

    /// Classifies a bad spot: corruption if any valid record follows, else a torn tail.
    private mutating func badSpot(at offset: Int, restartAt recordStart: Int, _ reason: String) throws(KVError) -> (offset: Int64, payload: [UInt8])? {
        if !sawHeader {
            // Only a header cut short (or never written: zeros) is a torn start; anything
            // else without a valid header is not one of our logs.
            let headerRecord = LogFormat.headerSize + LogFormat.fileHeaderPayloadSize
            if bytes.count >= headerRecord && bytes.contains(where: { $0 != 0 }) {
                throw KVError.corruption(file: path, offset: 0, reason: "not a KVStore log: \(reason)")
            }
        }
        if validRecordExists(after: offset) {
            throw KVError.corruption(file: path, offset: Int64(offset), reason: reason)
        }
        let cut = recordStart >= 0 ? recordStart : offset
        tornTail = TornTail(offset: Int64(cut), droppedBytes: Int64(bytes.count - cut), reason: "\(reason) at offset \(offset)")
        finished = true
        return nil
    }

    /// True if some offset after `offset` starts a physical record with a valid checksum.
    /// Runs only on the error path; most candidates fail the cheap type and length tests.
    private func validRecordExists(after offset: Int) -> Bool {
        var p = offset + 1
        while p + LogFormat.headerSize <= bytes.count {
            let inBlock = p % LogFormat.blockSize
            let leftover = LogFormat.blockSize - inBlock
            if leftover >= LogFormat.headerSize {
                let h = parseHeader(at: p)
                if h.type >= 1 && h.type <= 5 && h.length <= leftover - LogFormat.headerSize
                    && p + LogFormat.headerSize + h.length <= bytes.count
                    && !(h.length == 0 && h.checksum == 0)
                    && checksumMatches(at: p, h)
                {
                    return true
                }
            }
            p += 1
        }
        return false
    }
}
