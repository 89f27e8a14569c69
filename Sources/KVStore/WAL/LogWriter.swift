/// Appends checksummed records to a log file (format in `LogFormat`).
///
/// Each `add` stages the record's fragments in a reused buffer and hands them to the file in
/// one `write(2)`: group commit makes one record per group, so that is one system call per
/// group. Not thread-safe: the commit leader owns it.
package final class LogWriter {
    let file: WritableFile
    let fileNumber: UInt64
    // Owned by the commit leader (one at a time): exempt from dynamic exclusivity checks,
    // which ran on every write.
    @exclusivity(unchecked) private var blockOffset: Int
    @exclusivity(unchecked) private var staging: [UInt8] = []

    /// Wraps `file`; writes the file header if the file is empty.
    package init(file: WritableFile, fileNumber: UInt64, purpose: LogFormat.Purpose) throws(KVError) {
        self.file = file
        self.fileNumber = fileNumber
        self.blockOffset = Int(file.size % Int64(LogFormat.blockSize))
        staging.reserveCapacity(64 * 1024)
        if file.size == 0 {
            let payload = LogFormat.fileHeaderPayload(purpose: purpose, fileNumber: fileNumber)
            payload.withUnsafeBytes { stage(type: .fileHeader, $0) }
            try flushStaging()
        }
    }

    var path: String { file.path }
    var size: Int64 { file.size }

    func add(_ record: UnsafeRawBufferPointer) throws(KVError) {
        var rest = record
        var first = true
        repeat {
            let leftover = LogFormat.blockSize - blockOffset
            if leftover < LogFormat.headerSize {
                staging.append(contentsOf: repeatElement(0, count: leftover))
                blockOffset = 0
            }
            let avail = LogFormat.blockSize - blockOffset - LogFormat.headerSize
            let n = min(avail, rest.count)
            let end = n == rest.count
            let type: LogFormat.RecordType = first ? (end ? .full : .first) : (end ? .last : .middle)
            stage(type: type, UnsafeRawBufferPointer(rebasing: rest[..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            first = false
        } while !rest.isEmpty
        try flushStaging()
    }

    package func add(_ record: [UInt8]) throws(KVError) {
        try record.withBytes { (bytes) throws(KVError) in try add(bytes) }
    }

    func sync() throws(KVError) { try file.sync() }

    func close() throws(KVError) { try file.close() }

    private func stage(type: LogFormat.RecordType, _ fragment: UnsafeRawBufferPointer) {
        staging.appendFixed32(LogFormat.checksum(type: type.rawValue, fragment))
        staging.append(UInt8(truncatingIfNeeded: fragment.count))
        staging.append(UInt8(truncatingIfNeeded: fragment.count >> 8))
        staging.append(type.rawValue)
        staging.append(contentsOf: fragment)
        blockOffset += LogFormat.headerSize + fragment.count
    }

    private func flushStaging() throws(KVError) {
        defer { staging.removeAll(keepingCapacity: staging.capacity <= 1 << 20) }
        try staging.withBytes { (bytes) throws(KVError) in try file.append(bytes) }
    }
}
