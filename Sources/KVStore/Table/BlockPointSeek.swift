/// A point read's seek inside one block: the first entry whose key is at or after a target,
/// with keys rebuilt in a caller's scratch buffer (on its stack) instead of a `BlockCursor`'s
/// heap-allocated key buffer. A GET positions one index and one data block per table it
/// consults and reads one entry; a cursor there cost two objects and two buffers per table
/// (`KeyBuffer`), allocated and freed on every read.
///
/// The same search as `BlockCursor.seek` — `Block.lastRestart(before:)`, then a scan of at
/// most one restart interval — with the same corruption checks and messages, so a damaged
/// block reads as the same error on either path.
enum BlockPointSeek {
    enum Result {
        /// The entry: its key (in the scratch buffer, valid while it is) and its value (in the
        /// block).
        case found(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
        /// Every key in the block is before the target.
        case end
        /// A key on the way is longer than the scratch buffer: seek with a `BlockCursor`.
        case keyTooLong
        case corrupt(KVError)
    }

    /// Scratch large enough for the keys of almost every store; longer keys take the
    /// cursor's path.
    static let scratchSize = 512

    /// The first entry of `block` with internal key ≥ `target`.
    static func seek(_ block: Block, _ target: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer) -> Result {
        let restart: Int
        switch block.lastRestart(before: target) {
        case .success(let r): restart = r
        case .failure(let e): return .corrupt(e)
        }
        let base = block.bytes.baseAddress!
        var offset = block.restartPoint(restart)
        var keyCount = 0  // a restart's entry shares nothing with what came before
        while offset < block.restartsOffset {
            guard let h = block.entryHeader(at: offset), h.shared <= keyCount else {
                return .corrupt(block.corruption("bad entry at block offset \(offset)"))
            }
            guard h.shared + h.unshared <= scratch.count else { return .keyTooLong }
            (scratch.baseAddress! + h.shared).copyMemory(from: base + h.keyStart, byteCount: h.unshared)
            keyCount = h.shared + h.unshared
            let key = UnsafeRawBufferPointer(start: scratch.baseAddress!, count: keyCount)
            let valueStart = h.keyStart + h.unshared
            if compareInternalKeys(key, target) >= 0 {
                return .found(key: key, value: UnsafeRawBufferPointer(start: base + valueStart, count: h.valueCount))
            }
            offset = valueStart + h.valueCount
        }
        return .end
    }
}
