/// The last `capacity` bytes of the replication stream (Redis's `repl-backlog-size`), by
/// offset: a replica that reconnects asking for an offset still held resumes from here
/// (PSYNC's `+CONTINUE`) instead of a full synchronisation. A ring that grows up to its
/// capacity as bytes arrive. Not synchronized: `ReplicationSource` owns it under its lock.
struct ReplicationBacklog {
    private var ring: [UInt8] = []
    private(set) var capacity: Int
    /// Stream offset of the byte after the last one appended (the primary's offset).
    private(set) var end: Int64
    /// Bytes held: the stream from `end - held` to `end`.
    private(set) var held = 0
    /// Ring index where the next byte goes, once the ring is full.
    private var head = 0

    init(capacity: Int, end: Int64) {
        self.capacity = max(1, capacity)
        self.end = end
    }

    /// Offset of the first byte still held.
    var start: Int64 { end - Int64(held) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        end += Int64(bytes.count)
        var src = bytes
        if src.count >= capacity {
            src = UnsafeRawBufferPointer(rebasing: src[(src.count - capacity)...])
            ring = Array(src)
            head = 0
            held = capacity
            return
        }
        if ring.count < capacity {
            // Still growing: append in place until the ring reaches its capacity.
            let room = capacity - ring.count
            let n = min(room, src.count)
            ring.append(contentsOf: src[0..<n])
            held = ring.count
            head = ring.count % capacity
            src = UnsafeRawBufferPointer(rebasing: src[n...])
            if src.isEmpty { return }
        }
        // Full: overwrite the oldest bytes, wrapping once at most.
        ring.withUnsafeMutableBytes { r in
            let first = min(src.count, capacity - head)
            r.baseAddress!.advanced(by: head).copyMemory(from: src.baseAddress!, byteCount: first)
            if first < src.count {
                r.baseAddress!.copyMemory(from: src.baseAddress!.advanced(by: first), byteCount: src.count - first)
            }
        }
        head = (head + src.count) % capacity
        held = capacity
    }

    /// The stream from `offset` to the end; nil if `offset` is not held (older than the
    /// backlog, or beyond the end).
    func bytes(from offset: Int64) -> [UInt8]? {
        guard offset >= start, offset <= end else { return nil }
        let count = Int(end - offset)
        if count == 0 { return [] }
        // Ring index of `offset`: the oldest byte is at `head` once full, at 0 before.
        let oldest = ring.count < capacity ? 0 : head
        let from = (oldest + Int(offset - start)) % ring.count
        if from + count <= ring.count { return Array(ring[from..<(from + count)]) }
        return Array(ring[from...]) + Array(ring[0..<(count - (ring.count - from))])
    }

    /// Empties the backlog and moves its end to `offset` (a replica adopting its primary's
    /// offset after a full synchronisation), with a new capacity.
    mutating func reset(end offset: Int64, capacity: Int? = nil) {
        if let capacity { self.capacity = max(1, capacity) }
        ring = []
        head = 0
        held = 0
        end = offset
    }

    /// A new capacity, keeping as much of the tail as fits.
    mutating func resize(_ newCapacity: Int) {
        let tail = bytes(from: max(start, end - Int64(max(1, newCapacity)))) ?? []
        let e = end
        reset(end: e - Int64(tail.count), capacity: newCapacity)
        tail.withUnsafeBytes { append($0) }
    }
}
