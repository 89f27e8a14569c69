/// Builds a block of sorted key/value entries with prefix-compressed keys (LevelDB's block
/// format; docs/FORMATS.md, "Blocks"):
///
///     entry   = shared varint32 | unshared varint32 | value length varint32 | key suffix | value
///     trailer = restart offset u32 × n | n u32
///
/// Every `restartInterval` entries the key is stored whole (a restart point), so a reader can
/// binary-search the restarts and scan at most `restartInterval` entries.
package struct BlockBuilder {
    let restartInterval: Int
    private(set) var buffer: [UInt8] = []
    private var restarts: [UInt32] = [0]
    private var counter = 0
    private(set) var entries = 0
    private var lastKey: [UInt8] = []

    package init(restartInterval: Int) {
        self.restartInterval = restartInterval
    }

    var isEmpty: Bool { entries == 0 }

    /// Size of the block if finished now.
    var estimatedSize: Int { buffer.count + restarts.count * 4 + 4 }

    /// The key most recently added, viewed without a copy.
    func withLastKey<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        try lastKey.withBytes(body)
    }

    package mutating func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        var shared = 0
        if counter < restartInterval {
            let limit = min(lastKey.count, key.count)
            lastKey.withUnsafeBytes { last in
                while shared < limit && last[shared] == key[shared] { shared += 1 }
            }
        } else {
            restarts.append(UInt32(buffer.count))
            counter = 0
        }
        let unshared = key.count - shared
        buffer.appendVarint32(UInt32(shared))
        buffer.appendVarint32(UInt32(unshared))
        buffer.appendVarint32(UInt32(value.count))
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: key[shared...]))
        buffer.append(contentsOf: value)
        lastKey.removeLast(lastKey.count - shared)
        lastKey.append(contentsOf: UnsafeRawBufferPointer(rebasing: key[shared...]))
        counter += 1
        entries += 1
    }

    /// Appends the restart array and returns the finished block; call `reset` before reuse.
    package mutating func finish() -> [UInt8] {
        finishInPlace()
        return buffer
    }

    /// Appends the restart array; `buffer` is then the finished block until `reset` (which
    /// keeps its storage, as nothing else shares it).
    mutating func finishInPlace() {
        for r in restarts { buffer.appendFixed32(r) }
        buffer.appendFixed32(UInt32(restarts.count))
    }

    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        restarts.removeAll(keepingCapacity: true)
        restarts.append(0)
        counter = 0
        entries = 0
        lastKey.removeAll(keepingCapacity: true)
    }
}
