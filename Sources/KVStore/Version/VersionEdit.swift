/// A change to the set of live files, as recorded in the MANIFEST (docs/FORMATS.md,
/// "MANIFEST"). Each field is a tagged record so unknown future fields are detected.
package struct VersionEdit: Sendable, Equatable {
    package var logNumber: UInt64?
    package var nextFileNumber: UInt64?
    package var lastSequence: UInt64?
    package var compactPointers: [(level: Int, key: [UInt8])] = []
    var deletedFiles: [(level: Int, number: UInt64)] = []
    var newFiles: [(level: Int, file: FileMetaData)] = []
    package var addedTombstones: [RangeTombstone] = []
    /// Range tombstones (named by sequence) that no longer cover anything.
    package var removedTombstones: [UInt64] = []

    package init() {}

    package static func == (a: VersionEdit, b: VersionEdit) -> Bool {
        a.logNumber == b.logNumber && a.nextFileNumber == b.nextFileNumber && a.lastSequence == b.lastSequence
            && a.compactPointers.elementsEqual(b.compactPointers) { $0.level == $1.level && $0.key == $1.key }
            && a.deletedFiles.elementsEqual(b.deletedFiles) { $0.level == $1.level && $0.number == $1.number }
            && a.newFiles.elementsEqual(b.newFiles) { $0.level == $1.level && $0.file == $1.file }
            && a.addedTombstones == b.addedTombstones && a.removedTombstones == b.removedTombstones
    }

    private enum Tag: UInt32 {
        case logNumber = 1
        case nextFileNumber = 2
        case lastSequence = 3
        case compactPointer = 4
        case deletedFile = 5
        case newFile = 6
        case rangeTombstone = 7
        case removedTombstone = 8
        /// A range tombstone with no end (to the end of the keys).
        case openRangeTombstone = 9
    }

    package mutating func addFile(_ level: Int, _ file: FileMetaData) { newFiles.append((level, file)) }
    package mutating func deleteFile(_ level: Int, _ number: UInt64) { deletedFiles.append((level, number)) }

    package func encode() -> [UInt8] {
        var out: [UInt8] = []
        if let v = logNumber { out.appendVarint32(Tag.logNumber.rawValue); out.appendVarint64(v) }
        if let v = nextFileNumber { out.appendVarint32(Tag.nextFileNumber.rawValue); out.appendVarint64(v) }
        if let v = lastSequence { out.appendVarint32(Tag.lastSequence.rawValue); out.appendVarint64(v) }
        for p in compactPointers {
            out.appendVarint32(Tag.compactPointer.rawValue)
            out.appendVarint32(UInt32(p.level))
            out.appendLengthPrefixed(p.key)
        }
        for d in deletedFiles {
            out.appendVarint32(Tag.deletedFile.rawValue)
            out.appendVarint32(UInt32(d.level))
            out.appendVarint64(d.number)
        }
        for f in newFiles {
            out.appendVarint32(Tag.newFile.rawValue)
            out.appendVarint32(UInt32(f.level))
            out.appendVarint64(f.file.number)
            out.appendVarint64(f.file.size)
            out.appendLengthPrefixed(f.file.smallest)
            out.appendLengthPrefixed(f.file.largest)
            out.appendVarint64(f.file.smallestSequence)
            out.appendVarint64(f.file.largestSequence)
        }
        for t in addedTombstones {
            if let end = t.end {
                out.appendVarint32(Tag.rangeTombstone.rawValue)
                out.appendLengthPrefixed(t.start)
                out.appendLengthPrefixed(end)
            } else {
                out.appendVarint32(Tag.openRangeTombstone.rawValue)
                out.appendLengthPrefixed(t.start)
            }
            out.appendVarint64(t.sequence)
        }
        for seq in removedTombstones {
            out.appendVarint32(Tag.removedTombstone.rawValue)
            out.appendVarint64(seq)
        }
        return out
    }

    package static func decode(_ bytes: [UInt8], file: String, offset: Int64) throws(KVError) -> VersionEdit {
        func bad(_ what: String) -> KVError {
            .corruption(file: file, offset: offset, reason: "version edit: \(what)")
        }
        return try bytes.withBytes { (raw) throws(KVError) in
            var r = ByteReader(raw)
            var e = VersionEdit()
            func level() throws(KVError) -> Int {
                guard let l = r.readVarint32(), l < UInt32(Version.levelCount) else { throw bad("bad level") }
                return Int(l)
            }
            while !r.isAtEnd {
                guard let t = r.readVarint32(), let tag = Tag(rawValue: t) else { throw bad("unknown tag") }
                switch tag {
                case .logNumber:
                    guard let v = r.readVarint64() else { throw bad("truncated log number") }
                    e.logNumber = v
                case .nextFileNumber:
                    guard let v = r.readVarint64() else { throw bad("truncated next file number") }
                    e.nextFileNumber = v
                case .lastSequence:
                    guard let v = r.readVarint64() else { throw bad("truncated last sequence") }
                    e.lastSequence = v
                case .compactPointer:
                    let l = try level()
                    guard let k = r.readLengthPrefixed() else { throw bad("truncated compact pointer") }
                    e.compactPointers.append((l, Array(k)))
                case .deletedFile:
                    let l = try level()
                    guard let n = r.readVarint64() else { throw bad("truncated deleted file") }
                    e.deletedFiles.append((l, n))
                case .newFile:
                    let l = try level()
                    guard let n = r.readVarint64(), let size = r.readVarint64(),
                          let smallest = r.readLengthPrefixed(), let largest = r.readLengthPrefixed(),
                          smallest.count >= 8, largest.count >= 8,
                          let smallestSequence = r.readVarint64(), let largestSequence = r.readVarint64()
                    else { throw bad("truncated new file") }
                    e.newFiles.append((l, FileMetaData(
                        number: n, size: size, smallest: Array(smallest), largest: Array(largest),
                        smallestSequence: smallestSequence, largestSequence: largestSequence)))
                case .rangeTombstone:
                    guard let start = r.readLengthPrefixed(), let end = r.readLengthPrefixed(), let seq = r.readVarint64() else {
                        throw bad("truncated range tombstone")
                    }
                    e.addedTombstones.append(RangeTombstone(start: Array(start), end: Array(end), sequence: seq))
                case .openRangeTombstone:
                    guard let start = r.readLengthPrefixed(), let seq = r.readVarint64() else {
                        throw bad("truncated range tombstone")
                    }
                    e.addedTombstones.append(RangeTombstone(start: Array(start), end: nil, sequence: seq))
                case .removedTombstone:
                    guard let seq = r.readVarint64() else { throw bad("truncated removed tombstone") }
                    e.removedTombstones.append(seq)
                }
            }
            return e
        }
    }
}
