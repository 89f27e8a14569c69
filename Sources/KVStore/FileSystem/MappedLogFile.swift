import CKVSupport

#if canImport(Glibc)
import Glibc
#endif

/// A new log file appended through a shared memory mapping instead of `write(2)`: an append is
/// a `memcpy` into the page cache, with no system call, which was half of the cost of an
/// unsynced write (docs/BENCHMARKS.md).
///
/// Durability is the same as with `write(2)`:
/// - The bytes are in the kernel's page cache the moment `append` returns, so they survive the
///   process being killed.
/// - `sync` is `fdatasync`, which on Linux writes back pages dirtied through a mapping too.
/// - Space is reserved with `fallocate` before a region is mapped, so a full disk is an
///   error from `append` (nothing is copied) and never a SIGBUS on a page fault.
///
/// The file grows in `chunk`-sized steps, so until `close` trims it the file ends in zeros; a
/// crash leaves them there. `LogReader` treats zeros running to the end of a write-ahead log as
/// its clean end. Not thread-safe: the commit leader owns it (like any `WritableFile`);
/// `sync` may run beside an append (`fdatasync` needs no coordination with the copy).
final class MappedLogFile: WritableFile {
    let path: String
    private var fd: Int32
    private(set) var size: Int64 = 0
    /// The mapped region `[mapStart, mapStart + mapLength)` of the file, all reserved.
    private var map: UnsafeMutableRawPointer?
    private var mapStart: Int64 = 0
    private var mapLength = 0
    static let chunk = 1 << 20
    private static let pageSize = Int64(max(4096, Int(sysconf(Int32(_SC_PAGESIZE)))))

    /// Takes `fd` (open read-write on an empty file). Returns nil, leaving `fd` open, if the
    /// file system cannot reserve space (`fallocate` unsupported): the caller then appends
    /// with `write(2)`.
    init?(fd: Int32, path: String) throws(KVError) {
        self.fd = fd
        self.path = path
        do {
            guard try extend(toHold: 0) else {
                self.fd = -1  // the caller keeps the descriptor
                return nil
            }
        } catch {
            self.fd = -1
            throw error
        }
    }

    deinit {
        if let map { munmap(map, mapLength) }
        if fd >= 0 {
            _ = ftruncate(fd, off_t(size))
            Glibc.close(fd)
        }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(KVError) {
        guard fd >= 0 else { throw KVError.io(operation: "append (file closed)", path: path, errno: EBADF) }
        guard !bytes.isEmpty else { return }
        let end = size + Int64(bytes.count)
        if map == nil || end > mapStart + Int64(mapLength) {
            _ = try extend(toHold: end)
        }
        (map! + Int(size - mapStart)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        size = end
    }

    func sync() throws(KVError) {
        guard fd >= 0 else { throw KVError.io(operation: "fdatasync (file closed)", path: path, errno: EBADF) }
        guard fdatasync(fd) == 0 else { throw KVError.io(operation: "fdatasync", path: path, errno: errno) }
    }

    /// Unmaps and trims the reserved zeros, so a closed log ends at its last record.
    func close() throws(KVError) {
        guard fd >= 0 else { return }
        if let map { munmap(map, mapLength) }
        map = nil
        let trimmed = ftruncate(fd, off_t(size))
        let trimErrno = errno
        let closed = Glibc.close(fd)
        let closeErrno = errno
        fd = -1
        guard trimmed == 0 else { throw KVError.io(operation: "ftruncate to \(size)", path: path, errno: trimErrno) }
        guard closed == 0 else { throw KVError.io(operation: "close", path: path, errno: closeErrno) }
    }

    /// Reserves and maps a region from the page holding `size` that holds `end`, in whole
    /// chunks. False if the file system does not support `fallocate`.
    private func extend(toHold end: Int64) throws(KVError) -> Bool {
        let start = size / Self.pageSize * Self.pageSize
        let needed = Int(max(end - start, 1))
        let length = (needed + Self.chunk - 1) / Self.chunk * Self.chunk
        while kv_fallocate(fd, start, Int64(length)) != 0 {
            switch errno {
            case EINTR: continue
            case EOPNOTSUPP, ENOSYS: return false
            default: throw KVError.io(operation: "fallocate \(length) bytes at \(start)", path: path, errno: errno)
            }
        }
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(start))
        guard let p, p != MAP_FAILED else {
            throw KVError.io(operation: "mmap \(length) bytes at \(start)", path: path, errno: errno)
        }
        if let map { munmap(map, mapLength) }
        map = p
        mapStart = start
        mapLength = length
        return true
    }
}
