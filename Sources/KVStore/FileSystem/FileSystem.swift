/// The engine's one door to the operating system.
///
/// Every byte the engine reads or writes passes through this interface, so tests can swap in
/// `MemoryFileSystem`, which injects failures and simulates power loss. Implementations throw
/// only `KVError.io` (with the operation, the path and errno) or `KVError.locked`.
package protocol FileSystem: Sendable {
    func createDirectory(_ path: String) throws(KVError)
    func fileExists(_ path: String) -> Bool
    /// Names (not paths) of the entries in `directory`.
    func children(of directory: String) throws(KVError) -> [String]
    func fileSize(_ path: String) throws(KVError) -> Int64
    /// Opens `path` for appending, creating it if missing; `truncate` empties it first.
    func openWritable(_ path: String, truncate: Bool) throws(KVError) -> WritableFile
    func openReadable(_ path: String) throws(KVError) -> ReadableFile
    /// Creates (or empties) a write-ahead log. Its contents end at `size` as for any
    /// writable file, but until it is closed the file may be followed by zeros (space
    /// reserved ahead), which a crash leaves in place.
    func createLog(_ path: String) throws(KVError) -> WritableFile
    /// Atomically replaces `to` with `from` (durable only after `syncDirectory`).
    func rename(_ from: String, to: String) throws(KVError)
    func remove(_ path: String) throws(KVError)
    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws(KVError)
    func truncate(_ path: String, to size: Int64) throws(KVError)
    /// Makes creations, renames and removals in `directory` durable.
    func syncDirectory(_ directory: String) throws(KVError)
    /// Takes an exclusive lock on `path` (created if missing) for this process and this
    /// open store; throws `KVError.locked` if anyone, here or in another process, holds it.
    func lock(_ path: String) throws(KVError) -> FileLock
    /// Makes `to` a second name of `from` (a hard link) where the file system allows, a copy
    /// otherwise (another device, no link support). Returns true for a link. `to` is not
    /// synced: the caller syncs what it made.
    func linkOrCopy(_ from: String, to: String) throws(KVError) -> Bool
}

extension FileSystem {
    /// Logs are plain appended files unless a file system does better.
    package func createLog(_ path: String) throws(KVError) -> WritableFile { try openWritable(path, truncate: true) }

    /// Without links: a copy, in 1 MiB reads.
    package func linkOrCopy(_ from: String, to: String) throws(KVError) -> Bool {
        try copy(from, to: to)
        return false
    }

    /// Copies `from` to a new file `to`, synced.
    package func copy(_ from: String, to: String) throws(KVError) {
        let source = try openReadable(from)
        let size = try source.size()
        let out = try openWritable(to, truncate: true)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < size {
            let want = Int(min(Int64(buffer.count), size - offset))
            let n = try source.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            guard n > 0 else { throw KVError.corruption(file: from, offset: offset, reason: "file ended while copying (size \(size))") }
            try out.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += Int64(n)
        }
        try out.sync()
        try out.close()
    }
}

/// An append-only file. Not thread-safe: its owner serializes calls.
package protocol WritableFile: AnyObject {
    var path: String { get }
    /// Bytes appended so far, including what the file held when opened.
    var size: Int64 { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws(KVError)
    /// Makes the appended data durable (`fdatasync`).
    func sync() throws(KVError)
    func close() throws(KVError)
}

/// A file read by offset; safe to use from many threads at once.
package protocol ReadableFile: AnyObject, Sendable {
    var path: String { get }
    func size() throws(KVError) -> Int64
    /// Reads up to `buffer.count` bytes at `offset`; fewer only at end of file.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int
    /// As `read`, but only if the bytes are already in memory (the OS page cache): nil when
    /// reading them would wait for the device. For non-blocking reads (`ReadOptions`).
    func readIfCached(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int?
    /// The whole file mapped into memory, or nil where that is not available (reads then go
    /// through `read`). Only for files that are never modified again (tables).
    func map() -> MappedRegion?
}

extension ReadableFile {
    /// In-memory and fault-injecting files are not mapped: every read goes through `read`,
    /// where faults are injected.
    package func map() -> MappedRegion? { nil }

    /// Files held in memory never wait.
    package func readIfCached(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int? {
        try read(at: offset, into: buffer)
    }

    /// Reads `count` bytes at `offset`, or fewer at end of file.
    package func read(at offset: Int64, count: Int) throws(KVError) -> [UInt8] {
        // The initializer's closure is `rethrows` (untyped): the error leaves it by hand.
        var failure: KVError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(KVError) {
                initialized = try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    package func readAll() throws(KVError) -> [UInt8] {
        try read(at: 0, count: Int(try size()))
    }
}

/// A held directory lock; released by `unlock()` (idempotent).
package protocol FileLock: AnyObject, Sendable {
    func unlock()
}

/// Path helpers: the engine uses plain `/`-separated strings.
package enum Path {
    package static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    package static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    package static func name(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
