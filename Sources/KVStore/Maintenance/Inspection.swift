// Decoded views of single files for `kvctl inspect` (like RocksDB's ldb/sst_dump): what
// each record of a log, each edit of a MANIFEST and each entry of a table holds. Package
// access: the formats are documented in docs/FORMATS.md, not promised as API.

/// One operation of a write batch.
package struct InspectedOperation: Sendable {
    package enum Kind: String, Sendable { case put, delete, deleteRange = "delete-range", putWithExpiry = "put-expiring", putTagged = "put-tagged" }
    package var kind: Kind
    package var key: [UInt8]
    /// The value of a put, or the end key of a range deletion (nil: to the end of the keys).
    package var value: [UInt8]?
    package var expiresAt: UInt64?
    /// A tagged put's tag.
    package var tag: UInt8?
}

/// One record of a write-ahead log: a write batch.
package struct InspectedLogRecord: Sendable {
    package var offset: Int64
    package var sequence: UInt64
    package var operations: [InspectedOperation]
}

package struct InspectedLog: Sendable {
    package var path: String
    package var fileNumber: UInt64?
    package var records: [InspectedLogRecord] = []
    /// What ended the file early: a torn tail (normal after a crash), or corruption.
    package var tornTail: String?
    /// Zero bytes reserved after the last record of a write-ahead log still open, or left by
    /// a crash (not data).
    package var reservedTail: Int64 = 0
    package var corruption: KVError?
}

/// One MANIFEST record: a version edit, in words.
package struct InspectedEdit: Sendable {
    package var offset: Int64
    package var logNumber: UInt64?
    package var nextFileNumber: UInt64?
    package var lastSequence: UInt64?
    package var newFiles: [TableFileInfo] = []
    package var deletedFiles: [(level: Int, number: UInt64)] = []
    /// `end` nil: to the end of the keys.
    package var addedRangeDeletions: [(start: [UInt8], end: [UInt8]?, sequence: UInt64)] = []
    package var removedRangeDeletions: [UInt64] = []
}

package struct InspectedManifest: Sendable {
    package var path: String
    package var edits: [InspectedEdit] = []
    package var corruption: KVError?
}

/// One entry of a table: user key, sequence, kind and value.
package struct InspectedEntry: Sendable {
    package var key: [UInt8]
    package var sequence: UInt64
    package var kind: String
    package var value: [UInt8]
    package var expiresAt: UInt64?
    package var tag: UInt8?
}

package struct InspectedTable: Sendable {
    package var path: String
    package var size: UInt64
    package var properties: TableProperties
    /// One per data block: its last key, offset and stored size.
    package var index: [(lastKey: [UInt8], sequence: UInt64, offset: UInt64, size: UInt64)] = []
    package var entries: [InspectedEntry] = []
}

