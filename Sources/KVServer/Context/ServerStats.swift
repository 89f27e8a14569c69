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
    let walSyncFailures = Atomic<Int>(0)
    /// Coalesced write batches the engine could not take on the event loop without waiting
    /// (a slowdown, a stop, a memtable switch, another group's commit), handed to a thread.
    let writesHeld = Atomic<Int>(0)
    /// Total time those held batches took, in microseconds.
    let heldWriteMicros = Atomic<Int>(0)
    /// Connections waiting for a held batch right now.
    let clientsHeldNow = Atomic<Int>(0)
    /// Full synchronisations and resumed streams served to replicas (`sync_full`,
    /// `sync_partial_ok`).
    let fullSyncs = Atomic<Int>(0)
    let partialSyncs = Atomic<Int>(0)
    /// Subscribers and replicas closed for exceeding `client-output-buffer-limit`.
    let outputBufferLimitDisconnections = Atomic<Int>(0)
    /// Keys whose expiry the expiry watch published as an "expired" event.
    let expiredKeys = Atomic<Int>(0)

    /// CONFIG RESETSTAT.
    func reset() {
        commandsProcessed.store(0, ordering: .relaxed)
        keyspaceHits.store(0, ordering: .relaxed)
        keyspaceMisses.store(0, ordering: .relaxed)
        protocolErrors.store(0, ordering: .relaxed)
        offloadedCommands.store(0, ordering: .relaxed)
        writesHeld.store(0, ordering: .relaxed)
        heldWriteMicros.store(0, ordering: .relaxed)
        outputBufferLimitDisconnections.store(0, ordering: .relaxed)
        fullSyncs.store(0, ordering: .relaxed)
        partialSyncs.store(0, ordering: .relaxed)
        expiredKeys.store(0, ordering: .relaxed)
    }
}
