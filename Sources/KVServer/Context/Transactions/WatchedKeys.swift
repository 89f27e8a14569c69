/// The keys one connection WATCHes, with what EXEC needs to judge them.
struct WatchedKeys: Sendable {
    /// A fresh token per round of watching: once EXEC, DISCARD or UNWATCH end it, writes to
    /// the old keys no longer concern this connection.
    private(set) var token = WatchToken()
    private(set) var keys: [[UInt8]] = []
    /// Each key's expiry when it was watched (nil: none, or no such key). A key that expires
    /// before EXEC has changed, as in Redis 7.
    private var expiries: [UInt64?] = []

    var isEmpty: Bool { keys.isEmpty }

    mutating func add(_ key: [UInt8], expiresAt: UInt64?, registry: WatchRegistry) {
        guard !keys.contains(key) else { return }
        registry.watch(key, by: token)
        keys.append(key)
        expiries.append(expiresAt)
    }

    /// Stops watching (UNWATCH, EXEC, DISCARD, RESET, disconnect).
    mutating func clear(registry: WatchRegistry) {
        guard !keys.isEmpty else { return }
        registry.unwatch(keys, by: token)
        keys = []
        expiries = []
        token = WatchToken()
    }

    /// A watched key was written, deleted or expired since it was watched.
    func changed(now: UInt64) -> Bool {
        token.isDirty || expiries.contains { e in e.map { $0 <= now } ?? false }
    }
}