package enum Inspection {
    /// Decodes every record of a WAL file.
    package static func log(_ path: String, fileSystem: any FileSystem = PosixFileSystem()) throws(KVError) -> InspectedLog {
        var reader = try LogReader(file: fileSystem.openReadable(path), purpose: .writeAheadLog)
        var out = InspectedLog(path: path)
        do {
            while let (offset, payload) = try reader.next() {
                var record = InspectedLogRecord(offset: offset, sequence: 0, operations: [])
                try payload.withBytes { (encoded) throws(KVError) in
                    record.sequence = encoded.count >= 8 ? loadFixed64(encoded.baseAddress!) : 0
                    try WriteBatch.forEach(encoded, file: path, offset: offset) { (kind, key, value) throws(KVError) in
                        record.operations.append(operation(kind, key, value))
                    }
                }
                out.records.append(record)
            }
        } catch {
            out.corruption = error
        }
        out.fileNumber = reader.fileNumber
        if let t = reader.tornTail { out.tornTail = "\(t.reason) (\(t.droppedBytes) bytes from offset \(t.offset) dropped)" }
        out.reservedTail = reader.reservedTail
        return out
    }

    static func operation(_ kind: ValueKind, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> InspectedOperation {
        switch kind {
        case .value: return InspectedOperation(kind: .put, key: Array(key), value: Array(value))
        case .deletion: return InspectedOperation(kind: .delete, key: Array(key), value: nil)
        case .rangeDeletion: return InspectedOperation(kind: .deleteRange, key: Array(key), value: Array(value))
        case .rangeDeletionToEnd: return InspectedOperation(kind: .deleteRange, key: Array(key), value: nil)
        case .expiringValue:
            let (e, payload) = splitExpiring(value) ?? (0, value)
            return InspectedOperation(kind: .putWithExpiry, key: Array(key), value: Array(payload), expiresAt: e)
        case .taggedValue:
            let (offset, e, tag) = valueParts(kind.rawValue, value) ?? (0, 0, 0)
            return InspectedOperation(
                kind: .putTagged, key: Array(key), value: Array(value[offset...]), expiresAt: e == 0 ? nil : e, tag: tag)
        }
    }

    /// Decodes every edit of a MANIFEST file.
    package static func manifest(_ path: String, fileSystem: any FileSystem = PosixFileSystem()) throws(KVError) -> InspectedManifest {
        var reader = try LogReader(file: fileSystem.openReadable(path), purpose: .manifest)
        var out = InspectedManifest(path: path)
        do {
            while let (offset, payload) = try reader.next() {
                let e = try VersionEdit.decode(payload, file: path, offset: offset)
                var edit = InspectedEdit(offset: offset, logNumber: e.logNumber, nextFileNumber: e.nextFileNumber, lastSequence: e.lastSequence)
                edit.newFiles = e.newFiles.map { level, f in
                    TableFileInfo(level: level, number: f.number, size: f.size, smallestKey: Array(f.smallestUserKey),
                                  largestKey: Array(f.largestUserKey), smallestSequence: f.smallestSequence, largestSequence: f.largestSequence)
                }
                edit.deletedFiles = e.deletedFiles
                edit.addedRangeDeletions = e.addedTombstones.map { ($0.start, $0.end, $0.sequence) }
                edit.removedRangeDeletions = e.removedTombstones
                out.edits.append(edit)
            }
        } catch {
            out.corruption = error
        }
        return out
    }

    /// Reads a table's properties and index, and with `entries` every entry (checksums
    /// verified); a damaged block throws `KVError.corruption` naming file and offset.
    package static func table(_ path: String, entries wantEntries: Bool, fileSystem: any FileSystem = PosixFileSystem()) throws(KVError) -> InspectedTable {
        let file = try fileSystem.openReadable(path)
        let size = UInt64(try file.size())
        let table = try TableReader(file: file, fileNumber: 0, fileSize: size, blockCache: nil, statistics: nil)
        var out = InspectedTable(path: path, size: size, properties: table.properties)
        var cursor = BlockCursor(table.index)
        cursor.seekToFirst()
        while cursor.isValid {
            let handle = try table.decodeHandle(cursor.value)
            cursor.key.withUnsafeBytes { k in
                out.index.append((Array(userKey(k)), trailer(k) >> 8, handle.offset, handle.size))
            }
            cursor.next()
        }
        if let e = cursor.error { throw e }
        if wantEntries {
            let it = table.makeIterator(verify: true, fillCache: false)
            it.seekToFirst()
            while it.isValid {
                let k = it.key
                let t = trailer(k)
                let kind = ValueKind(rawValue: UInt8(truncatingIfNeeded: t))
                var entry = InspectedEntry(key: Array(userKey(k)), sequence: t >> 8, kind: kindName(kind), value: Array(it.value))
                if kind == .expiringValue || kind == .taggedValue, let (offset, e, tag) = valueParts(kind!.rawValue, it.value) {
                    entry.expiresAt = e == 0 ? nil : e
                    entry.tag = kind == .taggedValue ? tag : nil
                    entry.value = Array(it.value[offset...])
                }
                out.entries.append(entry)
                it.next()
            }
            if let e = it.error { throw e }
        }
        return out
    }

    static func kindName(_ kind: ValueKind?) -> String {
        switch kind {
        case .value?: return "put"
        case .deletion?: return "delete"
        case .expiringValue?: return "put-expiring"
        case .taggedValue?: return "put-tagged"
        case .rangeDeletion?, .rangeDeletionToEnd?, nil: return "unknown"
        }
    }
}
