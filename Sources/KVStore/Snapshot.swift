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
/// `contents` tells which contents the store holds (`ContentsReplacement`): a replacement
/// brings another store's sequence numbers, so a snapshot of the old contents means nothing in
/// the new ones. It is odd while a replacement is under way — moved once before the new last
/// sequence is published and again after readers get the new contents, both under the counts'
/// lock, which `register` holds to read it with the sequence. A snapshot is current only if it
/// was taken at an even count that has not moved since (`isCurrent`): one taken before a
/// replacement fails from its first step on, one taken during it always fails, so no snapshot
/// ever reads the old contents and then the new. A read checks after it has read too
/// (`Engine.checkStillCurrent`): the count moves before the new contents are visible, so a read
/// that found them fails.
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

    /// Which contents the store holds (odd: a replacement is under way).
    var contents: UInt64 { replacements.load(ordering: .acquiring) }

    /// Whether a snapshot taken at `contents` still reads the store's contents.
    func isCurrent(_ contents: UInt64) -> Bool {
        contents & 1 == 0 && contents == replacements.load(ordering: .acquiring)
    }

    /// A replacement begins (for the commit leader, which holds the queue): every snapshot taken
    /// so far is stale, and the last sequence becomes `sequence` (at least every sequence the new
    /// contents hold).
    func beginReplacement(publishing sequence: UInt64) {
        counts.locked { _ in
            _ = replacements.add(1, ordering: .sequentiallyConsistent)
            last.store(sequence, ordering: .sequentiallyConsistent)
        }
    }

    /// Readers have the new contents (or the replacement failed): snapshots taken from now on
    /// are current.
    func endReplacement() {
        counts.locked { _ in
            _ = replacements.add(1, ordering: .sequentiallyConsistent)
        }
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
