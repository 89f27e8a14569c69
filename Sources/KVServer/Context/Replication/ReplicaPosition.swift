import Foundation

/// Where a replica stood when it was shut down cleanly: the history it held (`replid`), its
/// offset in it, and the store's last sequence once closed. Kept in
/// `<dir>/replication/position` (one line), so that a restarted replica asks its primary to
/// resume (`PSYNC replid offset+1`) instead of synchronising in full — as a Redis replica does
/// from the replication fields of the RDB it saved at shutdown.
///
/// The sequence is what makes a position trustworthy: it is used only if the reopened store's
/// last sequence is the same, that is, if the store holds exactly what it held at shutdown. Any
/// write since (applied after a resume, then a crash; a write made with the server started as
/// something else) moves the sequence, and the replica synchronises in full as before. It is
/// compared with the sequence at open, before the keyspace's own first write (it reserves a
/// block of collection versions in its format record at every start: a replica's record then
/// runs ahead of its primary's, which is safe — versions must only never repeat — and the
/// primary's next reservation in the stream overwrites it). It is read once at start and
/// deleted.
struct ReplicaPosition: Equatable {
    var replid: String
    var offset: Int64
    var sequence: UInt64

    static func path(in directory: String) -> String { directory + "/position" }

    /// Writes it durably (a temporary file, fsync, rename, fsync of the directory).
    func save(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = Self.path(in: directory)
        let temp = final + ".tmp"
        let line = Array("\(replid) \(offset) \(sequence)\n".utf8)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReplicationError.local("creating \(temp): \(String(cString: strerror(errno)))") }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == line.count, synced else { throw ReplicationError.local("writing \(temp): \(String(cString: strerror(errno)))") }
        guard rename(temp, final) == 0 else { throw ReplicationError.local("renaming \(temp): \(String(cString: strerror(errno)))") }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// The position saved in `directory`, if one is there and reads as one; the file is deleted
    /// either way.
    static func take(from directory: String) -> ReplicaPosition? {
        let path = path(in: directory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        try? FileManager.default.removeItem(atPath: path)
        let words = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 3, words[0].utf8.count == 40, let offset = Int64(words[1]), offset >= 0,
              let sequence = UInt64(words[2])
        else { return nil }
        return ReplicaPosition(replid: String(words[0]), offset: offset, sequence: sequence)
    }
}
