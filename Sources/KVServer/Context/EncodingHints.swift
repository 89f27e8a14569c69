import KVStore
import Synchronization

/// Which keys OBJECT ENCODING must call `raw` though their bytes alone would say `int` or
/// `embstr`: Redis stores a string that APPEND, SETRANGE, SETBIT or BITOP changed in place as
/// a raw buffer, whatever its length, and its own tests look for that.
///
/// The store keeps bytes, not Redis objects, so this is a memory of the server process, as it
/// is in Redis, where a restart re-encodes every string. Any other write to a key forgets it;
/// with nothing remembered (the common case) a write pays one relaxed atomic load. Bounded:
/// past `capacity` keys new marks are dropped and those keys report by length.
final class EncodingHints: Sendable {
    static let capacity = 65_536
    private let raw = Mutex<Set<[UInt8]>>([])
    private let count = Atomic<Int>(0)

    func markRaw(_ key: [UInt8]) {
        raw.locked { set in
            guard set.count < Self.capacity else { return }
            set.insert(key)
            count.store(set.count, ordering: .relaxed)
        }
    }

    func isRaw(_ key: [UInt8]) -> Bool {
        guard count.load(ordering: .relaxed) > 0 else { return false }
        return raw.locked { $0.contains(key) }
    }

    /// The keys were written by something other than an in-place change.
    /// Whether any key is remembered (a replica skips mapping what it applies back to keys
    /// when none is).
    var tracksAny: Bool { count.load(ordering: .relaxed) > 0 }

    func forget(_ keys: some Sequence<[UInt8]>) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        raw.locked { set in
            for key in keys { set.remove(key) }
            count.store(set.count, ordering: .relaxed)
        }
    }

    /// Keys in [from, to) (nil `to`: no end) were deleted.
    func forget(from: [UInt8], to: [UInt8]?) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        raw.locked { set in
            set = set.filter { key in
                key.lexicographicallyPrecedes(from) || (to.map { !key.lexicographicallyPrecedes($0) } ?? false)
            }
            count.store(set.count, ordering: .relaxed)
        }
    }
}
