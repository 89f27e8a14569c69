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
    static let defaultBlockSize = 1 << 20
    let blockSize: Int

    private var blocks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private let usage = Atomic<Int>(0)
    private let reserved = Atomic<Int>(0)

    init(blockSize: Int = Arena.defaultBlockSize) {
        self.blockSize = blockSize
    }

    deinit {
        for block in blocks { free(block) }
    }

    /// Bytes handed out so far (what a memtable's size limit is measured against).
    var memoryUsage: Int { usage.load(ordering: .relaxed) }

    /// Bytes obtained from the system so far.
    var reservedBytes: Int { reserved.load(ordering: .relaxed) }

    /// `n` bytes aligned to 8. Traps only if the system is out of memory.
    func allocate(_ n: Int) -> UnsafeMutableRawPointer {
        let size = (n + 7) & ~7
        usage.add(size, ordering: .relaxed)
        if size <= remaining, let p = cursor {
            cursor = p + size
            remaining -= size
            return p
        }
        if size > blockSize / 4 {
            // Big entries get a block of their own so the current block's tail is not wasted.
            return newBlock(size)
        }
        let p = newBlock(blockSize)
        cursor = p + size
        remaining = blockSize - size
        return p
    }

    private func newBlock(_ size: Int) -> UnsafeMutableRawPointer {
        guard let p = malloc(size) else {
            preconditionFailure("out of memory allocating \(size) bytes for the memtable")
        }
        blocks.append(p)
        reserved.add(size, ordering: .relaxed)
        return p
    }
}
