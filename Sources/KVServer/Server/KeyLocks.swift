import NIOConcurrencyHelpers

/// Striped locks that make each command atomic with respect to every other command on the
/// same keys. The engine orders single writes by itself, but INCR, APPEND, SETNX, GETSET
/// and friends read and then write: two clients must not both read 5 and both write 6.
/// Every write takes its keys' stripes (plain SET too, or it could land between another
/// command's read and write and be lost); reads of one key need none.
final class KeyLocks: Sendable {
    // NIOLock (a pthread mutex) rather than Synchronization's Mutex: multi-key commands hold
    // several at once, which Mutex's closure-only API cannot express without nesting.
    private let stripes: [NIOLock]

    init(count: Int = 1024) {
        stripes = (0..<count).map { _ in NIOLock() }
    }

    private func index(_ key: [UInt8]) -> Int {
        // FNV-1a: cheap, and spreads the short similar keys benchmarks use.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(stripes.count))
    }

    /// Runs `body` holding the stripe of `key`.
    func withLock<R, E: Error>(_ key: [UInt8], _ body: () throws(E) -> R) throws(E) -> R {
        let stripe = stripes[index(key)]
        stripe.lock()
        defer { stripe.unlock() }
        return try body()
    }

    /// Runs `body` holding the stripes of all `keys`, taken in index order so that two
    /// multi-key commands cannot deadlock.
    func withLocks<R, E: Error>(_ keys: [[UInt8]], _ body: () throws(E) -> R) throws(E) -> R {
        let indices = Array(Set(keys.map(index))).sorted()
        return try lockAll(indices, body)
    }

    /// Runs `body` holding every stripe (FLUSHDB, DELRANGE: writes over unknown keys).
    func withAllLocks<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try lockAll(Array(stripes.indices), body)
    }

    private func lockAll<R, E: Error>(_ indices: [Int], _ body: () throws(E) -> R) throws(E) -> R {
        for i in indices { stripes[i].lock() }
        defer { for i in indices.reversed() { stripes[i].unlock() } }
        return try body()
    }
}
