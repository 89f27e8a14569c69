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

    /// Where Pub/Sub messages for this connection go; nil for a session without a connection
    /// (the fuzz target), which cannot subscribe.
    let mailbox: Mailbox?
    var subscriptions = Subscriptions()
    /// CLIENT REPLY: whether replies are sent.
    var replies = ReplyMode.on
    /// The command running, while keyspace events are on: its writes' events are recorded.
    var eventSource: EventSource?
    /// The events of the commands EXEC has run, published once it commits.
    var deferredEvents = RecordedEvents()

    /// A replica's connection, from its PSYNC on: the stream's feed (REPLCONF ACK reports to
    /// it), and what its REPLCONF announced before.
    var feed: ReplicaFeed?
    var replicaListeningPort = 0
    var replicaAddress: String?
    /// It announced `REPLCONF capa` with this server's stream format (`ReplicationFrame.format`).
    var replicaSpeaksStream = false

    /// Between MULTI and EXEC/DISCARD.
    package var inTransaction: Bool { multi != nil }

    /// The connection's pipelined GETs and SETs may skip the one-command path (which is where
    /// MULTI, AUTH, a subscribed connection's restrictions and CLIENT REPLY are enforced).
    var takesFastPaths: Bool { multi == nil && authenticated && replies == .on && subscriptions.isEmpty }

    /// What a closed connection's session leaves behind: its watches and subscriptions.
    mutating func release(_ server: ServerContext) {
        watched.clear(registry: server.db.watches)
        unsubscribeAll(server.pubsub)
        mailbox?.close()
        if let feed { server.replication.source.detach(feed) }
    }

    /// Drops every subscription, without replies (RESET, a closed connection).
    mutating func unsubscribeAll(_ hub: PubSubHub) {
        guard !subscriptions.isEmpty else { return }
        for kind in [PubSubHub.Kind.channel, .pattern, .shard] {
            for name in subscriptions[kind] { hub.remove(kind, name, subscriber: record.id) }
        }
        subscriptions = Subscriptions()
        record.count(subscriptions)
    }

    /// A session that cannot subscribe (no connection to deliver to).
    package init(record: ClientRecord, authenticated: Bool) {
        self.init(record: record, authenticated: authenticated, mailbox: nil)
    }

    init(record: ClientRecord, authenticated: Bool, mailbox: Mailbox?) {
        self.record = record
        self.authenticated = authenticated
        self.mailbox = mailbox
    }
}

/// CLIENT REPLY ON | OFF | SKIP.
enum ReplyMode: Sendable {
    case on, off
    /// Not the next command's reply, then on again.
    case skipNext
}
