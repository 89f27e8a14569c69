import Dispatch
import Foundation
import KVCollections
import KVStore
import Logging
import NIOCore
import Synchronization

/// This server's place in replication: a primary (recording its commits for replicas) or a
/// replica of one (`ReplicaLink`), what REPLICAOF switches between, and the rules commands
/// meet because of it: `READONLY` on a read-only replica, `LOADING` while a snapshot loads,
/// `NOREPLICAS` when `min-replicas-to-write` is not met. Docs: docs/SERVER.md "Replication",
/// docs/FORMATS.md "Replication stream".
final class Replication: Sendable {
    let source: ReplicationSource
    let status: ReplicaStatus
    private let db: Database
    private let settingsState: Mutex<ReplicationSettings>
    private let link = Mutex<ReplicaLink?>(nil)
    /// Set by `start`: what a link needs to connect.
    private let runtime = Mutex<(group: any EventLoopGroup, port: Int, logger: Logger)?>(nil)
    private let timer = Mutex<RepeatedTask?>(nil)
    /// Read by every command's admission, so kept apart from the settings' lock.
    private let readOnly = Atomic<Bool>(false)
    private let minReplicas = Atomic<Int>(0)
    /// Serializes role changes (REPLICAOF from two clients at once).
    private let switching = Mutex<Void>(())
    /// Full synchronisations being sent, each on a thread of its own; `stop` waits for them
    /// (they write to channels of event loops that close after it).
    private let fullSyncs = DispatchGroup()
    private let stopping = Atomic<Bool>(false)
    /// Full synchronisations being sent now; past `maxFullSyncs` a replica is turned away (it
    /// asks again a second later): each holds a thread and a snapshot.
    private let fullSyncsRunning = Atomic<Int>(0)
    static let maxFullSyncs = 4
    /// WAITs waiting now, each on a blocking thread: at most `maxWaiters` (a quarter of the
    /// blocking pool), so WAITs never starve the commands that need the pool.
    private let waiters = Atomic<Int>(0)
    let maxWaiters: Int

    init(db: Database, settings: ReplicationSettings, blockingThreads: Int, clock: @escaping @Sendable () -> UInt64) {
        self.db = db
        self.maxWaiters = max(1, blockingThreads / 4)
        self.settingsState = Mutex(settings)
        self.source = ReplicationSource(store: db.store, backlogSize: settings.backlogSize)
        self.status = ReplicaStatus(clock: clock)
        minReplicas.store(settings.minReplicasToWrite, ordering: .relaxed)
        source.onStrayCommit { [weak self] in self?.strayCommit() }
    }

    /// A commit that was not the applier's reached a replica's store: its data is no longer
    /// the primary's history (the source has forgotten it). A read-only replica asks again,
    /// which is a full synchronisation; a writable one (`replica-read-only no`) keeps its own
    /// writes, as Redis's does, until its next synchronisation.
    private func strayCommit() {
        guard settings.replicaReadOnly, let current = link.withLock({ $0 }) else { return }
        runtime.withLock { $0 }?.logger.warning("replication: a write committed after this server became a replica; synchronising in full")
        current.reconnect()
    }

    var settings: ReplicationSettings {
        get { settingsState.withLock { $0 } }
        set {
            settingsState.withLock { $0 = newValue }
            source.backlogSize = newValue.backlogSize
            minReplicas.store(newValue.minReplicasToWrite, ordering: .relaxed)
            refreshReadOnly()
        }
    }

    /// The primary this server replicates, nil for a primary.
    var primary: (host: String, port: Int)? { link.withLock { $0.map { ($0.host, $0.port) } } }
    var isReplica: Bool { primary != nil }

    /// Writes are refused with `READONLY` (a replica with `replica-read-only yes`).
    var refusesWrites: Bool { readOnly.load(ordering: .relaxed) }
    /// Commands are refused with `LOADING` (a snapshot is loading).
    var isLoading: Bool { status.isLoading }

    /// No rule of replication's applies to writes now (no loading, not a read-only replica, no
    /// `min-replicas-to-write`): the pipelined-SET path may skip admission. Two atomic loads.
    var admitsWritesUnchecked: Bool {
        !readOnly.load(ordering: .relaxed) && minReplicas.load(ordering: .relaxed) == 0 && !status.isLoading
    }

    /// `min-replicas-to-write` is set and not met.
    var lacksReplicas: Bool {
        let n = minReplicas.load(ordering: .relaxed)
        guard n > 0, !isReplica else { return false }
        return source.goodReplicas(maxLagSeconds: settings.minReplicasMaxLag) < n
    }

