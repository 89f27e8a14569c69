import Synchronization

/// The memtables — the active one writes go into and the frozen one waiting to be flushed —
/// together with the table version, as readers see them: one `ReadState`, replaced whole.
///
/// Locking: one `Mutex` around the published state and the active memtable's log number.
/// Each change replaces one part of the state under it (the write leader freezes; the
/// background thread retires the frozen memtable and installs versions), so a reader's single
/// load always sees a consistent set. Nothing is called while the lock is held: it is the
/// last lock taken anywhere. Two facts the write leader checks on every group — is a frozen
/// memtable waiting, how many level-0 files are there — are also kept in atomics, stored
/// under the lock, so the leader's fast path takes no lock and retains nothing.
final class MemtableSet: Sendable {
    private struct State {
        var read: ReadState
        /// The log the active memtable's writes go to. While a frozen memtable waits, every
        /// log below this one holds only its writes.
        var activeLogNumber: UInt64
    }

    private let state: Mutex<State>
    private let frozen = Atomic<Bool>(false)
    private let level0 = Atomic<Int>(0)

    init(active: Memtable, logNumber: UInt64, version: Version) {
        state = Mutex(State(
            read: ReadState(activeMemtable: active, immutableMemtable: nil, version: version),
            activeLogNumber: logNumber))
        level0.store(version.files[0].count, ordering: .relaxed)
    }

    /// A frozen memtable is waiting to be flushed.
    var hasImmutable: Bool { frozen.load(ordering: .acquiring) }

    /// Level-0 files in the current version.
    var level0FileCount: Int { level0.load(ordering: .acquiring) }

    /// What a reader reads: memtables and tables, pinned together.
    var current: ReadState { state.locked { $0.read } }

    /// `body` runs with the state held, for a reader that must pick its sequence number
    /// while nothing can change (see `Engine.get`).
    func withCurrent<R: Sendable>(_ body: (ReadState) -> R) -> R {
        state.locked { body($0.read) }
    }

    var activeLogNumber: UInt64 { state.locked { $0.activeLogNumber } }

    /// Freezes the active memtable and makes `fresh`, writing to log `logNumber`, the active
    /// one. The caller (the write leader) has waited for the previous frozen one to go.
    func freeze(replacingWith fresh: Memtable, logNumber: UInt64) {
        state.locked { s in
            precondition(s.read.immutableMemtable == nil, "a memtable is frozen while another still waits to be flushed")
            s.read = ReadState(activeMemtable: fresh, immutableMemtable: s.read.activeMemtable, version: s.read.version)
            s.activeLogNumber = logNumber
            frozen.store(true, ordering: .releasing)
        }
    }

    /// The frozen memtable is in a table now (`version` holds it): readers stop reading it.
    func retireImmutable(installing version: Version) {
        state.locked { s in
            s.read = ReadState(activeMemtable: s.read.activeMemtable, immutableMemtable: nil, version: version)
            level0.store(version.files[0].count, ordering: .releasing)
            frozen.store(false, ordering: .releasing)
        }
    }

    /// A new table version (a compaction or a tombstone collection finished).
    func install(_ version: Version) {
        state.locked { s in
            s.read = ReadState(activeMemtable: s.read.activeMemtable, immutableMemtable: s.read.immutableMemtable, version: version)
            level0.store(version.files[0].count, ordering: .releasing)
        }
    }
}
