import Synchronization

/// A consistent, read-only view of the store as of the moment it was taken: reads and
/// iterators given it see exactly the writes committed before it.
///
/// While a snapshot lives, compaction keeps every version it can see. Release it (or let it
/// go out of scope) so that space can be reclaimed.
public final class Snapshot: Sendable {
    /// The sequence number of the last write the snapshot sees.
    public let sequence: UInt64
    let list: SnapshotList
    private let released = Atomic<Bool>(false)

    init(sequence: UInt64, list: SnapshotList) {
        self.sequence = sequence
        self.list = list
    }

    /// Lets compaction drop what only this snapshot needed. Reads with it afterwards throw
    /// `KVError.invalidArgument`. Releasing twice is harmless.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        list.remove(sequence)
    }

    var isReleased: Bool { released.load(ordering: .acquiring) }

    deinit { release() }
}

/// The live snapshots' sequences (a multiset: two snapshots may share one).
final class SnapshotList: Sendable {
    private let counts = Mutex<[UInt64: Int]>([:])

    /// Reads the current sequence and registers it in one step (see `oldest(orLatest:)`).
    func register(_ current: () -> UInt64) -> UInt64 {
        counts.locked { c in
            let sequence = current()
            c[sequence, default: 0] += 1
            return sequence
        }
    }

    func remove(_ sequence: UInt64) {
        counts.locked { c in
            if let n = c[sequence] { c[sequence] = n > 1 ? n - 1 : nil }
        }
    }

    /// The oldest live snapshot's sequence, or `latest()` if that is older or there is none —
    /// evaluated under the lock `register` holds, so the two cannot interleave.
    func oldest(orLatest latest: () -> UInt64) -> UInt64 {
        counts.locked { c in
            let now = latest()
            return min(c.keys.min() ?? now, now)
        }
    }

    var count: Int { counts.locked { $0.values.reduce(0, +) } }
}