    /// Starts the heartbeat and, if configured as a replica, the link to the primary (commits
    /// are recorded once a replica asks for them). `port`: the port this server serves
    /// clients on, announced to a primary. `openedAtSequence`: the store's last sequence when
    /// it was opened, before this server wrote anything (a saved `ReplicaPosition` must match).
    func start(group: any EventLoopGroup, port: Int, logger: Logger, openedAtSequence sequence: UInt64) {
        let position = ReplicaPosition.take(from: FullSync.workDirectory(db.store))
        FullSync.removeLeftovers(db.store)
        if let position, settings.replicaOf != nil {
            if position.sequence == sequence {
                // The store is what it was at the clean shutdown: ask to resume from there.
                source.adoptHistory(replid: position.replid, offset: position.offset)
                logger.info("replication: resuming history \(position.replid) from offset \(position.offset), as saved at shutdown")
            } else {
                logger.info("replication: the position saved at shutdown is for sequence \(position.sequence), the store is at \(sequence): a full synchronisation")
            }
        }
        runtime.withLock { $0 = (group, port, logger) }
        let t = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.tick()
        }
        timer.withLock { $0 = t }
        if let p = settings.replicaOf { replicaOf(host: p.host, port: p.port) }
    }

    /// Once a second: heartbeats to replicas, and replicas silent for `repl-timeout` are let go.
    private func tick() {
        source.ping()
        let timeout = UInt64(max(1, settings.timeoutSeconds)) * 1000
        for f in source.feeds where f.isOnline && f.millisecondsSinceAck > timeout {
            f.channel.close(promise: nil)
        }
    }

    /// At a clean shutdown, once the store is closed with `lastSequence`: a replica holding its
    /// primary's history (not in the middle of a full synchronisation) records where it stands,
    /// so that it resumes after a restart (`ReplicaPosition`).
    func savePosition(lastSequence: UInt64) {
        guard isReplica, !status.isLoading else { return }
        let position = ReplicaPosition(replid: source.replid, offset: source.offset, sequence: lastSequence)
        do {
            try position.save(in: FullSync.workDirectory(db.store))
        } catch {
            runtime.withLock { $0 }?.logger.warning("replication: could not save the position for a restart (\(error)); the next start synchronises in full")
        }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        timer.withLock { $0?.cancel(); $0 = nil }
        link.withLock { $0 }?.stop()
        source.deactivate()
        _ = fullSyncs.wait(timeout: .now() + 10)
    }

    /// A slot for one more waiting WAIT; false when `maxWaiters` wait already.
    func enterWait() -> Bool {
        if waiters.add(1, ordering: .relaxed).newValue <= maxWaiters { return true }
        waiters.subtract(1, ordering: .relaxed)
        return false
    }

    func leaveWait() { waiters.subtract(1, ordering: .relaxed) }

    /// Sends `feed` a full synchronisation on a thread of its own (a large store takes minutes;
    /// no pool thread is held). A failure closes the connection: the replica asks again.
    func startFullSync(feed: ReplicaFeed, replid: String, offset: Int64) {
        let logger = runtime.withLock { $0?.logger }
        guard fullSyncsRunning.add(1, ordering: .relaxed).newValue <= Self.maxFullSyncs else {
            fullSyncsRunning.subtract(1, ordering: .relaxed)
            logger?.warning("replication: \(Self.maxFullSyncs) full synchronisations already running; \(feed.address):\(feed.listeningPort) will ask again")
            feed.channel.close(promise: nil)
            return
        }
        let store = db.store
        let stopping: @Sendable () -> Bool = { [weak self] in self?.stopping.load(ordering: .acquiring) ?? true }
        let timeout = settings.timeoutSeconds
        fullSyncs.enter()
        let thread = Thread { [self] in
            defer {
                fullSyncsRunning.subtract(1, ordering: .relaxed)
                fullSyncs.leave()
            }
            do {
                let sent = try FullSync.run(
                    store: store, feed: feed, replid: replid, offset: offset, timeoutSeconds: timeout, stopping: stopping)
                logger?.info("replication: full synchronisation sent to \(feed.address):\(feed.listeningPort): \(sent.files) checkpoint files, \(sent.bytes) bytes, sequence \(sent.sequence)")
            } catch {
                logger?.warning("replication: full synchronisation to \(feed.address):\(feed.listeningPort) stopped: \(error)")
                feed.channel.close(promise: nil)
            }
        }
        thread.name = "kvserver-fullsync"
        thread.start()
    }

    /// REPLICAOF host port: follow that primary (this server's replicas are let go, its
    /// history kept to resume from if the new primary shares it).
    func replicaOf(host: String, port: Int) {
        switching.withLock { _ in
            if let current = link.withLock({ $0 }) {
                if current.host == host && current.port == port { return }
                current.stop()
            }
            settingsState.withLock { $0.replicaOf = (host, port) }
            guard let rt = runtime.withLock({ $0 }) else {
                source.follow()
                return
            }
            let context = ReplicaLink.Context(
                db: db, source: source, status: status, settings: { [weak self] in self?.settings ?? ReplicationSettings() },
                listeningPort: rt.port, group: rt.group, logger: rt.logger)
            let newLink = ReplicaLink(host: host, port: port, context: context)
            link.withLock { $0 = newLink }
            // Writes are refused from here; one admitted before and committed after `follow`
            // is caught as a stray commit (the history is forgotten: a full sync follows).
            refreshReadOnly()
            source.follow()
            rt.logger.info("replication: replica of \(host):\(port)")
            newLink.start()
        }
    }

    /// REPLICAOF NO ONE: stop following and become a primary with a new history that shares
    /// the old one up to here. Collection versions the old primary reserved are adopted first.
    func becomePrimary() throws(CommandError) {
        try switching.withLock { (_) throws(CommandError) in
            guard let current = link.withLock({ $0 }) else { return }
            current.stop()
            link.withLock { $0 = nil }
            settingsState.withLock { $0.replicaOf = nil }
            if status.isLoading {
                // Promoted in the middle of a full synchronisation: the checkpoint being received
                // is dropped, and what the store holds is what it held before the sync began —
                // not the old primary's history. Serving it is the operator's (or Sentinel's) call.
                status.isLoading = false
                runtime.withLock { $0 }?.logger.warning("replication: promoted during a full synchronisation: the data is what this server held before it, not the primary's")
            }
            // The new history first: the version reservation below is its first commit, so
            // replicas that continue from here receive it.
            source.promote()
            do throws(KeyspaceError) { try db.keyspace.adoptReservedVersions() } catch { throw .keyspace(error) }
            refreshReadOnly()
            runtime.withLock { $0 }?.logger.info("replication: primary (history \(source.replid))")
        }
    }

    private func refreshReadOnly() {
        readOnly.store(isReplica && settings.replicaReadOnly, ordering: .relaxed)
    }
}
