import KVStore
import Synchronization

/// The server settings CONFIG SET may change while clients are connected: the fsync policy,
/// the password and the idle timeout. Commands read them here, never from the start-up
/// `ServerConfig`. (The other live settings have their own owners: `maxclients` the
/// `ClientRegistry`, the slowlog's the `SlowLog`, the engine's `KVStore.liveOptions`.)
///
/// Atomics for what every command reads; the password, a string read only by AUTH and HELLO,
/// behind a lock.
final class LiveSettings: Sendable {
    private let fsyncIndex: Atomic<Int>
    private let passwordSet: Atomic<Bool>
    private let password: Mutex<String?>
    private let idleSeconds: Atomic<Int>
    /// Settings kept only to be reported back (CONFIG GET): `save`, the list layout settings,
    /// `sanitize-dump-payload`.
    private let reported: Mutex<[String: String]>

    init(_ config: ServerConfig) {
        fsyncIndex = Atomic(FsyncPolicy.allCases.firstIndex(of: config.fsync) ?? 0)
        passwordSet = Atomic(!(config.requirePassword ?? "").isEmpty)
        password = Mutex(config.requirePassword)
        idleSeconds = Atomic(config.idleTimeoutSeconds)
        reported = Mutex([
            "save": config.save, "sanitize-dump-payload": config.sanitizeDumpPayload,
            "list-max-listpack-size": String(config.collections.listMaxListpackSize),
            "list-compress-depth": String(config.collections.listCompressDepth),
        ])
    }

    /// A setting kept only to be reported (see `reported`).
    func reported(_ name: String) -> String { reported.withLock { $0[name] ?? "" } }

    func setReported(_ name: String, _ value: String) { reported.withLock { $0[name] = value } }

    var fsync: FsyncPolicy {
        get { FsyncPolicy.allCases[fsyncIndex.load(ordering: .relaxed)] }
        set { fsyncIndex.store(FsyncPolicy.allCases.firstIndex(of: newValue) ?? 0, ordering: .relaxed) }
    }

    /// True when clients must AUTH (a non-empty `requirepass`).
    var requiresPassword: Bool { passwordSet.load(ordering: .relaxed) }

    /// `requirepass`; nil or empty: none. A new password binds new connections and new
    /// AUTHs; connections already authenticated stay so (as in Redis).
    var requirePassword: String? {
        get { password.locked { $0 } }
        set {
            password.locked { $0 = newValue }
            passwordSet.store(!(newValue ?? "").isEmpty, ordering: .relaxed)
        }
    }

    /// `timeout`, seconds; 0: never.
    var idleTimeoutSeconds: Int {
        get { idleSeconds.load(ordering: .relaxed) }
        set { idleSeconds.store(newValue, ordering: .relaxed) }
    }
}
