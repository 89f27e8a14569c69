import Synchronization

/// Where decoded blocks live: buffers recycled between blocks instead of going back to malloc.
///
/// Every block-cache miss allocates a block of about `blockSize` bytes and every eviction frees
/// one. glibc serves 4 KiB chunks outside its per-thread cache, so each free consolidates
/// with its neighbours and, at the top of the heap, trims it: `_int_free` and `free` were 9–12%
/// of readrandom's and readseq's cycles at 1M keys (perf, docs/BENCHMARKS.md). A miss and an
/// eviction come in pairs, so a few spare buffers per size class make the churn allocation-free.
///
/// Buffers are rounded up to a multiple of `granule`, which is what a block is charged in the
/// cache as well. At most `maxPerClass` spares are kept per class and `maxPooledBytes` in all;
/// the rest is freed.
enum BlockMemory {
    static let granule = 512
    /// Larger buffers (blocks of unusual size) are plain allocations.
    static let largestPooled = 64 * 1024
    static let maxPerClass = 32
    static let maxPooledBytes = 2 * 1024 * 1024

    /// Spare buffers by class (class i holds buffers of `(i + 1) * granule` bytes). Unchecked
    /// Sendable for its raw pointers: it lives only inside `spares`' mutex, held for one push or
    /// pop, and a pooled buffer belongs to no one until a pop hands it to exactly one caller.
    private struct Spares: @unchecked Sendable {
        var byClass: [[UnsafeMutableRawPointer]] = Array(repeating: [], count: BlockMemory.largestPooled / BlockMemory.granule)
        var bytes = 0
    }

    private static let spares = Mutex(Spares())

    /// The capacity a request for `count` bytes gets.
    @inline(__always)
    static func capacity(for count: Int) -> Int {
        max(granule, (count + granule - 1) / granule * granule)
    }

    /// A buffer of `capacity(for: count)` bytes, 8-aligned; give it back with `recycle`.
    static func allocate(_ count: Int) -> UnsafeMutableRawBufferPointer {
        let size = capacity(for: count)
        if size <= largestPooled {
            // The address crosses the lock as an integer (`locked` returns only Sendable values).
            let reused = spares.locked { s in
                let c = size / granule - 1
                guard let p = s.byClass[c].popLast() else { return 0 }
                s.bytes -= size
                return Int(bitPattern: p)
            }
            if let p = UnsafeMutableRawPointer(bitPattern: reused) { return UnsafeMutableRawBufferPointer(start: p, count: size) }
        }
        return .allocate(byteCount: size, alignment: 8)
    }

    /// Takes back a buffer `allocate` returned (its full capacity).
    static func recycle(_ buffer: UnsafeMutableRawBufferPointer) {
        let size = buffer.count
        guard let base = buffer.baseAddress else { return }
        if size <= largestPooled && size % granule == 0 {
            let kept = spares.locked { s in
                let c = size / granule - 1
                guard s.byClass[c].count < maxPerClass, s.bytes + size <= maxPooledBytes else { return false }
                s.byClass[c].append(base)
                s.bytes += size
                return true
            }
            if kept { return }
        }
        base.deallocate()
    }
}
