import Foundation

/// The checkpoint a primary ships in a full synchronisation, written as it arrives into a
/// staging directory inside the store's (`<dir>/replication/incoming`: the store's file system,
/// so installing it hard-links the tables rather than copying them). Only the replica's apply
/// queue uses it.
///
/// What the primary sends is checked as it comes: only the names a checkpoint holds (tables,
/// one MANIFEST, CURRENT; never a path), each once, each exactly as long as announced, and the
/// totals against the end frame. Every file is fsynced as it is closed and the directory at the
/// end, so what `KVStore.replaceContents` links is durable. The store itself is not touched
/// until then: a sync cut off halfway leaves it as it was, and the next sync starts over.
/// (A value the applier keeps under its lock; `remove` closes the file being written.)
struct IncomingCheckpoint: Sendable {
    let path: String
    private var fd: Int32 = -1
    private var name = ""
    private var expected: UInt64 = 0
    private var written: UInt64 = 0
    private var names: Set<String> = []
    private(set) var bytes: UInt64 = 0

    /// Empties (or creates) `path`.
    init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var files: Int { names.count }

    /// A `file` frame: `name length u16 | name | size u64`. The previous file must be whole.
    mutating func start(_ payload: [UInt8]) throws {
        try closeFile()
        guard let length = ReplicationFrame.loadLE(payload, at: 0, as: UInt16.self),
              payload.count == 2 + Int(length) + 8,
              let size = ReplicationFrame.loadLE(payload, at: 2 + Int(length), as: UInt64.self)
        else { throw ReplicationError.protocolViolation("malformed file frame of \(payload.count) bytes") }
        let name = String(decoding: payload[2..<(2 + Int(length))], as: UTF8.self)
        guard Self.isCheckpointFile(name) else {
            throw ReplicationError.protocolViolation("the primary sent a file named \(name.debugDescription.prefix(80)), which no checkpoint holds")
        }
        guard names.insert(name).inserted else { throw ReplicationError.protocolViolation("the primary sent \(name) twice") }
        let full = path + "/" + name
        fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReplicationError.local("creating \(full): \(String(cString: strerror(errno)))") }
        self.name = name
        expected = size
        written = 0
    }

    /// A `fileData` frame: the next bytes of the file the last `file` frame named.
    mutating func append(_ payload: [UInt8]) throws {
        guard fd >= 0 else { throw ReplicationError.protocolViolation("file data before any file frame") }
        guard written + UInt64(payload.count) <= expected else {
            throw ReplicationError.protocolViolation("\(name) is longer than the \(expected) bytes announced")
        }
        try payload.withUnsafeBytes { raw in
            var at = 0
            while at < raw.count {
                let n = write(fd, raw.baseAddress! + at, raw.count - at)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ReplicationError.local("writing \(path)/\(name): \(String(cString: strerror(errno)))") }
                at += n
            }
        }
        written += UInt64(payload.count)
        bytes += UInt64(payload.count)
    }

    /// The end frame arrived: the last file is closed, the set is checked (CURRENT and one
    /// MANIFEST, the counts the primary sent) and made durable.
    mutating func finish(files: UInt64, bytes total: UInt64) throws {
        try closeFile()
        guard names.contains("CURRENT"), names.filter({ $0.hasPrefix("MANIFEST-") }).count == 1 else {
            throw ReplicationError.protocolViolation("the checkpoint lacks CURRENT or a MANIFEST: \(names.sorted())")
        }
        guard UInt64(names.count) == files, bytes == total else {
            throw ReplicationError.protocolViolation("received \(names.count) files and \(bytes) bytes; the primary sent \(files) and \(total)")
        }
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw ReplicationError.local("opening \(path): \(String(cString: strerror(errno)))") }
        defer { close(dir) }
        guard fsync(dir) == 0 else { throw ReplicationError.local("fsync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Deletes the staging directory (the store holds its own links to the tables by now, or
    /// the sync was abandoned).
    mutating func remove() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    private mutating func closeFile() throws {
        guard fd >= 0 else { return }
        defer {
            close(fd)
            fd = -1
        }
        guard written == expected else {
            throw ReplicationError.protocolViolation("\(name) ended after \(written) of the \(expected) bytes announced")
        }
        guard fsync(fd) == 0 else { throw ReplicationError.local("fsync \(path)/\(name): \(String(cString: strerror(errno)))") }
    }

    /// Names a checkpoint holds: `<digits>.sst`, `MANIFEST-<digits>`, `CURRENT`.
    static func isCheckpointFile(_ name: String) -> Bool {
        func digits(_ s: Substring) -> Bool {
            !s.isEmpty && s.utf8.count <= 20 && s.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        }
        if name == "CURRENT" { return true }
        if name.hasPrefix("MANIFEST-") { return digits(name.dropFirst(9)) }
        if name.hasSuffix(".sst") { return digits(name.dropLast(4)) }
        return false
    }
}
