import KVCollections
import KVStore
import NIOCore
import Synchronization

/// What every command shares: the settings, the clients, the data (`Database`), what the
/// server records about itself (`Telemetry`) and its checkpoints. Immutable or internally
/// synchronized, so any event loop or blocking thread may use it.
package final class ServerContext: Sendable {
    package let config: ServerConfig
    /// Milliseconds since the Unix epoch: the same clock the store judges expiry by.
    package let clock: @Sendable () -> UInt64
    /// What CONFIG SET may change: fsync policy, password, idle timeout.
    let settings: LiveSettings
    package let clients: ClientRegistry
    let db: Database
    let telemetry: Telemetry
    /// BGSAVE's checkpoints.
    let checkpoints: Checkpoints
    /// Pub/Sub's subscriptions, and the bound on a subscriber's waiting messages.
    let pubsub: PubSubHub
    let outputLimits = OutputBufferLimits()
    /// Primary or replica, and the stream between them.
    let replication: Replication
    /// Keyspace notifications (`notify-keyspace-events`), published through `pubsub`.
    var events: KeyspaceEvents { db.events }
    private let shutdownHook = Mutex<(@Sendable () -> Void)?>(nil)

    /// Serves `store`, which must have been opened with `Keyspace.install(in:)`'s compaction
    /// filter in its options (`KVServer.start` does): opens its keyspace (bringing a store of
    /// strings from before the keyspace format to it).
    package init(store: KVStore, config: ServerConfig) throws(KeyspaceError) {
        self.config = config
        self.clock = config.storeOptions.clock
        self.clients = ClientRegistry(maxClients: config.maxClients)
        self.settings = LiveSettings(config)
        let pubsub = PubSubHub()
        self.pubsub = pubsub
        let events = KeyspaceEvents(hub: pubsub)
        events.set(KeyspaceEvents.parse(config.notifyKeyspaceEvents) ?? [])
        self.db = Database(
            store: store, keyspace: try Keyspace.open(store, limits: Self.limits(config.collections)), settings: settings, events: events)
        self.replication = Replication(db: db, settings: config.replication, blockingThreads: config.blockingThreads, clock: config.storeOptions.clock)
        self.telemetry = Telemetry(store: store, config: config)
        self.checkpoints = Checkpoints(store: store, root: config.checkpointRoot, clock: config.storeOptions.clock)
        if let limits = config.clientOutputBufferLimit { outputLimits.parse(limits)?() }
    }

    /// The mailbox through which a connection receives Pub/Sub messages.
    func makeMailbox(_ record: ClientRecord, _ channel: any Channel) -> Mailbox {
        let stats = telemetry.stats
        return Mailbox(id: record.id, channel: channel, limits: outputLimits, clock: clock) {
            stats.outputBufferLimitDisconnections.add(1, ordering: .relaxed)
        }
    }

    private static func limits(_ c: CollectionSettings) -> EncodingLimits {
        let l = EncodingLimits()
        l.set(.hashMaxEntries, c.hashMaxListpackEntries)
        l.set(.hashMaxValue, c.hashMaxListpackValue)
        l.set(.setMaxIntsetEntries, c.setMaxIntsetEntries)
        l.set(.zsetMaxEntries, c.zsetMaxListpackEntries)
        l.set(.zsetMaxValue, c.zsetMaxListpackValue)
        return l
    }

    /// Pipelined plain SETs may be batched past the one-command path: no keyspace events to
    /// record, and nothing replication refuses writes for.
    var takesFastWrites: Bool { events.off && replication.admitsWritesUnchecked }

    /// The feed through which a replica connection receives the stream after its PSYNC.
    func makeFeed(_ record: ClientRecord, _ channel: any Channel, listeningPort: Int, address: String?) -> ReplicaFeed {
        let stats = telemetry.stats
        let host = address ?? String(record.address[..<(record.address.lastIndex(of: ":") ?? record.address.endIndex)])
        return ReplicaFeed(id: record.id, channel: channel, address: host, listeningPort: listeningPort, limits: outputLimits, clock: clock) {
            stats.outputBufferLimitDisconnections.add(1, ordering: .relaxed)
        }
    }

    /// The store the server serves.
    package var store: KVStore { db.store }

    var requiresPassword: Bool { settings.requiresPassword }

    /// Writes wait for the fdatasync (`appendfsync always`).
    var syncsEveryWrite: Bool { settings.fsync == .always }

    func onShutdownRequest(_ hook: @escaping @Sendable () -> Void) {
        shutdownHook.locked { $0 = hook }
    }

    func requestShutdown() {
        shutdownHook.locked { $0 }?()
    }
}
