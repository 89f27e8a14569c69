import Synchronization

/// What a replica's link reports, read by INFO, ROLE and every command's admission (`LOADING`):
/// each field an atomic of its own, written by the link and the applier.
final class ReplicaStatus: Sendable {
    private let loading = Atomic<Bool>(false)
    private let up = Atomic<Bool>(false)
    private let syncing = Atomic<Bool>(false)
    /// When the last byte arrived from the primary, and since when the link is down (ms).
    private let lastIO = Atomic<UInt64>(0)
    private let downSince: Atomic<UInt64>
    private let clock: @Sendable () -> UInt64

    init(clock: @escaping @Sendable () -> UInt64) {
        self.clock = clock
        downSince = Atomic(clock())
    }

    /// A full synchronisation is loading the snapshot: clients get `LOADING`.
    var isLoading: Bool {
        get { loading.load(ordering: .acquiring) }
        set { loading.store(newValue, ordering: .releasing) }
    }

    /// The stream flows (PSYNC answered, snapshot loaded or resumed).
    var isUp: Bool { up.load(ordering: .acquiring) }
    /// PSYNC answered FULLRESYNC and the snapshot is not loaded yet.
    var isSyncing: Bool { syncing.load(ordering: .acquiring) }

    func heardFromPrimary() { lastIO.store(clock(), ordering: .relaxed) }
    var millisecondsSinceIO: UInt64 { clock() &- lastIO.load(ordering: .relaxed) }
    var secondsSinceIO: Int { lastIO.load(ordering: .relaxed) == 0 ? -1 : Int(millisecondsSinceIO / 1000) }
    var secondsDown: Int { isUp ? 0 : Int((clock() &- downSince.load(ordering: .relaxed)) / 1000) }

    func syncStarted() {
        syncing.store(true, ordering: .releasing)
    }

    func linkUp() {
        syncing.store(false, ordering: .releasing)
        up.store(true, ordering: .releasing)
    }

    func linkDown() {
        syncing.store(false, ordering: .releasing)
        if up.exchange(false, ordering: .acquiringAndReleasing) { downSince.store(clock(), ordering: .relaxed) }
    }
}
