import KVStore

/// Reads a Redis-style config file: one `name value…` directive per line, `#` comments,
/// values quoted as in inline commands. Unknown directives are errors, so a typo is not
/// silently ignored.
public enum ConfigFile {
    /// The directive names understood, for `--help` and error messages.
    public static let directives = [
        "bind", "port", "dir", "appendfsync", "requirepass", "protected-mode", "maxclients",
        "timeout", "proto-max-bulk-len", "io-threads", "block-cache-size", "row-cache-size", "compression", "loglevel",
        "multi-max-commands", "multi-max-bytes", "write-buffer-size", "delayed-write-rate",
        "level0-slowdown-trigger", "level0-stop-trigger", "slowlog-log-slower-than", "slowlog-max-len",
        "metrics-port", "checkpoint-dir", "hash-max-listpack-entries", "hash-max-listpack-value",
        "set-max-intset-entries", "zset-max-listpack-entries", "zset-max-listpack-value", "list-max-listpack-size",
        "list-compress-depth", "save", "sanitize-dump-payload", "notify-keyspace-events", "client-output-buffer-limit",
        "replicaof", "slaveof", "masterauth", "masteruser", "replica-read-only", "replica-priority", "min-replicas-to-write",
        "min-replicas-max-lag", "repl-backlog-size", "repl-timeout", "replica-announce-ip", "replica-announce-port",
    ]

