#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole (immutable) file, unmapped when the last holder lets
/// go. Table readers read data blocks straight from it: no `pread` system call, no copy into
/// a buffer, and pages stay mapped for the next read.
///
/// Sendable: the mapping is read-only and `bytes` never changes after init. The file must not
/// shrink while mapped (tables are never modified after they are written); readers bound every
/// access by `bytes.count`, which is the file's size when it was mapped.
package final class MappedRegion: Sendable {
    nonisolated(unsafe) let bytes: UnsafeRawBufferPointer
    private static let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// Maps `count` bytes of `fd` from offset 0; nil if the system refuses (callers then read
    /// with `pread`).
    init?(fd: Int32, count: Int) {
        guard count > 0 else { return nil }
        let p = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: p, count: count)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }

    /// Whether touching `range` would not wait for the device: every page in it is in the
    /// page cache (`mincore`). For non-blocking reads.
    func isResident(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty, let base = bytes.baseAddress else { return true }
        let first = range.lowerBound / Self.pageSize * Self.pageSize
        let length = range.upperBound - first
        let pages = (length + Self.pageSize - 1) / Self.pageSize
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: pages) { vec in
            guard mincore(UnsafeMutableRawPointer(mutating: base + first), length, vec.baseAddress) == 0 else { return false }
            return vec.allSatisfy { $0 & 1 != 0 }
        }
    }
}
