import Synchronization

/// Set once when the store starts closing. The background thread's long jobs (a manual
/// compaction's many steps, a merge's yield points) read it to stop early; the scheduler sets
/// it. An atomic: readers take no lock.
final class ShutdownFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }
}
