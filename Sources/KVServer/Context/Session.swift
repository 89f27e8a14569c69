import KVCollections

/// The per-connection state a command may read or change.
package struct Session: Sendable {
    let record: ClientRecord
    var authenticated: Bool
    /// Set by QUIT (and protocol errors): close once the replies so far are written.
    var closeAfterReply = false
    /// False on the event loop: reads must not wait for the disk (`ReadOptions.nonBlocking`);
    /// a command whose read would, reruns on a blocking thread, where this is true.
    package var mayWait = false
    /// Keyspace hits and misses since the connection last published its counters.
    var hits = 0
    var misses = 0
    /// The connection speaks RESP3 (after `HELLO 3`).
    package var resp3 = false
    /// Between MULTI and EXEC/DISCARD: the queued commands.
    var multi: QueuedTransaction?
    var watched = WatchedKeys()
    /// While EXEC runs its commands: their unit of work, whose writes they read back and EXEC
    /// commits as one batch. Its key locks are already held, so commands take none.
    var transaction: KeyspaceTransaction?
    /// Set by a blocking command that found nothing to pop and registered the client as
    /// blocked: the connection waits for it (with `blockTimeoutMillis`, 0: forever).
    var blockedOn: BlockedClient?
    var blockTimeoutMillis = 0

    /// Between MULTI and EXEC/DISCARD.
    package var inTransaction: Bool { multi != nil }

    package init(record: ClientRecord, authenticated: Bool) {
        self.record = record
        self.authenticated = authenticated
    }
}
