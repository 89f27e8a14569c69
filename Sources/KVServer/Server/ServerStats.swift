import Synchronization

/// Counters INFO stats reports. Relaxed atomics: each is an independent tally.
final class ServerStats: Sendable {
    let commandsProcessed = Atomic<Int>(0)
    let keyspaceHits = Atomic<Int>(0)
    let keyspaceMisses = Atomic<Int>(0)
    let protocolErrors = Atomic<Int>(0)
    let offloadedCommands = Atomic<Int>(0)
    let bytesRead = Atomic<Int>(0)
    let bytesWritten = Atomic<Int>(0)
    let lastSaveMillis = Atomic<UInt64>(0)
    let walSyncFailures = Atomic<Int>(0)

    /// CONFIG RESETSTAT.
    func reset() {
        commandsProcessed.store(0, ordering: .relaxed)
        keyspaceHits.store(0, ordering: .relaxed)
        keyspaceMisses.store(0, ordering: .relaxed)
        protocolErrors.store(0, ordering: .relaxed)
        offloadedCommands.store(0, ordering: .relaxed)
    }
}
