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
}

/// A position in a block. Keys are internal keys; `key` is rebuilt in a reused buffer as
/// prefix-compressed entries are decoded, so stepping allocates nothing once warm.
///
/// A malformed entry makes the cursor invalid and sets `error` (never a trap or over-read).
/// Copies of a cursor share its key buffer: move only one of them.
package struct BlockCursor {
    private(set) var block: Block
    /// Offset of the current entry; `block.restartsOffset` when not valid.
    private(set) var current: Int
    private var nextOffset: Int
    private var restartIndex = 0
    /// The current key, rebuilt in place. A class-owned buffer (not an array) so that an
    /// iterator can hand out a view of it that stays valid until the cursor moves, without
    /// copying the key at every step.
    private let keyBuffer = KeyBuffer()
    private var valueStart = 0
    private var valueCount = 0
    private(set) var error: KVError?

    package init(_ block: Block) {
        self.block = block
        current = block.restartsOffset
        nextOffset = block.restartsOffset
    }

    /// Moves to another block, unpositioned, keeping the key buffer (no allocation).
    mutating func reset(to block: Block) {
        self.block = block
        current = block.restartsOffset
        nextOffset = block.restartsOffset
        restartIndex = 0
        valueStart = 0
        valueCount = 0
        error = nil
        keyBuffer.truncate(to: 0)
    }

    /// The current key (a copy).
    var key: [UInt8] { Array(keyBuffer.bytes) }

    /// A view of the current key, valid until the cursor moves (or is replaced).
    var keyBytes: UnsafeRawBufferPointer {
        mutating get { keyBuffer.bytes }
    }

    // The three accessors below are `mutating` although they change nothing: a cursor lives
    // inside a class (TableIterator), and a non-mutating call there copies the whole struct
    // — retaining its block and key buffer — on every step (measured: a third of readseq's
    // cycles went to that retain/release). A mutating call works in place.

    package var isValid: Bool {
        mutating get { current < block.restartsOffset && error == nil }
    }

    var value: UnsafeRawBufferPointer {
        mutating get { UnsafeRawBufferPointer(start: block.bytes.baseAddress! + valueStart, count: valueCount) }
    }

    mutating func withKey<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        try body(keyBuffer.bytes)
    }

    package mutating func seekToFirst() {
        seekToRestart(0)
        _ = parseNext()
    }

    package mutating func seekToLast() {
        seekToRestart(block.restartCount - 1)
        while parseNext() && nextOffset < block.restartsOffset {}
    }

    /// First entry with key ≥ `target` (an internal key).
    package mutating func seek(_ target: UnsafeRawBufferPointer) {
        // Binary search for the last restart point whose key is < target.
        var lo = 0
        var hi = block.restartCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            guard let midKey = keyAtRestart(mid) else {
                fail("bad entry at restart \(mid)")
                return
            }
            if compareInternalKeys(midKey, target) < 0 {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        seekToRestart(lo)
        while parseNext() {
            if compareInternalKeys(keyBuffer.bytes, target) >= 0 { return }
        }
    }

    package mutating func next() {
        guard isValid else { return }
        _ = parseNext()
    }

    package mutating func previous() {
        guard isValid else { return }
        let original = current
        // Find the restart point before the current entry, then scan up to it.
        while block.restartPoint(restartIndex) >= original {
            if restartIndex == 0 {
                current = block.restartsOffset
                nextOffset = block.restartsOffset
                return
            }
            restartIndex -= 1
        }
        seekToRestart(restartIndex)
        while parseNext() && nextOffset < original {}
    }

    // MARK: Decoding

    private mutating func seekToRestart(_ index: Int) {
        keyBuffer.truncate(to: 0)
        restartIndex = index
        let offset = block.restartPoint(index)
        current = offset
        nextOffset = offset
        valueStart = offset
        valueCount = 0
    }

    /// The whole key stored at a restart point (shared length must be 0 there).
    private func keyAtRestart(_ index: Int) -> UnsafeRawBufferPointer? {
        let offset = block.restartPoint(index)
        guard let h = decodeHeader(at: offset), h.shared == 0 else { return nil }
        return UnsafeRawBufferPointer(start: block.bytes.baseAddress! + h.keyStart, count: h.unshared)
    }

    private struct EntryHeader {
        var shared: Int
        var unshared: Int
        var valueCount: Int
        var keyStart: Int
    }

    @inline(__always)
    private func decodeHeader(at offset: Int) -> EntryHeader? {
        let limit = block.restartsOffset
        guard offset < limit else { return nil }
        let base = block.bytes.baseAddress!
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

    /// Decodes the entry at `nextOffset`; false at the end of the block or on corruption.
    private mutating func parseNext() -> Bool {
        current = nextOffset
        guard current < block.restartsOffset else {
            current = block.restartsOffset
            return false
        }
        guard let h = decodeHeader(at: current), h.shared <= keyBuffer.count else {
            fail("bad entry at block offset \(current)")
            return false
        }
        keyBuffer.truncate(to: h.shared)
        keyBuffer.append(block.bytes.baseAddress! + h.keyStart, count: h.unshared)
        valueStart = h.keyStart + h.unshared
        valueCount = h.valueCount
        nextOffset = valueStart + valueCount
        while restartIndex + 1 < block.restartCount && block.restartPoint(restartIndex + 1) <= current {
            restartIndex += 1
        }
        return true
    }

    private mutating func fail(_ reason: String) {
        error = block.corruption(reason)
        current = block.restartsOffset
        nextOffset = block.restartsOffset
    }
}

/// Growable bytes owned by a class, so a view of them survives copies of the cursor that holds
/// it (and ARC frees them once no cursor does).
final class KeyBuffer {
    private var pointer: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = capacity
        pointer = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { pointer.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }

    @inline(__always)
    func truncate(to n: Int) { count = min(n, count) }

    @inline(__always)
    func append(_ source: UnsafeRawPointer, count n: Int) {
        if count + n > capacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: max(count + n, capacity * 2), alignment: 8)
            grown.copyMemory(from: pointer, byteCount: count)
            pointer.deallocate()
            pointer = grown
            capacity = max(count + n, capacity * 2)
        }
        (pointer + count).copyMemory(from: source, byteCount: n)
        count += n
    }
}
