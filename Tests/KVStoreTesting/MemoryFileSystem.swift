#if canImport(Glibc)
import Glibc
#endif
import KVStore
import Synchronization

/// Operations `MemoryFileSystem` can be told to fail.
package enum FaultOperation: Sendable, Hashable {
    case open, write, sync, rename, remove, read, syncDirectory, truncate
}

/// An in-memory file system for tests that can fail chosen operations and cut the power.
///
/// Durability model (the strict POSIX one, as LevelDB's fault-injection env):
/// - file contents are durable up to the last `sync()` of that file;
/// - creations, renames and removals are durable only after `syncDirectory` of the parent.
/// `powerCut()` rolls every file back to its durable contents and every directory back to its
/// durable entries, and invalidates all open handles (the process "died" with the power).
package final class MemoryFileSystem: FileSystem {
    private struct Node {
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    private struct Rule {
        var operation: FaultOperation
        var pathContains: String?
        var skip: Int
        var times: Int
        var errno: Int32
    }

    private struct State {
        var nodes: [Int: Node] = [:]
        var entries: [String: Int] = [:]
        var durableEntries: [String: Int] = [:]
        var directories: Set<String> = []
        var nextID = 1
        var generation = 0
        var rules: [Rule] = []
        var locks: Set<String> = []
        var capacity: Int?
        var injected = 0

        var usedBytes: Int { nodes.values.reduce(0) { $0 + $1.data.count } }

        /// Consumes a matching rule, returning the errno to fail with.
        mutating func fault(_ op: FaultOperation, _ path: String) -> Int32? {
            for i in rules.indices where rules[i].operation == op {
                if let needle = rules[i].pathContains, !path.contains(needle) { continue }
                if rules[i].skip > 0 {
                    rules[i].skip -= 1
                    continue
                }
                let code = rules[i].errno
                rules[i].times -= 1
                if rules[i].times <= 0 { rules.remove(at: i) }
                injected += 1
                return code
            }
            return nil
        }
    }

    private let state = Mutex(State())
    /// Called before each `fdatasync` of a file, outside the file system's lock, with the
    /// file's path: a test can hold a sync there (a commit leader in its fdatasync).
    private let syncGate = Mutex<(@Sendable (String) -> Void)?>(nil)

    package func setSyncGate(_ gate: (@Sendable (String) -> Void)?) {
        syncGate.withLock { $0 = gate }
    }

    package init() {}

    // MARK: Test controls

    /// Fails the matching operation with `errno` after `skip` matching calls succeed, `times`
    /// times in a row (`Int.max` for a permanent fault).
    package func inject(
        _ operation: FaultOperation, pathContains: String? = nil, after skip: Int = 0,
        times: Int = 1, errno: Int32 = EIO
    ) {
        state.locked {
            $0.rules.append(Rule(operation: operation, pathContains: pathContains, skip: skip, times: times, errno: errno))
        }
    }

    package func clearFaults() {
        state.locked { $0.rules.removeAll() }
    }

    /// Faults injected so far.
    package var injectedFaults: Int { state.locked { $0.injected } }

    /// Total bytes the files may hold; appends beyond it fail with ENOSPC.
    package func setCapacity(_ bytes: Int?) {
        state.locked { $0.capacity = bytes }
    }

    /// Simulates losing power: unsynced data and unsynced directory changes vanish, locks
    /// are released and every handle opened before now fails from here on.
    package func powerCut() {
        state.locked { s in
            s.entries = s.durableEntries
            let live = Set(s.entries.values)
            s.nodes = s.nodes.filter { live.contains($0.key) }
            for id in s.nodes.keys {
                s.nodes[id]!.data = s.nodes[id]!.durable
            }
            s.locks.removeAll()
            s.generation += 1
        }
    }

    /// An independent copy of this file system's current state (no faults, no locks), so a
    /// test can damage a store many times over from one starting point.
    package func copy() -> MemoryFileSystem {
        let other = MemoryFileSystem()
        let snapshot = state.locked { s -> ([Int: [UInt8]], [String: Int], Set<String>, Int) in
            (s.nodes.mapValues(\.data), s.entries, s.directories, s.nextID)
        }
        other.state.locked { s in
            s.nodes = snapshot.0.mapValues { Node(data: $0, durable: $0) }
            s.entries = snapshot.1
            s.durableEntries = snapshot.1
            s.directories = snapshot.2
            s.nextID = snapshot.3
        }
        return other
    }

    /// Paths of every file.
    package var allFiles: [String] { state.locked { $0.entries.keys.sorted() } }

    /// A copy of a file's current bytes (for corruption tests).
    package func contents(of path: String) -> [UInt8]? {
        state.locked { s in s.entries[path].flatMap { s.nodes[$0]?.data } }
    }

    /// Replaces a file's bytes, durably (for corruption tests).
    package func setContents(of path: String, _ bytes: [UInt8]) {
        state.locked { s in
            if let id = s.entries[path] {
                s.nodes[id] = Node(data: bytes, durable: bytes)
            }
        }
    }

    // MARK: FileSystem

    package func createDirectory(_ path: String) throws(KVError) {
        _ = state.locked { $0.directories.insert(path) }
    }

    package func fileExists(_ path: String) -> Bool {
        state.locked { $0.entries[path] != nil || $0.directories.contains(path) }
    }

    package func children(of directory: String) throws(KVError) -> [String] {
        try state.locked { (s) throws(KVError) in
            guard s.directories.contains(directory) else {
                throw KVError.io(operation: "opendir", path: directory, errno: ENOENT)
            }
            return s.entries.keys.filter { Path.parent($0) == directory }.map { Path.name($0) }
        }
    }

    package func fileSize(_ path: String) throws(KVError) -> Int64 {
        try state.locked { (s) throws(KVError) in
            guard let id = s.entries[path], let node = s.nodes[id] else {
                throw KVError.io(operation: "stat", path: path, errno: ENOENT)
            }
            return Int64(node.data.count)
        }
    }

    package func openWritable(_ path: String, truncate: Bool) throws(KVError) -> WritableFile {
        let (id, generation, size) = try state.locked { (s) throws(KVError) in
            if let code = s.fault(.open, path) { throw KVError.io(operation: "open", path: path, errno: code) }
            guard s.directories.contains(Path.parent(path)) else {
                throw KVError.io(operation: "open", path: path, errno: ENOENT)
            }
            let id: Int
            if let existing = s.entries[path] {
                id = existing
                if truncate { s.nodes[id]!.data.removeAll() }
            } else {
                id = s.nextID
                s.nextID += 1
                s.nodes[id] = Node()
                s.entries[path] = id
            }
            return (id, s.generation, Int64(s.nodes[id]!.data.count))
        }
        return MemoryWritableFile(fs: self, id: id, path: path, generation: generation, size: size)
    }

    package func openReadable(_ path: String) throws(KVError) -> ReadableFile {
        try state.locked { (s) throws(KVError) in
            if let code = s.fault(.open, path) { throw KVError.io(operation: "open", path: path, errno: code) }
            guard let id = s.entries[path] else { throw KVError.io(operation: "open", path: path, errno: ENOENT) }
            return MemoryReadableFile(fs: self, id: id, path: path, generation: s.generation)
        }
    }

    package func rename(_ from: String, to: String) throws(KVError) {
        try state.locked { (s) throws(KVError) in
            if let code = s.fault(.rename, from) { throw KVError.io(operation: "rename to \(to)", path: from, errno: code) }
            guard let id = s.entries.removeValue(forKey: from) else {
                throw KVError.io(operation: "rename to \(to)", path: from, errno: ENOENT)
            }
            s.entries[to] = id
        }
    }

    package func removeDirectory(_ path: String) throws(KVError) {
        try state.locked { (s) throws(KVError) in
            guard s.directories.remove(path) != nil else { throw KVError.io(operation: "rmdir", path: path, errno: ENOENT) }
        }
    }

    package func remove(_ path: String) throws(KVError) {
        try state.locked { (s) throws(KVError) in
            if let code = s.fault(.remove, path) { throw KVError.io(operation: "unlink", path: path, errno: code) }
            guard s.entries.removeValue(forKey: path) != nil else {
                throw KVError.io(operation: "unlink", path: path, errno: ENOENT)
            }
        }
    }

    package func truncate(_ path: String, to size: Int64) throws(KVError) {
        try state.locked { (s) throws(KVError) in
            if let code = s.fault(.truncate, path) { throw KVError.io(operation: "truncate", path: path, errno: code) }
            guard let id = s.entries[path] else { throw KVError.io(operation: "truncate", path: path, errno: ENOENT) }
            let n = Int(size)
            if n < s.nodes[id]!.data.count { s.nodes[id]!.data.removeLast(s.nodes[id]!.data.count - n) }
            // Like ftruncate followed by fsync: the engine syncs right after truncating.
            s.nodes[id]!.durable = s.nodes[id]!.data
        }
    }

    package func syncDirectory(_ directory: String) throws(KVError) {
        try state.locked { (s) throws(KVError) in
            if let code = s.fault(.syncDirectory, directory) {
                throw KVError.io(operation: "fsync directory", path: directory, errno: code)
            }
            s.durableEntries = s.durableEntries.filter { Path.parent($0.key) != directory }
            for (path, id) in s.entries where Path.parent(path) == directory {
                s.durableEntries[path] = id
            }
        }
    }

    package func lock(_ path: String) throws(KVError) -> FileLock {
        try state.locked { (s) throws(KVError) in
            guard s.locks.insert(path).inserted else { throw KVError.locked(directory: Path.parent(path)) }
            if s.entries[path] == nil {
                s.nodes[s.nextID] = Node()
                s.entries[path] = s.nextID
                s.nextID += 1
            }
            return MemoryFileLock(fs: self, path: path, generation: s.generation)
        }
    }

    // MARK: Handle plumbing

    fileprivate func append(id: Int, path: String, generation: Int, _ bytes: UnsafeRawBufferPointer) throws(KVError) {
        try state.locked { (s) throws(KVError) in
            guard s.generation == generation, s.nodes[id] != nil else {
                throw KVError.io(operation: "write", path: path, errno: EIO)
            }
            if let code = s.fault(.write, path) { throw KVError.io(operation: "write", path: path, errno: code) }
            if let cap = s.capacity, s.usedBytes + bytes.count > cap {
                throw KVError.io(operation: "write", path: path, errno: ENOSPC)
            }
            s.nodes[id]!.data.append(contentsOf: bytes)
        }
    }

    fileprivate func sync(id: Int, path: String, generation: Int) throws(KVError) {
        if let gate = syncGate.withLock({ $0 }) { gate(path) }
        try state.locked { (s) throws(KVError) in
            guard s.generation == generation, s.nodes[id] != nil else {
                throw KVError.io(operation: "fdatasync", path: path, errno: EIO)
            }
            if let code = s.fault(.sync, path) { throw KVError.io(operation: "fdatasync", path: path, errno: code) }
            s.nodes[id]!.durable = s.nodes[id]!.data
        }
    }

    fileprivate func read(id: Int, path: String, generation: Int, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int {
        try state.locked { (s) throws(KVError) in
            guard s.generation == generation, let node = s.nodes[id] else {
                throw KVError.io(operation: "pread", path: path, errno: EIO)
            }
            if let code = s.fault(.read, path) { throw KVError.io(operation: "pread at \(offset)", path: path, errno: code) }
            let start = Int(offset)
            guard start < node.data.count else { return 0 }
            let n = min(buffer.count, node.data.count - start)
            node.data.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            return n
        }
    }

    fileprivate func size(id: Int, path: String) throws(KVError) -> Int64 {
        try state.locked { (s) throws(KVError) in
            guard let node = s.nodes[id] else { throw KVError.io(operation: "fstat", path: path, errno: EBADF) }
            return Int64(node.data.count)
        }
    }

    fileprivate func unlock(_ path: String, generation: Int) {
        state.locked { s in
            if s.generation == generation { s.locks.remove(path) }
        }
    }
}

private final class MemoryWritableFile: WritableFile {
    let fs: MemoryFileSystem
    let id: Int
    let path: String
    let generation: Int
    private(set) var size: Int64
    private var closed = false

    init(fs: MemoryFileSystem, id: Int, path: String, generation: Int, size: Int64) {
        self.fs = fs
        self.id = id
        self.path = path
        self.generation = generation
        self.size = size
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(KVError) {
        guard !closed else { throw KVError.io(operation: "write (file closed)", path: path, errno: EBADF) }
        try fs.append(id: id, path: path, generation: generation, bytes)
        size += Int64(bytes.count)
    }

    func sync() throws(KVError) {
        guard !closed else { throw KVError.io(operation: "fdatasync (file closed)", path: path, errno: EBADF) }
        try fs.sync(id: id, path: path, generation: generation)
    }

    func close() throws(KVError) { closed = true }
}

/// All stored properties are lets; the file system serializes access to the bytes.
private final class MemoryReadableFile: ReadableFile {
    let fs: MemoryFileSystem
    let id: Int
    let path: String
    let generation: Int

    init(fs: MemoryFileSystem, id: Int, path: String, generation: Int) {
        self.fs = fs
        self.id = id
        self.path = path
        self.generation = generation
    }

    func size() throws(KVError) -> Int64 { try fs.size(id: id, path: path) }

    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(KVError) -> Int {
        try fs.read(id: id, path: path, generation: generation, at: offset, into: buffer)
    }
}

private final class MemoryFileLock: FileLock {
    let fs: MemoryFileSystem
    let path: String
    let generation: Int
    private let released = Atomic<Bool>(false)

    init(fs: MemoryFileSystem, path: String, generation: Int) {
        self.fs = fs
        self.path = path
        self.generation = generation
    }

    func unlock() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        fs.unlock(path, generation: generation)
    }
}
