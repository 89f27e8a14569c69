import Synchronization

/// Counters the engine bumps as it works; `KVStore.statistics()` turns them into a
/// `Statistics` value. All relaxed atomics: figures, not synchronization.
final class EngineStatistics: Sendable {
    let userBytesWritten = Atomic<Int>(0)
    let walBytesWritten = Atomic<Int>(0)
    let walSyncs = Atomic<Int>(0)
    let flushes = Atomic<Int>(0)
    let flushBytesWritten = Atomic<Int>(0)
    let compactions = Atomic<Int>(0)
    let trivialMoves = Atomic<Int>(0)
    let seekCompactions = Atomic<Int>(0)
    let compactionBytesRead = Atomic<Int>(0)
    let compactionBytesWritten = Atomic<Int>(0)
    /// Values compaction filters removed (the engine's expiry filter included).
    let compactionEntriesFiltered = Atomic<Int>(0)
    let slowdowns = Atomic<Int>(0)
    /// Total time leaders slept to keep writes to the delayed rate.
    let delayMicros = Atomic<Int>(0)
    /// The delayed rate in force, bytes a second (0: writes are not slowed).
    let delayedRate = Atomic<Int>(0)
    /// Non-blocking writes refused because they would have waited.
    let writesWouldBlock = Atomic<Int>(0)
    let stops = Atomic<Int>(0)
    let stallMicros = Atomic<Int>(0)
    /// Of the stop time, waits for a memtable flush and waits for level-0 compaction.
    let memtableStopMicros = Atomic<Int>(0)
    let level0StopMicros = Atomic<Int>(0)
    let bloomNegatives = Atomic<Int>(0)
    let bloomFalsePositives = Atomic<Int>(0)
    /// Why writes last waited (guarded by its own lock: a string, rarely written).
    let lastStallReason = Mutex<String?>(nil)
    let stalledNow = Atomic<Bool>(false)
    /// Writes in the commit queue now (a gauge the write queue sets under its lock).
    let writersQueued = Atomic<Int>(0)
}