    /// Applies the file's directives to `config`; returns `loglevel` if the file sets it.
    public static func apply(contents: String, path: String, to config: inout ServerConfig) throws(ServerConfigError) -> String? {
        var logLevel: String?
        var lineNumber = 0
        for rawLine in contents.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            let bytes = Array(line.utf8)
            guard let words = RESPRequestParser.splitArguments(bytes), let nameBytes = words.first else {
                throw .file(path: path, line: lineNumber, reason: "unbalanced quotes")
            }
            let name = String(decoding: nameBytes, as: UTF8.self).lowercased()
            let values = words.dropFirst().map { String(decoding: $0, as: UTF8.self) }
            func one() throws(ServerConfigError) -> String {
                guard values.count == 1 else { throw .file(path: path, line: lineNumber, reason: "\(name) takes one value") }
                return values[0]
            }
            func integer() throws(ServerConfigError) -> Int {
                let v = try one()
                guard let n = parseSize(v) else { throw .file(path: path, line: lineNumber, reason: "\(name): '\(v)' is not a number") }
                return n
            }
            func signed() throws(ServerConfigError) -> Int {
                let v = try one()
                guard let n = Int(v) else { throw .file(path: path, line: lineNumber, reason: "\(name): '\(v)' is not a number") }
                return n
            }
            func yesNo() throws(ServerConfigError) -> Bool {
                switch try one().lowercased() {
                case "yes": return true
                case "no": return false
                case let v: throw .file(path: path, line: lineNumber, reason: "\(name): '\(v)' must be yes or no")
                }
            }
            switch name {
            case "bind":
                guard let first = values.first else { throw .file(path: path, line: lineNumber, reason: "bind needs an address") }
                config.bind = first
            case "port": config.port = try integer()
            case "dir": config.directory = try one()
            case "appendfsync", "fsync":
                let v = try one()
                guard let p = FsyncPolicy(rawValue: v.lowercased()) else {
                    throw .file(path: path, line: lineNumber, reason: "appendfsync: '\(v)' must be always, everysec or no")
                }
                config.fsync = p
            case "requirepass": config.requirePassword = try one()
            case "protected-mode": config.protectedMode = try yesNo()
            case "maxclients": config.maxClients = try integer()
            case "timeout": config.idleTimeoutSeconds = try integer()
            case "proto-max-bulk-len": config.limits.maxBulkLength = try integer()
            case "io-threads": config.eventLoopThreads = try integer()
            case "block-cache-size": config.storeOptions.blockCacheCapacity = try integer()
            case "row-cache-size": config.storeOptions.rowCacheCapacity = try integer()
            case "compression":
                let v = try one()
                guard let c = parseCompression(v) else {
                    throw .file(path: path, line: lineNumber, reason: "compression: '\(v)' must be lz4, zlib or none")
                }
                config.storeOptions.compression = c
            case "loglevel": logLevel = try one()
            case "multi-max-commands": config.transactionLimits.maxCommands = try integer()
            case "multi-max-bytes": config.transactionLimits.maxBytes = try integer()
            case "write-buffer-size": config.storeOptions.writeBufferSize = try integer()
            case "delayed-write-rate": config.storeOptions.delayedWriteRate = try integer()
            case "level0-slowdown-trigger": config.storeOptions.level0SlowdownTrigger = try integer()
            case "level0-stop-trigger": config.storeOptions.level0StopTrigger = try integer()
            case "slowlog-log-slower-than": config.slowlogSlowerThanMicros = try integer()
            case "slowlog-max-len": config.slowlogMaxLength = try integer()
            case "metrics-port": config.metricsPort = try integer()
            case "checkpoint-dir": config.checkpointDirectory = try one()
            case "hash-max-listpack-entries", "hash-max-ziplist-entries": config.collections.hashMaxListpackEntries = try integer()
            case "hash-max-listpack-value", "hash-max-ziplist-value": config.collections.hashMaxListpackValue = try integer()
            case "set-max-intset-entries": config.collections.setMaxIntsetEntries = try integer()
            case "zset-max-listpack-entries", "zset-max-ziplist-entries": config.collections.zsetMaxListpackEntries = try integer()
            case "zset-max-listpack-value", "zset-max-ziplist-value": config.collections.zsetMaxListpackValue = try integer()
            case "list-max-listpack-size", "list-max-ziplist-size": config.collections.listMaxListpackSize = try signed()
            case "list-compress-depth": config.collections.listCompressDepth = try integer()
            case "save": config.save = values.joined(separator: " ")  // reported only: every write is in the log
            case "sanitize-dump-payload":
                let v = try one().lowercased()
                guard ["yes", "no", "clients"].contains(v) else {
                    throw .file(path: path, line: lineNumber, reason: "sanitize-dump-payload must be yes, no or clients")
                }
                config.sanitizeDumpPayload = v
            case "notify-keyspace-events":
                let v = values.joined()
                guard KeyspaceEvents.parse(v) != nil else {
                    throw .file(path: path, line: lineNumber, reason: "notify-keyspace-events: invalid event class character (use 'Ag$lshzxeKEtmdn')")
                }
                config.notifyKeyspaceEvents = v
            case "client-output-buffer-limit":
                let v = values.joined(separator: " ")
                guard OutputBufferLimits().parse(v) != nil else {
                    throw .file(path: path, line: lineNumber, reason: "client-output-buffer-limit: expected groups of 'class hard soft seconds'")
                }
                config.clientOutputBufferLimit = v
            case "replicaof", "slaveof":
                let words = values.joined(separator: " ").split(separator: " ").map(String.init)
                guard words.count == 2, let port = Int(words[1]), port >= 0, port <= 65535 else {
                    throw .file(path: path, line: lineNumber, reason: "\(name) takes a host and a port")
                }
                config.replication.replicaOf = (words[0], port)
            default:
                switch ConfigCommand.applyReplication(name, values.joined(separator: " "), to: &config.replication) {
                case true?: continue
                case nil: throw .file(path: path, line: lineNumber, reason: "\(name): '\(values.joined(separator: " "))' is not a valid value")
                case false?: break
                }
                throw .file(path: path, line: lineNumber, reason: "unknown directive '\(name)' (known: \(directives.joined(separator: ", ")))")
            }
        }
        return logLevel
    }

    /// A table compression by name (`lz4`, `zlib`, `none`; any case), or nil.
    public static func parseCompression(_ text: String) -> Compression? {
        Compression.allCases.first { $0.description == text.lowercased() }
    }

    /// A number with an optional k/kb/m/mb/g/gb suffix (1k = 1000, 1kb = 1024), as Redis.
    public static func parseSize(_ text: String) -> Int? {
        let lower = text.lowercased()
        let units: [(String, Int)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let n = Int(lower.dropLast(suffix.count)) else { return nil }
            let (r, o) = n.multipliedReportingOverflow(by: factor)
            return o ? nil : r
        }
        return Int(lower)
    }
}
