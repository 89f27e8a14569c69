import Synchronization

/// What threads waiting for the background thread wait on: a counter of finished steps (a
/// flush, a compaction, the store's first failure, the thread's exit) and the condition that
/// announces each one. An event count: a waiter reads `epoch` *before* it looks at the state it
/// waits for, then waits for the epoch to move, so a step that finishes in between is never
/// missed.
///
/// Its own lock, taken last and only around the counter; nothing is called while it is held.
/// Whoever finishes a step bumps it: the background thread after each job, the failure latch
/// when it records a failure (so no writer waits for a thread that will do no more).
final class BackgroundProgress: Sendable {
    private let mutex = ConditionMutex()
    private let advanced: ConditionMutex.Condition
    private let counter = Atomic<UInt64>(0)

    init() {
        advanced = ConditionMutex.Condition(mutex)
    }

    /// Steps finished so far; read it before looking at what you wait for.
    var epoch: UInt64 { counter.load(ordering: .acquiring) }

    /// Waits until a step finishes after `seen` was read (at once if one has).
    func wait(after seen: UInt64) {
        mutex.withLock {
            while counter.load(ordering: .relaxed) == seen { advanced.wait() }
        }
    }

    /// A step finished: wakes every waiter.
    func advance() {
        mutex.withLock {
            counter.add(1, ordering: .releasing)
            advanced.broadcast()
        }
    }
}
