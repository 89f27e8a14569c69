import KVCollections
import KVClient
import KVStore

/// A failure, with the exit status it maps to (documented in `kvctl --help` and the README).
enum KVCtlError: Error, CustomStringConvertible {
    /// Exit 1: the key (or anything asked for) is not there.
    case notFound(String)
    /// Exit 2: the command line is wrong.
    case usage(String)
    /// Exit 3: a file is damaged.
    case corruption(String)
    /// Exit 4: the system refused (I/O error, connection failure).
    case io(String)
    /// Exit 5: anything else (a locked directory, an error reply from the server).
    case failed(String)

    var exitCode: Int32 {
        switch self {
        case .notFound: return 1
        case .usage: return 2
        case .corruption: return 3
        case .io: return 4
        case .failed: return 5
        }
    }

    var description: String {
        switch self {
        case .notFound(let s), .usage(let s), .corruption(let s), .io(let s), .failed(let s): return s
        }
    }

    static func from(_ error: KVError, directory: String? = nil) -> KVCtlError {
        switch error {
        case .corruption: return .corruption("\(error)")
        case .io: return .io("\(error)")
        case .locked(let dir):
            return .failed("\(dir) is locked by another process — is kvserver running on it? Use --server HOST:PORT to go through the server.")
        case .notFound(let path): return .notFound("no store at \(path)")
        default: return .failed("\(error)")
        }
    }

    static func from(_ error: KeyspaceError) -> KVCtlError {
        switch error {
        case .store(let e): return from(e)
        case .corruption: return .corruption("\(error)")
        default: return .failed("\(error)")
        }
    }

    static func from(_ error: KVClientError) -> KVCtlError {
        .io("\(error)")
    }
}
