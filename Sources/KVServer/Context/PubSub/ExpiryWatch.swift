import Synchronization

/// The deadlines of keys given a time to live while "expired" events are wanted, so that the
/// event is published when a key expires on its own, as Redis's active expiry does. The store
/// forgets an expired key lazily (its compaction filter drops it), so without this nothing
/// would notice the moment it passed.
///
/// A min-heap of (deadline, key) and the latest deadline per key; `due` hands back the keys
/// whose deadlines passed, and the server's tick looks each up: gone — "expired" (unless a DEL
/// cancelled it); still there with a later deadline — armed again; there without one — dropped.
/// Bounded: past `capacity` keys, new deadlines are not watched (counted in `dropped`), so a
/// flood of TTL writes cannot grow it without bound.
final class ExpiryWatch: Sendable {
    static let capacity = 1_000_000

    private struct State {
        var heap: [(deadline: UInt64, key: [UInt8])] = []
        var latest: [[UInt8]: UInt64] = [:]
        var dropped = 0
    }

    private let state = Mutex(State())

    func arm(_ key: [UInt8], at deadline: UInt64) {
        state.withLock { s in
            guard s.latest[key] != nil || s.latest.count < Self.capacity else {
                s.dropped += 1
                return
            }
            s.latest[key] = deadline
            s.heap.append((deadline, key))
            var i = s.heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard s.heap[parent].deadline > s.heap[i].deadline else { break }
                s.heap.swapAt(parent, i)
                i = parent
            }
        }
    }

    func cancel(_ key: [UInt8]) {
        _ = state.withLock { $0.latest.removeValue(forKey: key) }
    }

    func clear() {
        state.withLock { $0 = State() }
    }

    var watched: Int { state.withLock { $0.latest.count } }
    var dropped: Int { state.withLock { $0.dropped } }

    /// Removes and returns the keys whose latest deadline is at or before `now` (entries
    /// superseded by a later `arm` or by `cancel` are skipped).
    func due(now: UInt64, limit: Int = 10_000) -> [[UInt8]] {
        state.withLock { s in
            var keys: [[UInt8]] = []
            while keys.count < limit, let top = s.heap.first, top.deadline <= now {
                let last = s.heap.removeLast()
                if !s.heap.isEmpty {
                    s.heap[0] = last
                    var i = 0
                    while true {
                        let l = 2 * i + 1, r = l + 1
                        var m = i
                        if l < s.heap.count && s.heap[l].deadline < s.heap[m].deadline { m = l }
                        if r < s.heap.count && s.heap[r].deadline < s.heap[m].deadline { m = r }
                        if m == i { break }
                        s.heap.swapAt(i, m)
                        i = m
                    }
                }
                if s.latest[top.key] == top.deadline {
                    s.latest[top.key] = nil
                    keys.append(top.key)
                }
            }
            return keys
        }
    }
}
