import Synchronization

/// The memtables — the active one writes go into and the frozen one waiting to be flushed —
/// together with the table version, as readers see them: one `ReadState`, replaced whole.
/// The one owner of which memtable is active: the commit leader asks it for the memtable a
/// group goes into.
///
/// Locking: one `Mutex` around the published state. Each change replaces one part of it (the
/// commit leader freezes; the background thread retires the frozen memtable and installs
/// versions), so a reader's single load always sees a consistent set. Nothing is called while
/// the lock is held: it is the last lock taken anywhere. Two facts the write path checks on
/// every group — is a frozen memtable waiting, how many level-0 files are there — are also
/// kept in atomics, stored under the lock, so the check takes no lock and retains nothing.
final class MemtableSet: Sendable {
    private let state: Mutex<ReadState>
    private let frozen = Atomic<Bool>(false)
    private let level0 = Atomic<Int>(0)

    init(active: Memtable, version: Version) {
        state = Mutex(ReadState(activeMemtable: active, immutableMemtable: nil, version: version))
        level0.store(version.files[0].count, ordering: .relaxed)
    }

    /// A frozen memtable is waiting to be flushed.
    var hasImmutable: Bool { frozen.load(ordering: .acquiring) }

    /// Level-0 files in the current version.
    var level0FileCount: Int { level0.load(ordering: .acquiring) }

    /// What a reader reads: memtables and tables, pinned together.
    var current: ReadState { state.locked { $0 } }

    /// The memtable writes go into now. Only the commit leader replaces it (`freeze`), so
    /// for the leader it stays the same until it freezes it.
    var active: Memtable { state.locked { $0.activeMemtable } }

    /// `body` runs with the state held, for a reader that must pick its sequence number
    /// while nothing can change (see `Engine.get`).
    func withCurrent<R: Sendable>(_ body: (ReadState) -> R) -> R {
        state.locked { body($0) }
    }

    /// Freezes the active memtable and makes `fresh` the active one. The caller (the commit
    /// leader) has waited for the previous frozen one to go, and started `fresh`'s log.
    func freeze(replacingWith fresh: Memtable) {
        state.locked { s in
            precondition(s.immutableMemtable == nil, "a memtable is frozen while another still waits to be flushed")
            s = ReadState(activeMemtable: fresh, immutableMemtable: s.activeMemtable, version: s.version)
            frozen.store(true, ordering: .releasing)
        }
    }

    /// The frozen memtable is in a table now (`version` holds it): readers stop reading it.
    func retireImmutable(installing version: Version) {
        state.locked { s in
            s = ReadState(activeMemtable: s.activeMemtable, immutableMemtable: nil, version: version)
            level0.store(version.files[0].count, ordering: .releasing)
            frozen.store(false, ordering: .releasing)
        }
    }

    /// New contents (`ContentsReplacement`): `active` (empty) and `version` replace everything
    /// readers saw. The commit leader that owns `active` is waiting for this, and no memtable
    /// is frozen (it waited for that too).
    func replaceAll(active: Memtable, version: Version) {
        state.locked { s in
            precondition(s.immutableMemtable == nil, "contents replaced while a memtable waits to be flushed")
            s = ReadState(activeMemtable: active, immutableMemtable: nil, version: version)
            level0.store(version.files[0].count, ordering: .releasing)
        }
    }

    /// A new table version (a compaction or a tombstone collection finished).
    func install(_ version: Version) {
        state.locked { s in
            s = ReadState(activeMemtable: s.activeMemtable, immutableMemtable: s.immutableMemtable, version: version)
            level0.store(version.files[0].count, ordering: .releasing)
        }
    }
}
