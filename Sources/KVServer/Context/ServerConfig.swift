import KVStore

/// When the server makes writes durable against power loss (Redis's `appendfsync`).
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// Reply only after the group commit's `fdatasync` covers the write.
    case always
    /// Reply once the write is in the OS; a background task syncs the log every second, so
    /// power loss costs at most about a second of acknowledged writes (the default).
    case everysec
    /// Leave syncing to the OS (and to shutdown).
    case no
}

/// Everything `kvserver` can be told, from flags or a config file. Names follow Redis's.
public struct ServerConfig: Sendable {
    /// Address to listen on (`bind`); loopback by default.
    public var bind = "127.0.0.1"
    /// TCP port (`port`); 0 picks a free one (tests), reported by `KVServer.port`.
    public var port = 6380
    /// The store's directory (`dir`).
    public var directory = "./data"
    /// When writes are synced to disk (`appendfsync`: always, everysec, no).
    public var fsync = FsyncPolicy.everysec
    /// Password for AUTH (`requirepass`); nil or empty means no authentication.
    public var requirePassword: String?
    /// Refuse a non-loopback `bind` without a password (`protected-mode`, default on).
    public var protectedMode = true
    /// Connections beyond this get `-ERR max number of clients reached` (`maxclients`).
    public var maxClients = 10_000
    /// Close a client idle this many seconds; 0 never (`timeout`).
    public var idleTimeoutSeconds = 0
    /// Commands slower than this many microseconds go to the SLOWLOG
    /// (`slowlog-log-slower-than`; negative: none, 0: all).
    public var slowlogSlowerThanMicros = SlowLog.defaultThresholdMicros
    /// Entries the SLOWLOG keeps (`slowlog-max-len`).
    public var slowlogMaxLength = SlowLog.defaultMaxLength
    /// Port of the Prometheus `/metrics` HTTP endpoint (`metrics-port`), on the `bind`
    /// address; nil: none (the default). 0 picks a free one (`KVServer.metricsPort`).
    public var metricsPort: Int?
    /// Where BGSAVE and SAVE put checkpoints (`checkpoint-dir`), one subfolder each; nil:
    /// `checkpoints` inside `directory`.
    public var checkpointDirectory: String?
    /// The config file the settings came from, which CONFIG REWRITE rewrites; nil: none.
    public var configFile: String?
    /// Size limits on requests (`proto-max-bulk-len` and friends).
    public var limits = RESPLimits()
    /// How much one connection's MULTI may queue (`multi-max-commands`, `multi-max-bytes`).
    public var transactionLimits = TransactionLimits()
    /// Event-loop threads (`io-threads`); 0 means one per core. One, as Redis, by default:
    /// with clients on the same machine a second loop mostly fights them for the cores, and
    /// one loop lets the write coalescer gather every connection's writes (measured in
    /// docs/BENCHMARKS.md). Anything that may wait runs on the blocking pool regardless.
    public var eventLoopThreads = 1
    /// Threads that run commands which wait (a synced write, a scan): enough for the group
    /// commit to gather many connections' writes into one fdatasync.
    public var blockingThreads = 64
    /// Engine options (block cache, compression, clock …). A server is the process that owns
    /// the machine's memory for its data, so two defaults are larger than the library's:
    /// the block cache, 64 MiB rather than 8, and the memtable, 64 MiB rather than 4 (as
    /// RocksDB's), which halves the compaction work per byte written: `make server-bench`'s
    /// heavy-write row went from 64,000 to 130,000 1 KB SETs a second (docs/BENCHMARKS.md).
    /// The row cache stays off as in the library (`row-cache-size` turns it on): it makes
    /// reads of a hot few keys several times faster and evenly spread reads about a fifth
    /// slower, so it is the operator's call.
    public var storeOptions: Options = {
        var o = Options()
        o.blockCacheCapacity = 64 << 20
        o.writeBufferSize = 64 << 20
        return o
    }()

    /// When collections would leave Redis's small encodings (what OBJECT ENCODING reports),
    /// and the list settings Redis has (accepted and reported; lists here have one layout).
    public var collections = CollectionSettings()

