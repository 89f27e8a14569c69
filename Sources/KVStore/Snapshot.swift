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
    /// The contents it was taken of (`SnapshotList.contents`).
    let contents: UInt64
    private let released = Atomic<Bool>(false)

    init(sequence: UInt64, contents: UInt64, list: SnapshotList) {
        self.sequence = sequence
        self.contents = contents
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

/// The sequence numbers reads are taken at: the last published write, and the live
/// snapshots (a multiset: two snapshots may share one).
///
/// `lastSequence` is an atomic the write leader publishes after each group and readers load
/// without a lock. The snapshot counts sit behind their own lock, which `register` and
/// `oldest` both hold while they read `lastSequence`, so a snapshot can never be registered
/// below a cutoff the background thread has just computed.
///
/// `contents` counts contents replacements (`ContentsReplacement`): a replacement brings
/// another store's sequence numbers, so a snapshot of the old contents means nothing in the
/// new ones. It is bumped before the new contents are published, so a read that found them
/// also finds the count moved (`Engine.checkStillCurrent`).
final class SnapshotList: Sendable {
    private let counts = Mutex<[UInt64: Int]>([:])
    private let last: Atomic<UInt64>
    private let replacements = Atomic<UInt64>(0)

    init(lastSequence: UInt64) {
        last = Atomic(lastSequence)
    }

    /// The sequence of the last write whose group has finished.
    var lastSequence: UInt64 { last.load(ordering: .acquiring) }

    /// Called by the write leader once a group's writes are all in the memtable.
    func publish(_ sequence: UInt64) {
        last.store(sequence, ordering: .releasing)
    }

    /// Which contents the store holds: moves on each replacement.
    var contents: UInt64 { replacements.load(ordering: .acquiring) }

    /// The commit leader, replacing the store's contents: every snapshot taken so far is stale,
    /// and the last sequence becomes `sequence` (at least every sequence the new contents hold).
    func replaceContents(publishing sequence: UInt64) {
        replacements.add(1, ordering: .sequentiallyConsistent)
        last.store(sequence, ordering: .sequentiallyConsistent)
    }

    /// Reads the current sequence and registers a snapshot at it, in one step; returns it and
    /// the contents it belongs to.
    func register() -> (sequence: UInt64, contents: UInt64) {
        counts.locked { c in
            let contents = replacements.load(ordering: .acquiring)
            let sequence = last.load(ordering: .acquiring)
            c[sequence, default: 0] += 1
            return (sequence, contents)
        }
    }

    func remove(_ sequence: UInt64) {
        counts.locked { c in
            if let n = c[sequence] { c[sequence] = n > 1 ? n - 1 : nil }
        }
    }

    /// The oldest sequence any reader may still need: the oldest live snapshot's, else the
    /// last published — evaluated under the lock `register` holds, so the two cannot
    /// interleave.
    func oldest() -> UInt64 {
        counts.locked { c in
            let now = last.load(ordering: .acquiring)
            return min(c.keys.min() ?? now, now)
        }
    }

    var count: Int { counts.locked { $0.values.reduce(0, +) } }
}
