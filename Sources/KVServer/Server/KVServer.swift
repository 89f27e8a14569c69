import Dispatch
import KVCollections
import KVStore
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why the server could not start.
public enum KVServerError: Error, CustomStringConvertible {
    case config(ServerConfigError)
    case store(KVError)
    case keyspace(KeyspaceError)
    case bind(address: String, port: Int, reason: String)

    /// Why the server could not start, in words.
    public var description: String {
        switch self {
        case .config(let e): return "configuration: \(e)"
        case .store(let e):
            if case .locked = e {
                return "\(e) — is another kvserver (or a program using the store) running on this directory?"
            }
            return "opening the store: \(e)"
        case .keyspace(let e): return "opening the keyspace: \(e)"
        case .bind(let address, let port, let reason): return "cannot listen on \(address):\(port): \(reason)"
        }
    }
}

/// A Redis-protocol server over a `KVStore`: `redis-cli`, `redis-benchmark` and Redis client
/// libraries talk to it unchanged.
///
/// ```swift
/// var config = ServerConfig()
/// config.port = 0                       // any free port
/// let server = try KVServer.start(config)
/// print(server.port)
/// server.shutdown()
/// ```
public final class KVServer: Sendable {
    private let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let channel: any Channel
    private let metricsChannel: (any Channel)?
    private let connections: ConnectionSet
    private let logger: Logger
    private let syncTask: Mutex<RepeatedTask?>
    private let rateTask = Mutex<RepeatedTask?>(nil)
    private let expiryTask = Mutex<RepeatedTask?>(nil)
    private let state = Mutex<State>(.running)
    private let stopped = DispatchGroup()

    private enum State { case running, stopping, stopped }

    /// The port the server listens on (the one picked, when the config said 0).
    public let port: Int
    /// The port of the `/metrics` endpoint, when `metricsPort` is set.
    public var metricsPort: Int? { metricsChannel?.localAddress?.port }
    /// The address the server listens on.
    public var host: String { context.config.bind }
    /// The store the server serves (for embedding alongside the server).
    public var store: KVStore { context.store }

    private init(
        context: ServerContext, group: MultiThreadedEventLoopGroup, pool: NIOThreadPool,
        channel: any Channel, metricsChannel: (any Channel)?, connections: ConnectionSet, logger: Logger
    ) {
        self.context = context
        self.group = group
        self.pool = pool
        self.channel = channel
        self.metricsChannel = metricsChannel
        self.connections = connections
        self.logger = logger
        self.port = channel.localAddress?.port ?? context.config.port
        self.syncTask = Mutex(nil)
        stopped.enter()
    }

