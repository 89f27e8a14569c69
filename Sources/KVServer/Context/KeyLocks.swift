import CKVSupport

/// Makes each write command atomic with respect to every other command on the same keys.
/// The engine orders single writes by itself, but INCR, APPEND, SETNX, GETSET and friends
/// read and then write: two clients must not both read 5 and both write 6. Every write takes
/// its keys' stripes (plain SET too, or it could land between another command's read and
/// write and be lost); reads of one key need none. EXEC holds the stripes of all its keys.
///
/// Two levels, so no command holds many locks: a command on a few keys takes the table lock
/// shared plus its keys' stripes (in index order, so two commands cannot deadlock); a command
/// spanning more than `maxStripes` stripes (a large MSET, a coalesced batch of many clients'
/// writes, FLUSHDB) takes the table lock exclusively instead. (Taking hundreds of stripe
/// locks at once also exceeds what ThreadSanitizer's deadlock detector can track.)
///
/// An event loop must never wait for a lock a slow command holds (one waiting out a write
/// stall on a blocking thread): it uses the `try` forms, which give up at once, and the
/// command moves to a blocking thread that may wait.
final class KeyLocks: @unchecked Sendable {
    // @unchecked: `table` is a pthread rwlock and `stripes` an array of pthread mutexes, both
    // allocated in C and thread-safe by themselves; nothing else is mutable.
    private let table: UnsafeMutableRawPointer
    private let stripes: UnsafeMutableRawPointer
    private let count: Int
    static let maxStripes = 16

    init(count: Int = 1024) {
        self.count = count
        table = kv_rwlock_create()
        stripes = kv_mutexes_create(count)
    }

    deinit {
        kv_rwlock_destroy(table)
        kv_mutexes_destroy(stripes, count)
    }

    private func index(_ key: [UInt8]) -> Int {
        // FNV-1a: cheap, and spreads the short similar keys benchmarks use.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(count))
    }

    /// The stripe `key` maps to.
    func stripe(_ key: [UInt8]) -> Int { index(key) }

    /// Takes one more stripe while holding others (the table lock shared): only if it is
    /// free now, so it cannot deadlock whatever the order. Release with `unlockStripe`.
    func tryLockStripe(_ i: Int) -> Bool { kv_mutex_trylock(stripes, i) != 0 }

    func unlockStripe(_ i: Int) { kv_mutex_unlock(stripes, i) }

    /// The stripes `withLocks(keys)` holds, nil when it holds the whole table.
    func heldStripes(_ keys: [[UInt8]]) -> Set<Int>? {
        stripeIndices(keys).map(Set.init)
    }

    /// The stripes of `keys` in lock order, or nil when they are so many that the whole
    /// table is the cheaper lock.
    private func stripeIndices(_ keys: [[UInt8]]) -> [Int]? {
        var set = Set<Int>()
        for key in keys {
            set.insert(index(key))
            if set.count > Self.maxStripes { return nil }
        }
        return set.sorted()
    }

    /// Runs `body` holding `key`'s stripe.
    func withLock<R, E: Error>(_ key: [UInt8], _ body: () throws(E) -> R) throws(E) -> R {
        let i = index(key)
        kv_rwlock_read(table)
        kv_mutex_lock(stripes, i)
        defer {
            kv_mutex_unlock(stripes, i)
            kv_rwlock_unlock(table)
        }
        return try body()
    }

    /// Runs `body` holding `key`'s stripe if it is free now; nil (and `body` not run) if not.
    func tryWithLock<R, E: Error>(_ key: [UInt8], _ body: () throws(E) -> R) throws(E) -> R? {
        let i = index(key)
        guard kv_rwlock_tryread(table) != 0 else { return nil }
        guard kv_mutex_trylock(stripes, i) != 0 else {
            kv_rwlock_unlock(table)
            return nil
        }
        defer {
            kv_mutex_unlock(stripes, i)
            kv_rwlock_unlock(table)
        }
        return try body()
    }

    /// Runs `body` holding the stripes of all `keys` (or, for many, the whole table).
    func withLocks<R, E: Error>(_ keys: [[UInt8]], _ body: () throws(E) -> R) throws(E) -> R {
        guard let indices = stripeIndices(keys) else { return try withAllLocks(body) }
        kv_rwlock_read(table)
        for i in indices { kv_mutex_lock(stripes, i) }
        defer {
            for i in indices.reversed() { kv_mutex_unlock(stripes, i) }
            kv_rwlock_unlock(table)
        }
        return try body()
    }

    /// `withLocks` if every lock is free now; nil (and `body` not run) if not.
    func tryWithLocks<R, E: Error>(_ keys: [[UInt8]], _ body: () throws(E) -> R) throws(E) -> R? {
        guard let indices = stripeIndices(keys) else { return try tryWithAllLocks(body) }
        guard kv_rwlock_tryread(table) != 0 else { return nil }
        var taken = 0
        for i in indices {
            guard kv_mutex_trylock(stripes, i) != 0 else { break }
            taken += 1
        }
        defer {
            for i in indices.prefix(taken).reversed() { kv_mutex_unlock(stripes, i) }
            kv_rwlock_unlock(table)
        }
        guard taken == indices.count else { return nil }
        return try body()
    }

    /// Runs `body` with every key locked (FLUSHDB, DELRANGE: writes over unknown keys).
    func withAllLocks<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        kv_rwlock_write(table)
        defer { kv_rwlock_unlock(table) }
        return try body()
    }

    func tryWithAllLocks<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R? {
        guard kv_rwlock_trywrite(table) != 0 else { return nil }
        defer { kv_rwlock_unlock(table) }
        return try body()
    }
}
