import ArgumentParser
import Dispatch
import Foundation
import KVServer
import KVStore
import Logging

/// `kvserver`: serve a KVStore directory over the Redis protocol.
struct KVServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvserver",
        abstract: "Serve a KVStore directory over the Redis protocol (RESP2, RESP3 and inline commands).",
        discussion: """
            redis-cli, redis-benchmark and Redis client libraries work unchanged:
              kvserver --port 6380 --dir ./data &
              redis-cli -p 6380 SET greeting "hello world"
            Settings come from an optional config file of Redis-style lines ("port 6380",
            "appendfsync always", "requirepass secret"), then from flags, which win.
            SIGTERM, SIGINT and the SHUTDOWN command stop it gracefully: no new connections,
            in-flight commands answered, the log synced, exit status 0. See docs/SERVER.md.
            """)

    @Argument(help: ArgumentHelp("Config file with Redis-style 'name value' lines.", valueName: "config-file"))
    var configFile: String?

    @Option(help: "Address to listen on. Non-loopback addresses need --requirepass or --protected-mode no.")
    var bind: String?

    @Option(help: "TCP port (default 6380; 0 picks a free one).")
    var port: Int?

    @Option(help: "Data directory (default ./data; created if missing).")
    var dir: String?

    @Option(name: [.customLong("fsync"), .customLong("appendfsync")],
            help: "always: reply after fdatasync; everysec: sync once a second (default); no: leave it to the OS.")
    var fsync: String?

    @Option(help: "Password clients must send with AUTH before other commands.")
    var requirepass: String?

    @Option(name: .customLong("protected-mode"), help: "yes (default) refuses a non-loopback bind without a password.")
    var protectedMode: String?

    @Option(help: "Maximum simultaneous clients (default 10000).")
    var maxclients: Int?

    @Option(help: "Close clients idle for this many seconds (default 0: never).")
    var timeout: Int?

    @Option(name: .customLong("proto-max-bulk-len"), help: "Largest bulk string accepted, e.g. 512mb (the default).")
    var protoMaxBulkLen: String?

    @Option(name: .customLong("io-threads"), help: "Event-loop threads (default 1; 0: one per core).")
    var ioThreads: Int?

    @Option(name: .customLong("block-cache-size"), help: "Block cache size, e.g. 64mb (the default).")
    var blockCacheSize: String?

    @Option(name: .customLong("row-cache-size"), help: "Row cache size for hot keys' point reads, e.g. 64mb (default 0: off).")
    var rowCacheSize: String?

    @Option(name: .customLong("multi-max-commands"), help: "Most commands one MULTI may queue (default 100000).")
    var multiMaxCommands: Int?

    @Option(name: .customLong("multi-max-bytes"), help: "Most argument bytes one MULTI may queue, e.g. 64mb (the default).")
    var multiMaxBytes: String?

    @Option(name: .customLong("compression"), help: "How new tables compress their blocks: lz4 (the default), zlib or none.")
    var compression: String?

    @Option(name: .customLong("write-buffer-size"), help: "Memtable size before it is written to a table, e.g. 64mb (the default).")
    var writeBufferSize: String?

    @Option(name: .customLong("delayed-write-rate"), help: "Write rate once compaction falls behind, e.g. 64mb (bytes a second; the default).")
    var delayedWriteRate: String?

    @Option(name: .customLong("level0-slowdown-trigger"), help: "Level-0 tables at which writes are slowed (default 8).")
    var level0SlowdownTrigger: Int?

    @Option(name: .customLong("level0-stop-trigger"), help: "Level-0 tables at which writes wait for compaction (default 20).")
    var level0StopTrigger: Int?

    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://<bind>:PORT/metrics (default: off).")
    var metricsPort: Int?

    @Option(name: .customLong("slowlog-log-slower-than"), help: "SLOWLOG commands slower than this many microseconds (default 10000; -1: none).")
    var slowlogLogSlowerThan: Int?

    @Option(name: .customLong("slowlog-max-len"), help: "Entries the SLOWLOG keeps (default 128).")
    var slowlogMaxLen: Int?

    @Option(name: .customLong("checkpoint-dir"), help: "Where SAVE and BGSAVE put checkpoints (default <dir>/checkpoints).")
    var checkpointDir: String?

    @Option(help: "debug, verbose, notice or warning (default notice).")
    var loglevel: String?

    @Option(help: ArgumentHelp("Start as a replica of this primary: \"host port\" (REPLICAOF NO ONE promotes it).", valueName: "host port"))
    var replicaof: String?

    @Option(help: "Password a replica authenticates to its primary with.")
    var masterauth: String?

    func run() throws {
        var config = ServerConfig()
        var level = "notice"
        if let configFile {
            let text: String
            do { text = try String(contentsOfFile: configFile, encoding: .utf8) } catch {
                throw ValidationError("cannot read config file \(configFile): \(error.localizedDescription)")
            }
            do {
                if let l = try ConfigFile.apply(contents: text, path: configFile, to: &config) { level = l }
                config.configFile = configFile
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let bind { config.bind = bind }
        if let port { config.port = port }
        if let dir { config.directory = dir }
        if let fsync {
            guard let p = FsyncPolicy(rawValue: fsync.lowercased()) else {
                throw ValidationError("--fsync must be always, everysec or no (got '\(fsync)')")
            }
            config.fsync = p
        }
        if let requirepass { config.requirePassword = requirepass }
        if let protectedMode {
            switch protectedMode.lowercased() {
            case "yes": config.protectedMode = true
            case "no": config.protectedMode = false
            default: throw ValidationError("--protected-mode must be yes or no")
            }
        }
        if let maxclients { config.maxClients = maxclients }
        if let timeout { config.idleTimeoutSeconds = timeout }
        if let protoMaxBulkLen {
            guard let n = ConfigFile.parseSize(protoMaxBulkLen) else { throw ValidationError("--proto-max-bulk-len: '\(protoMaxBulkLen)' is not a size") }
            config.limits.maxBulkLength = n
        }
        if let ioThreads { config.eventLoopThreads = ioThreads }
        if let blockCacheSize {
            guard let n = ConfigFile.parseSize(blockCacheSize) else { throw ValidationError("--block-cache-size: '\(blockCacheSize)' is not a size") }
            config.storeOptions.blockCacheCapacity = n
        }
        if let rowCacheSize {
            guard let n = ConfigFile.parseSize(rowCacheSize) else { throw ValidationError("--row-cache-size: '\(rowCacheSize)' is not a size") }
            config.storeOptions.rowCacheCapacity = n
        }
        if let multiMaxCommands { config.transactionLimits.maxCommands = multiMaxCommands }
        if let multiMaxBytes {
            guard let n = ConfigFile.parseSize(multiMaxBytes) else { throw ValidationError("--multi-max-bytes: '\(multiMaxBytes)' is not a size") }
            config.transactionLimits.maxBytes = n
        }
        if let compression {
            guard let c = ConfigFile.parseCompression(compression) else {
                throw ValidationError("--compression: '\(compression)' must be lz4, zlib or none")
            }
            config.storeOptions.compression = c
        }
        if let writeBufferSize {
            guard let n = ConfigFile.parseSize(writeBufferSize) else { throw ValidationError("--write-buffer-size: '\(writeBufferSize)' is not a size") }
            config.storeOptions.writeBufferSize = n
        }
        if let delayedWriteRate {
            guard let n = ConfigFile.parseSize(delayedWriteRate) else { throw ValidationError("--delayed-write-rate: '\(delayedWriteRate)' is not a size") }
            config.storeOptions.delayedWriteRate = n
        }
        if let level0SlowdownTrigger { config.storeOptions.level0SlowdownTrigger = level0SlowdownTrigger }
        if let level0StopTrigger { config.storeOptions.level0StopTrigger = level0StopTrigger }
        if let metricsPort { config.metricsPort = metricsPort }
        if let slowlogLogSlowerThan { config.slowlogSlowerThanMicros = slowlogLogSlowerThan }
        if let slowlogMaxLen { config.slowlogMaxLength = slowlogMaxLen }
        if let checkpointDir { config.checkpointDirectory = checkpointDir }
        if let loglevel { level = loglevel }
        if let replicaof {
            let words = replicaof.split(separator: " ").map(String.init)
            guard words.count == 2, let port = Int(words[1]), (0...65535).contains(port) else {
                throw ValidationError("--replicaof takes \"host port\"")
            }
            config.replication.replicaOf = (words[0], port)
        }
        if let masterauth { config.replication.masterAuth = masterauth }

        let logLevel: Logger.Level
        switch level.lowercased() {
        case "debug": logLevel = .debug
        case "verbose": logLevel = .info
        case "notice": logLevel = .notice
        case "warning": logLevel = .warning
        default: throw ValidationError("loglevel must be debug, verbose, notice or warning")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        var logger = Logger(label: "kvserver")
        logger.logLevel = logLevel

        let server: KVServer
        do {
            server = try KVServer.start(config, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        // The startup banner is `info`; show it at the default level too.
        logger.notice("ready on \(config.bind):\(server.port) (data \(config.directory), fsync \(config.fsync.rawValue))")

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        // Under a file-size limit (ulimit -f) a write past it must fail with EFBIG, which the
        // store reports and turns read-only on, not kill the server.
        signal(SIGXFSZ, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                logger.notice("received \(sig == SIGTERM ? "SIGTERM" : "SIGINT"): shutting down")
                server.shutdown()
            }
            source.resume()
            return source
        }
        server.waitUntilStopped()
        sources.forEach { $0.cancel() }
    }
}

KVServerCommand.main()
