/// How a store is opened. The defaults suit most uses.
public struct Options: Sendable {
    /// Create the directory and an empty store if none exists (default true).
    public var createIfMissing = true
    /// Fail with `KVError.alreadyExists` if a store exists (default false).
    public var errorIfExists = false
    /// Memtable size in bytes before it is turned into a table (default 4 MiB).
    public var writeBufferSize = 4 << 20
    /// Compression of table blocks (default lz4).
    public var compression: Compression = .lz4
    /// Largest key accepted, in bytes (default 64 MiB).
    public var maxKeySize = 64 << 20
    /// Largest value accepted, in bytes (default 1 GiB).
    public var maxValueSize = 1 << 30

    /// The file system the engine uses; tests substitute a fault-injecting one.
    package var fileSystem: any FileSystem = PosixFileSystem()

    public init() {}
}

/// Per-write settings.
public struct WriteOptions: Sendable {
    /// Wait for `fdatasync` before returning, so the write survives power loss (default
    /// false: a write survives a process crash as soon as the call returns).
    public var sync = false

    public init(sync: Bool = false) {
        self.sync = sync
    }
}
