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

    func add(_ sequence: UInt64) {
        counts.locked { $0[sequence, default: 0] += 1 }
    }

    func remove(_ sequence: UInt64) {
        counts.locked { c in
            if let n = c[sequence] { c[sequence] = n > 1 ? n - 1 : nil }
        }
    }

    /// The oldest live snapshot's sequence, if any.
    var oldest: UInt64? { counts.locked { $0.keys.min() } }

    var count: Int { counts.locked { $0.values.reduce(0, +) } }
}
