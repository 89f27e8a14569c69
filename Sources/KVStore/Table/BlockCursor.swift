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
        switch block.lastRestart(before: target) {
        case .success(let restart): seekToRestart(restart)
        case .failure(let e): return fail(e)
        }
        while parseNext() {
            if compareInternalKeys(keyBuffer.bytes, target) >= 0 { return }
        }
    }

    /// Positions at the entry that starts restart point `index`, or past the end when
    /// `index` is `block.restartCount`. In a block of one entry per restart (an index), that
    /// is entry `index`: where `IndexSearch.find` points.
    mutating func seek(toRestart index: Int) {
        guard index < block.restartCount else {
            keyBuffer.truncate(to: 0)
            current = block.restartsOffset
            nextOffset = block.restartsOffset
            return
        }
        seekToRestart(index)
        _ = parseNext()
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

    /// Decodes the entry at `nextOffset`; false at the end of the block or on corruption.
    private mutating func parseNext() -> Bool {
        current = nextOffset
        guard current < block.restartsOffset else {
            current = block.restartsOffset
            return false
        }
        guard let h = block.entryHeader(at: current), h.shared <= keyBuffer.count else {
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
        fail(block.corruption(reason))
    }

    private mutating func fail(_ e: KVError) {
        error = e
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
