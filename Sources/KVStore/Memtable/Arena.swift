#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A bump allocator for memtable entries: one `malloc` per megabyte instead of one per entry,
/// nothing freed until the whole memtable goes. Addresses never move, so lock-free skip-list
/// readers can hold raw pointers into it for as long as they hold the memtable.
///
/// `allocate` is called only by the single memtable writer; `memoryUsage` may be read from any
/// thread, so it is atomic.
final class Arena {
    static let blockSize = 1 << 20

    private var blocks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private let usage = Atomic<Int>(0)

    init() {}

    deinit {
        for block in blocks { free(block) }
    }

    /// Bytes obtained from the system so far.
    var memoryUsage: Int { usage.load(ordering: .relaxed) }

    /// `n` bytes aligned to 8. Traps only if the system is out of memory.
    func allocate(_ n: Int) -> UnsafeMutableRawPointer {
        let size = (n + 7) & ~7
        if size <= remaining, let p = cursor {
            cursor = p + size
            remaining -= size
            return p
        }
        if size > Self.blockSize / 4 {
            // Big entries get a block of their own so the current block's tail is not wasted.
            return newBlock(size)
        }
        let p = newBlock(Self.blockSize)
        cursor = p + size
        remaining = Self.blockSize - size
        return p
    }

    private func newBlock(_ size: Int) -> UnsafeMutableRawPointer {
        guard let p = malloc(size) else {
            preconditionFailure("out of memory allocating \(size) bytes for the memtable")
        }
        blocks.append(p)
        usage.add(size + MemoryLayout<UnsafeMutableRawPointer>.stride, ordering: .relaxed)
        return p
    }
}
