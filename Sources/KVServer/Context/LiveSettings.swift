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

    init(_ config: ServerConfig) {
        fsyncIndex = Atomic(FsyncPolicy.allCases.firstIndex(of: config.fsync) ?? 0)
        passwordSet = Atomic(!(config.requirePassword ?? "").isEmpty)
        password = Mutex(config.requirePassword)
        idleSeconds = Atomic(config.idleTimeoutSeconds)
    }

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
