import KVStore
import Synchronization

/// One connection's WATCH: set by whoever writes a watched key, read by its EXEC.
final class WatchToken: Sendable {
    private let changed = Atomic<Bool>(false)
    var isDirty: Bool { changed.load(ordering: .acquiring) }
    func markDirty() { changed.store(true, ordering: .releasing) }
}

/// The keys some connection WATCHes, and who watches each (Redis's `watched_keys`).
///
/// Writers call `touch` for the keys they wrote while still holding those keys' stripes
/// (`KeyLocks`); EXEC checks its token while holding the stripes of its watched keys. So a
/// write either lands before EXEC looks (EXEC sees the flag) or after EXEC has committed.
/// With nothing watched, a write pays one relaxed atomic load.
final class WatchRegistry: Sendable {
    private let watchers = Mutex<[[UInt8]: [WatchToken]]>([:])
    /// Entries in `watchers`; 0 lets writers skip the lock.
    private let watchedKeys = Atomic<Int>(0)

    var isEmpty: Bool { watchedKeys.load(ordering: .relaxed) == 0 }

    /// Keys some connection watches (INFO clients `watched_keys`).
    var count: Int { watchedKeys.load(ordering: .relaxed) }

    func watch(_ key: [UInt8], by token: WatchToken) {
        watchers.locked { map in
            if map[key] == nil { watchedKeys.add(1, ordering: .relaxed) }
            map[key, default: []].append(token)
        }
    }

    func unwatch(_ keys: [[UInt8]], by token: WatchToken) {
        guard !keys.isEmpty else { return }
        watchers.locked { map in
            for key in keys {
                guard var tokens = map[key] else { continue }
                tokens.removeAll { $0 === token }
                if tokens.isEmpty {
                    map.removeValue(forKey: key)
                    watchedKeys.subtract(1, ordering: .relaxed)
                } else {
                    map[key] = tokens
                }
            }
        }
    }

    /// Marks every watcher of `keys` dirty.
    func touch(_ keys: some Sequence<[UInt8]>) {
        guard !isEmpty else { return }
        watchers.locked { map in
            for key in keys {
                map[key]?.forEach { $0.markDirty() }
            }
        }
    }

    /// The watched keys in [from, through] (nil `through`: no upper end), for a range
    /// deletion to find which of them it removes.
    func watched(from: [UInt8], through: [UInt8]?) -> [[UInt8]] {
        guard !isEmpty else { return [] }
        return watchers.locked { map in
            map.keys.filter { key in
                !key.lexicographicallyPrecedes(from) && (through.map { !$0.lexicographicallyPrecedes(key) } ?? true)
            }
        }
    }
}
