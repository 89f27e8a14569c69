#if canImport(Glibc)
import Glibc
#endif

/// A decoded (uncompressed, checksum-verified) block in one contiguous piece of memory. Shared
/// by the block cache and any number of readers; immutable after init.
///
/// The bytes are either an allocation the block owns (a decompressed block, or one read with
/// `pread`) or a view into a table's memory mapping, kept alive through `owner`.
package final class Block: Sendable {
    // Immutable raw storage: `nonisolated(unsafe)` because raw pointers are not Sendable,
    // but nothing writes through it after init.
    nonisolated(unsafe) let bytes: UnsafeRawBufferPointer
    /// What keeps `bytes` alive: nil when the block owns them (a `BlockMemory` buffer of
    /// `capacity` bytes, recycled with the block).
    private let owner: (any AnyObject & Sendable)?
    private let capacity: Int
    let restartsOffset: Int
    let restartCount: Int
    /// For error messages: the file and the offset of this block in it.
    let file: String
    let fileOffset: Int64

    /// Copies `contents` (the block with its restart array) and validates the trailer.
    package convenience init(contents: [UInt8], file: String, fileOffset: Int64) throws(KVError) {
        let storage = BlockMemory.allocate(contents.count)
        contents.withUnsafeBytes { storage.copyMemory(from: $0) }
        try self.init(taking: storage, count: contents.count, file: file, fileOffset: fileOffset)
    }

    /// Takes ownership of `storage`, a `BlockMemory` buffer (recycled with the block, or here if
    /// the block is invalid), of which the first `count` bytes are the block.
    init(taking storage: UnsafeMutableRawBufferPointer, count: Int, file: String, fileOffset: Int64) throws(KVError) {
        bytes = UnsafeRawBufferPointer(rebasing: storage[0..<count])
        owner = nil
        capacity = storage.count
        (restartCount, restartsOffset) = try Self.validate(bytes, file: file, fileOffset: fileOffset, freeing: storage)
        self.file = file
        self.fileOffset = fileOffset
    }

    /// Views `bytes` in place; `owner` keeps them alive (a table's mapping).
    init(borrowing bytes: UnsafeRawBufferPointer, owner: any AnyObject & Sendable, file: String, fileOffset: Int64) throws(KVError) {
        self.bytes = bytes
        self.owner = owner
        capacity = 0
        (restartCount, restartsOffset) = try Self.validate(bytes, file: file, fileOffset: fileOffset, freeing: nil)
        self.file = file
        self.fileOffset = fileOffset
    }

    private static func validate(
        _ bytes: UnsafeRawBufferPointer, file: String, fileOffset: Int64, freeing storage: UnsafeMutableRawBufferPointer?
    ) throws(KVError) -> (count: Int, restartsOffset: Int) {
        let n = bytes.count
        guard n >= 4 else {
            storage.map(BlockMemory.recycle)
            throw KVError.corruption(file: file, offset: fileOffset, reason: "block of \(n) bytes is too short")
        }
        let count = Int(loadFixed32(bytes.baseAddress! + n - 4))
        let maxRestarts = (n - 4) / 4
        guard count >= 1, count <= maxRestarts else {
            storage.map(BlockMemory.recycle)
            throw KVError.corruption(file: file, offset: fileOffset, reason: "block restart count \(count) impossible for \(n) bytes")
        }
        return (count, n - 4 - 4 * count)
    }

    deinit {
        if owner == nil, let base = bytes.baseAddress {
            BlockMemory.recycle(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: base), count: capacity))
        }
    }

    var size: Int { bytes.count }

    /// True for a view into a table's mapping: the page cache already holds it, so the block
    /// cache gains nothing by keeping it (LevelDB does not cache mapped blocks either).
    var isBorrowed: Bool { owner != nil }

    /// What the block cache is charged for it: the whole buffer it holds.
    var charge: Int { owner == nil ? capacity : bytes.count }

    @inline(__always)
    func restartPoint(_ i: Int) -> Int {
        Int(loadFixed32(bytes.baseAddress! + restartsOffset + 4 * i))
    }

    func corruption(_ reason: String) -> KVError {
        .corruption(file: file, offset: fileOffset, reason: reason)
    }

    /// Where an entry's parts lie: its key suffix starts at `keyStart`, its value right after.
    struct EntryHeader {
        var shared: Int
        var unshared: Int
        var valueCount: Int
        var keyStart: Int
    }

    /// The header of the entry at `offset`, nil when it is malformed or runs past the entries
    /// (into the restart array): every reader of entries goes through this one check.
    @inline(__always)
    func entryHeader(at offset: Int) -> EntryHeader? {
        let limit = restartsOffset
        guard offset >= 0, offset < limit else { return nil }
        let base = bytes.baseAddress!
        var h: EntryHeader
        if offset + 3 <= limit {
            let a = base.load(fromByteOffset: offset, as: UInt8.self)
            let b = base.load(fromByteOffset: offset + 1, as: UInt8.self)
            let c = base.load(fromByteOffset: offset + 2, as: UInt8.self)
            if (a | b | c) < 0x80 {
                h = EntryHeader(shared: Int(a), unshared: Int(b), valueCount: Int(c), keyStart: offset + 3)
                return h.keyStart + h.unshared + h.valueCount <= limit ? h : nil
            }
        }
        var reader = ByteReader(UnsafeRawBufferPointer(start: base, count: limit), offset: offset)
        guard let s = reader.readVarint32(), let u = reader.readVarint32(), let v = reader.readVarint32() else { return nil }
        h = EntryHeader(shared: Int(s), unshared: Int(u), valueCount: Int(v), keyStart: reader.offset)
        return h.keyStart + h.unshared + h.valueCount <= limit ? h : nil
    }

    /// The whole key stored at restart point `index` (its shared length must be 0), viewed in
    /// place; nil when that entry is malformed.
    @inline(__always)
    func keyAtRestart(_ index: Int) -> UnsafeRawBufferPointer? {
        guard let h = entryHeader(at: restartPoint(index)), h.shared == 0 else { return nil }
        return UnsafeRawBufferPointer(start: bytes.baseAddress! + h.keyStart, count: h.unshared)
    }

    /// The last restart point whose key is before `target` (an internal key), or 0 when none
    /// is: a seek scans forward from there. The one binary search of both seeks
    /// (`BlockCursor.seek`, `BlockPointSeek.seek`), so a damaged restart entry reads as the
    /// same error on either path.
    func lastRestart(before target: UnsafeRawBufferPointer) -> Result<Int, KVError> {
        var lo = 0
        var hi = restartCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            guard let midKey = keyAtRestart(mid) else { return .failure(corruption("bad entry at restart \(mid)")) }
            if compareInternalKeys(midKey, target) < 0 {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        return .success(lo)
    }
}
