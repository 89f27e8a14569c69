import CKVSupport

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The real file system, through thin Glibc calls (no Foundation on the I/O path).
package struct PosixFileSystem: FileSystem {
    package init() {}

    /// Directories locked by this process. `flock` already refuses a second lock through a
    /// different open file description, but an explicit set makes the rule independent of
    /// the kernel's flock semantics (e.g. on NFS, where flock may map to fcntl locks).
    private static let lockedPaths = Mutex<Set<String>>([])

    package func createDirectory(_ path: String) throws(KVError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw KVError.io(operation: "mkdir", path: path, errno: errno)
        }
    }

    package func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    package func children(of directory: String) throws(KVError) -> [String] {
        guard let dir = opendir(directory) else {
            throw KVError.io(operation: "opendir", path: directory, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    package func fileSize(_ path: String) throws(KVError) -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw KVError.io(operation: "stat", path: path, errno: errno)
        }
        return Int64(st.st_size)
    }

    package func openWritable(_ path: String, truncate: Bool) throws(KVError) -> WritableFile {
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0)
        let fd = retryEINTR { open(path, flags, 0o644) }
        guard fd >= 0 else { throw KVError.io(operation: "open", path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw KVError.io(operation: "fstat", path: path, errno: e)
        }
        return PosixWritableFile(fd: fd, path: path, size: Int64(st.st_size))
    }

    /// A new write-ahead log, appended through a memory mapping (`MappedLogFile`) where the
    /// file system can reserve space, else with `write(2)`.
    package func createLog(_ path: String) throws(KVError) -> WritableFile {
        let fd = retryEINTR { open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw KVError.io(operation: "open", path: path, errno: errno) }
        do {
            if let mapped = try MappedLogFile(fd: fd, path: path) { return mapped }
        } catch {
            Glibc.close(fd)
            throw error
        }
        Glibc.close(fd)
        return try openWritable(path, truncate: true)
    }

    package func openReadable(_ path: String) throws(KVError) -> ReadableFile {
        let fd = retryEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw KVError.io(operation: "open", path: path, errno: errno) }
        return PosixReadableFile(fd: fd, path: path)
    }

    package func rename(_ from: String, to: String) throws(KVError) {
        guard Glibc.rename(from, to) == 0 else {
            throw KVError.io(operation: "rename to \(to)", path: from, errno: errno)
        }
    }

    package func linkOrCopy(_ from: String, to: String) throws(KVError) -> Bool {
        if Glibc.link(from, to) == 0 { return true }
        let e = errno
        // Another device, or a file system without hard links: copy instead.
        guard e == EXDEV || e == EPERM || e == EMLINK || e == EOPNOTSUPP else {
            throw KVError.io(operation: "link to \(to)", path: from, errno: e)
        }
        try copy(from, to: to)
        return false
    }

    package func removeDirectory(_ path: String) throws(KVError) {
        guard rmdir(path) == 0 else { throw KVError.io(operation: "rmdir", path: path, errno: errno) }
    }

    package func remove(_ path: String) throws(KVError) {
        guard unlink(path) == 0 else { throw KVError.io(operation: "unlink", path: path, errno: errno) }
    }

    package func truncate(_ path: String, to size: Int64) throws(KVError) {
        guard Glibc.truncate(path, off_t(size)) == 0 else {
            throw KVError.io(operation: "truncate", path: path, errno: errno)
        }
    }

    package func syncDirectory(_ directory: String) throws(KVError) {
        let fd = retryEINTR { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw KVError.io(operation: "open directory", path: directory, errno: errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw KVError.io(operation: "fsync directory", path: directory, errno: errno) }
    }

    package func lock(_ path: String) throws(KVError) -> FileLock {
        let inserted = Self.lockedPaths.locked { $0.insert(path).inserted }
        guard inserted else { throw KVError.locked(directory: Path.parent(path)) }
        let fd = retryEINTR { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard fd >= 0 else {
            let e = errno
            _ = Self.lockedPaths.locked { $0.remove(path) }
            throw KVError.io(operation: "open", path: path, errno: e)
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            Glibc.close(fd)
            _ = Self.lockedPaths.locked { $0.remove(path) }
            if e == EWOULDBLOCK { throw KVError.locked(directory: Path.parent(path)) }
            throw KVError.io(operation: "flock", path: path, errno: e)
        }
        return PosixFileLock(fd: fd, path: path)
    }

    fileprivate static func release(_ path: String) {
        _ = lockedPaths.locked { $0.remove(path) }
    }
}

@inline(__always)
func retryEINTR(_ body: () -> Int32) -> Int32 {
    while true {
        let r = body()
        if r >= 0 || errno != EINTR { return r }
    }
}

final class PosixWritableFile: WritableFile {
    let path: String
    private var fd: Int32
    private(set) var size: Int64

    init(fd: Int32, path: String, size: Int64) {
        self.fd = fd
        self.path = path
        self.size = size
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(KVError) {
        guard fd >= 0 else { throw KVError.io(operation: "write (file closed)", path: path, errno: EBADF) }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                size += Int64(done)
                throw KVError.io(operation: "write", path: path, errno: e)
            }
            done += n
        }
        size += Int64(done)
    }

    func sync() throws(KVError) {
        guard fd >= 0 else { throw KVError.io(operation: "fdatasync (file closed)", path: path, errno: EBADF) }
        guard fdatasync(fd) == 0 else { throw KVError.io(operation: "fdatasync", path: path, errno: errno) }
    }

    func close() throws(KVError) {
        guard fd >= 0 else { return }
        let r = Glibc.close(fd)
        fd = -1
        guard r == 0 else { throw KVError.io(operation: "close", path: path, errno: errno) }
    }
}

/// Immutable after init (`fd` and `path` are lets); `pread` is thread-safe.
final class PosixReadableFile: ReadableFile {
    let path: String
    private let fd: Int32

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { Glibc.close(fd) }

    func map() -> MappedRegion? {
        guard let size = try? size(), size > 0, size <= Int64(Int.max) else { return nil }
        return MappedRegion(fd: fd, count: Int(size))
    }

    func size() throws(KVError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw KVError.io(operation: "fstat", path: path, errno: errno) }
        return Int64(st.st_size)
    }

    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw KVError.io(operation: "pread at \(offset + Int64(done))", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `preadv2(RWF_NOWAIT)`: the kernel returns EAGAIN rather than start device I/O. A
    /// partial read (part of the range cached) counts as not cached; so does a kernel or file
    /// system without RWF_NOWAIT (EOPNOTSUPP, ENOSYS), which just sends such reads to a
    /// thread that may wait.
    func readIfCached(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int? {
        while true {
            let n = kv_pread_nowait(fd, buffer.baseAddress, buffer.count, offset)
            if n < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN, EOPNOTSUPP, ENOSYS, EINVAL: return nil
                default: throw KVError.io(operation: "preadv2 at \(offset)", path: path, errno: errno)
                }
            }
            if n == buffer.count { return n }
            // Short: end of file, or only part of the range is cached. Tell them apart.
            let size = try self.size()
            return offset + Int64(n) >= size ? n : nil
        }
    }
}

/// Owns the locked descriptor; `unlock` is guarded by an atomic flag so it runs once.
final class PosixFileLock: FileLock {
    private let fd: Int32
    private let path: String
    private let released = Atomic<Bool>(false)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func unlock() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        flock(fd, LOCK_UN)
        Glibc.close(fd)
        PosixFileSystem.release(path)
    }

    deinit { unlock() }
}
