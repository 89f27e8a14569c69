import CKVSupport
import NIOConcurrencyHelpers

/// Makes each write command atomic with respect to every other command on the same keys.
/// The engine orders single writes by itself, but INCR, APPEND, SETNX, GETSET and friends
/// read and then write: two clients must not both read 5 and both write 6. Every write takes
/// its keys' stripes (plain SET too, or it could land between another command's read and
/// write and be lost); reads of one key need none.
///
/// Two levels, so no command holds many locks: a command on a few keys takes the table lock
/// shared plus its keys' stripes (in index order, so two commands cannot deadlock); a command
/// spanning more than `maxStripes` stripes (a large MSET, a coalesced batch of many clients'
/// writes, FLUSHDB) takes the table lock exclusively instead. (Taking hundreds of stripe
/// locks at once also exceeds what ThreadSanitizer's deadlock detector can track.)
final class KeyLocks: @unchecked Sendable {
    // @unchecked: `table` points to a pthread rwlock, which is itself thread-safe; the
    // stripes are NIOLocks (Sendable). Nothing else is mutable.
    private let table: UnsafeMutableRawPointer
    private let stripes: [NIOLock]
    static let maxStripes = 16

    init(count: Int = 1024) {
        table = kv_rwlock_create()
        stripes = (0..<count).map { _ in NIOLock() }
    }

    deinit { kv_rwlock_destroy(table) }

    private func index(_ key: [UInt8]) -> Int {
        // FNV-1a: cheap, and spreads the short similar keys benchmarks use.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(stripes.count))
    }

    /// Runs `body` holding `key`'s stripe.
    func withLock<R, E: Error>(_ key: [UInt8], _ body: () throws(E) -> R) throws(E) -> R {
        let stripe = stripes[index(key)]
        kv_rwlock_read(table)
        stripe.lock()
        defer {
            stripe.unlock()
            kv_rwlock_unlock(table)
        }
        return try body()
    }

    /// Runs `body` holding the stripes of all `keys` (or, for many, the whole table).
    func withLocks<R, E: Error>(_ keys: [[UInt8]], _ body: () throws(E) -> R) throws(E) -> R {
        var set = Set<Int>()
        for key in keys {
            set.insert(index(key))
            if set.count > Self.maxStripes { return try withAllLocks(body) }
        }
        let indices = set.sorted()
        kv_rwlock_read(table)
        for i in indices { stripes[i].lock() }
        defer {
            for i in indices.reversed() { stripes[i].unlock() }
            kv_rwlock_unlock(table)
        }
        return try body()
    }

    /// Runs `body` with every key locked (FLUSHDB, DELRANGE: writes over unknown keys).
    func withAllLocks<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        kv_rwlock_write(table)
        defer { kv_rwlock_unlock(table) }
        return try body()
    }
}
