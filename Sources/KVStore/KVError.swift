#if canImport(Glibc)
import Glibc
#endif

/// Every error KVStore throws. Each case says what went wrong and where.
public enum KVError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stored bytes failed a check (checksum, magic number, length, format).
    /// `file` is the path of the damaged file and `offset` the byte offset of the damage.
    case corruption(file: String, offset: Int64, reason: String)
    /// An operating-system call failed. `errno` is the C error number (e.g. `ENOSPC`).
    case io(operation: String, path: String, errno: Int32)
    /// The caller passed something the store cannot accept (an oversized key, a bad option).
    case invalidArgument(String)
    /// Another `KVStore` (in this process or another one) holds the directory's `LOCK` file.
    case locked(directory: String)
    /// A write or sync failed earlier; the store now refuses writes so it never reports a
    /// failed write as a success. `reason` describes the original failure. Reads still work;
    /// reopen the store to recover everything that was synced.
    case readOnly(reason: String)
    /// The store was closed.
    case closed
    /// A read with `ReadOptions.nonBlocking` would have had to wait for the disk.
    case wouldBlock
    /// The directory holds no store and `createIfMissing` is false.
    case notFound(path: String)
    /// The directory already holds a store and `errorIfExists` is true.
    case alreadyExists(path: String)
    /// An optimistic transaction's commit found `key` written by someone else after the
    /// transaction's snapshot (or could not rule that out: the snapshot is older than the
    /// writes the store keeps in memory). Nothing was written; run the transaction again.
    case conflict(key: [UInt8])

    /// What went wrong and where, in one line.
    public var description: String {
        switch self {
        case let .corruption(file, offset, reason):
            return "corruption in \(file) at offset \(offset): \(reason)"
        case let .io(operation, path, code):
            return "I/O error: \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidArgument(what):
            return "invalid argument: \(what)"
        case let .locked(directory):
            return "\(directory) is locked by another open KVStore (its LOCK file is held)"
        case let .readOnly(reason):
            return "store is read-only after an earlier failure: \(reason)"
        case .closed:
            return "store is closed"
        case .wouldBlock:
            return "the read would wait for the disk (ReadOptions.nonBlocking)"
        case let .notFound(path):
            return "no store at \(path) (createIfMissing is false)"
        case let .alreadyExists(path):
            return "a store already exists at \(path) (errorIfExists is true)"
        case let .conflict(key):
            return "transaction conflict on key \(String(decoding: key.prefix(64), as: UTF8.self).debugDescription): written since the transaction's snapshot; nothing was written, retry"
        }
    }
}