    /// Opens the store in `config.directory` and starts listening.
    public static func start(_ config: ServerConfig, logger: Logger = Logger(label: "kvserver")) throws(KVServerError) -> KVServer {
        do { try config.validate() } catch { throw .config(error) }
        let store: KVStore
        var options = config.storeOptions
        Keyspace.install(in: &options)
        do { store = try KVStore.open(at: config.directory, options: options) } catch { throw .store(error) }
        let report = store.recoveryReport
        // Before the keyspace's own first write (its version reservation): what a replica's
        // saved position is checked against.
        let openedAtSequence = store.statistics().lastSequence
        let context: ServerContext
        do {
            context = try ServerContext(store: store, config: config)
        } catch {
            try? store.close()
            throw .keyspace(error)
        }
        let threads = config.eventLoopThreads > 0 ? config.eventLoopThreads : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let pool = NIOThreadPool(numberOfThreads: max(1, config.blockingThreads))
        pool.start()
        let connections = ConnectionSet()
        let coalescers = PerEventLoop { WriteCoalescer(eventLoop: $0, server: context, pool: pool) }
        let flushers = PerEventLoop { ReplyFlusher(eventLoop: $0) }
        let settings = context.settings
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(IdleTimeoutHandler { .seconds(Int64(settings.idleTimeoutSeconds)) })
                    try ops.addHandler(RESPConnectionHandler(
                        server: context, pool: pool, logger: logger, connections: connections,
                        coalescer: coalescers.value(for: channel.eventLoop), flusher: flushers.value(for: channel.eventLoop)))
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(host: config.bind, port: config.port).wait()
        } catch {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            try? store.close()
            throw .bind(address: config.bind, port: config.port, reason: "\(error)")
        }
        var metricsChannel: (any Channel)?
        if let metricsPort = config.metricsPort, let metrics = context.telemetry.metrics {
            do {
                metricsChannel = try MetricsEndpoint.bind(group: group, host: config.bind, port: metricsPort) { metrics.render(context) }
            } catch {
                try? channel.close().wait()
                try? pool.syncShutdownGracefully()
                try? group.syncShutdownGracefully()
                try? store.close()
                throw .bind(address: config.bind, port: metricsPort, reason: "metrics endpoint: \(error)")
            }
        }
        let server = KVServer(
            context: context, group: group, pool: pool, channel: channel, metricsChannel: metricsChannel,
            connections: connections, logger: logger)
        context.onShutdownRequest { [weak server] in
            // Off the event loop: shutting down waits for the loops.
            guard let server else { return }
            DispatchQueue.global().async { server.shutdown() }
        }
        server.startTimers()
        context.replication.start(group: group, port: server.port, logger: logger, openedAtSequence: openedAtSequence)
        logger.info("""
            kvserver \(ServerInfo.kvstoreVersion) ready: listening on \(config.bind):\(server.port), \
            data directory \(config.directory), fsync \(config.fsync.rawValue), \
            \(config.requirePassword?.isEmpty == false ? "password required" : "no password"), \
            \(threads) event loop(s)\(server.metricsPort.map { ", metrics on http://\(config.bind):\($0)/metrics" } ?? ""); replayed \(report.operationsReplayed) logged operations
            """)
        return server
    }

    private func startTimers() {
        startEverysecSync()
        let context = self.context
        let task = group.next().scheduleRepeatedTask(initialDelay: InstantaneousRates.interval, delay: InstantaneousRates.interval) { _ in
            context.telemetry.rates.sample(
                now: MonotonicClock.nanoseconds(), commands: context.telemetry.stats.commandsProcessed.load(ordering: .relaxed),
                bytesIn: context.telemetry.stats.bytesRead.load(ordering: .relaxed), bytesOut: context.telemetry.stats.bytesWritten.load(ordering: .relaxed))
        }
        rateTask.locked { $0 = task }
        startExpiryWatch()
    }

    /// Ten times a second, while keys are watched for "expired" events (`ExpiryWatch`), looks
    /// up the ones whose deadline passed — on the blocking pool: a lookup may wait for the disk.
    private func startExpiryWatch() {
        let context = self.context
        let pool = self.pool
        let group = self.group
        let inFlight = InFlightFlag()
        let task = group.next().scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
            guard context.events.expiries.watched > 0, !inFlight.flag.load(ordering: .acquiring) else { return }
            inFlight.flag.store(true, ordering: .releasing)
            _ = pool.runIfActive(eventLoop: group.next()) {
                defer { inFlight.flag.store(false, ordering: .releasing) }
                let n = context.events.expireDue(now: context.clock()) { context.db.entryNow($0) }
                context.telemetry.stats.expiredKeys.add(n, ordering: .relaxed)
            }
        }
        expiryTask.locked { $0 = task }
    }

    /// Under `everysec` (checked at each tick: CONFIG SET may change the policy), syncs the
    /// log once a second when anything was written since the last sync, on the blocking
    /// pool; writers keep going meanwhile (`KVStore.syncWAL` does not take a turn in the
    /// writer queue).
    private func startEverysecSync() {
        let context = self.context
        let pool = self.pool
        let logger = self.logger
        let group = self.group
        let inFlight = InFlightFlag()
        let task = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            // A sync still running keeps the dirty mark for the next tick (checked first, so
            // the mark is not consumed by a tick that cannot sync).
            guard context.settings.fsync == .everysec, !inFlight.flag.load(ordering: .acquiring), context.db.takeDirty() else { return }
            inFlight.flag.store(true, ordering: .releasing)
            _ = pool.runIfActive(eventLoop: group.next()) {
                defer { inFlight.flag.store(false, ordering: .releasing) }
                do {
                    try context.store.syncWAL()
                } catch {
                    context.telemetry.stats.walSyncFailures.add(1, ordering: .relaxed)
                    logger.error("background fsync failed; the store refuses writes from now on: \(error)")
                }
            }
        }
        syncTask.locked { $0 = task }
    }

    /// Stops accepting connections, lets each connection answer what it has already read,
    /// syncs the log and closes the store. Idempotent; returns once everything is closed.
    public func shutdown() {
        let proceed = state.locked { s -> Bool in
            guard s == .running else { return false }
            s = .stopping
            return true
        }
        guard proceed else {
            stopped.wait()
            return
        }
        logger.info("shutting down: no new connections; answering in-flight commands")
        try? channel.close().wait()
        try? metricsChannel?.close().wait()
        syncTask.locked { $0?.cancel(); $0 = nil }
        rateTask.locked { $0?.cancel(); $0 = nil }
        expiryTask.locked { $0?.cancel(); $0 = nil }
        context.replication.stop()
        for c in connections.all {
            c.pipeline.fireUserInboundEventTriggered(DrainAndCloseEvent())
        }
        // Connections close after their last reply; give slow ones a few seconds.
        var waited = 0
        while !connections.isEmpty && waited < 5000 {
            usleep(10_000)
            waited += 10
        }
        for c in connections.all { try? c.close().wait() }
        try? pool.syncShutdownGracefully()
        do {
            try context.store.syncWAL()
            try context.store.close()
            logger.info("store synced and closed")
            context.replication.savePosition(lastSequence: context.store.statistics().lastSequence)
        } catch {
            logger.error("closing the store: \(error)")
        }
        try? group.syncShutdownGracefully()
        state.locked { $0 = .stopped }
        logger.info("bye")
        stopped.leave()
    }

    /// Blocks until the server has shut down (by `shutdown()`, or a client's SHUTDOWN).
    public func waitUntilStopped() {
        stopped.wait()
    }
}

/// Whether a background sync is running, so a slow disk never has two queued.
private final class InFlightFlag: Sendable {
    let flag = Atomic<Bool>(false)
}