    /// Redis's `save` and `sanitize-dump-payload`, accepted and reported back (CONFIG GET,
    /// CONFIG REWRITE): every write is in the log already, and RESTORE always checks its
    /// payload's checksum and structure.
    public var save = ""
    public var sanitizeDumpPayload = "no"

    /// Redis's `notify-keyspace-events` (empty: none) and `client-output-buffer-limit` (nil:
    /// Redis's defaults), as a config file gives them; CONFIG SET changes them live.
    public var notifyKeyspaceEvents = ""
    public var clientOutputBufferLimit: String?

    /// Replicas, primaries, and what Sentinel reads (`replicaof`, `masterauth`,
    /// `replica-read-only`, `min-replicas-to-write` …).
    public var replication = ReplicationSettings()

    /// The defaults, as `kvserver` starts without flags.
    public init() {}

    /// Where checkpoints go.
    var checkpointRoot: String { checkpointDirectory ?? directory + "/checkpoints" }

    /// True for addresses only this machine can reach.
    var bindsLoopbackOnly: Bool {
        bind == "127.0.0.1" || bind == "::1" || bind == "localhost" || bind.hasPrefix("127.")
    }

    /// Checks the settings that cannot work, before anything opens.
    public func validate() throws(ServerConfigError) {
        guard port >= 0 && port <= 65535 else { throw .invalid("port \(port) is outside 0...65535") }
        guard maxClients >= 1 else { throw .invalid("maxclients must be at least 1") }
        guard idleTimeoutSeconds >= 0 else { throw .invalid("timeout must not be negative") }
        guard slowlogMaxLength >= 0 else { throw .invalid("slowlog-max-len must not be negative") }
        if let metricsPort {
            guard metricsPort >= 0 && metricsPort <= 65535 else { throw .invalid("metrics-port \(metricsPort) is outside 0...65535") }
            guard metricsPort == 0 || metricsPort != port else { throw .invalid("metrics-port must differ from port") }
        }
        guard transactionLimits.maxCommands >= 1 else { throw .invalid("multi-max-commands must be at least 1") }
        guard transactionLimits.maxBytes >= 1024 else { throw .invalid("multi-max-bytes must be at least 1024") }
        guard limits.maxBulkLength >= 1024 else { throw .invalid("proto-max-bulk-len must be at least 1024") }
        guard limits.maxBulkLength <= storeOptions.maxValueSize else {
            throw .invalid("proto-max-bulk-len must not exceed the engine's largest value (\(storeOptions.maxValueSize) bytes)")
        }
        // Replication deletes `<dir>/replication` at every start (its checkpoints in flight).
        let replicationDirectory = directory + "/replication"
        guard !(checkpointRoot == replicationDirectory || checkpointRoot.hasPrefix(replicationDirectory + "/")) else {
            throw .invalid("checkpoint-dir must not be \(replicationDirectory): replication deletes that folder at every start")
        }
        if protectedMode && !bindsLoopbackOnly && (requirePassword ?? "").isEmpty {
            throw .invalid("""
                refusing to listen on \(bind) without a password: protected mode is on. \
                Set requirepass (--requirepass), bind 127.0.0.1, or say --protected-mode no \
                if every host that can reach this address may read and write all data.
                """)
        }
    }
}

/// A setting that cannot work, or a config file line that does not parse.
public enum ServerConfigError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case file(path: String, line: Int, reason: String)

    /// What is wrong with the configuration, and where.
    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .file(let path, let line, let reason): return "\(path):\(line): \(reason)"
        }
    }
}

/// The `*-max-listpack-*`, `set-max-intset-entries`, `list-max-listpack-size` and
/// `list-compress-depth` settings, Redis 7.0's defaults. The first five decide what OBJECT
/// ENCODING answers (`EncodingLimits`); the list ones are kept and reported only.
public struct CollectionSettings: Sendable, Equatable {
    public var hashMaxListpackEntries = 512
    public var hashMaxListpackValue = 64
    public var setMaxIntsetEntries = 512
    public var zsetMaxListpackEntries = 128
    public var zsetMaxListpackValue = 64
    public var listMaxListpackSize = -2
    public var listCompressDepth = 0

    public init() {}
}
