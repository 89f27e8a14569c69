import KVCollections
import KVStore

#if canImport(Glibc)
import Glibc
#endif

/// CONFIG GET | SET | REWRITE | RESETSTAT | HELP.
///
/// Every parameter CONFIG GET reports is in one table with how to read it, and — for those
/// safe to change while clients are connected — how to change it. SET of several parameters
/// is all or nothing, as in Redis 7: every value is checked before any is applied.
enum ConfigCommand {
    /// A change checked and ready to apply. Engine options are gathered into one
    /// `KVStore.setOptions` call, which checks them together.
    private struct Change {
        var apply: [(ServerContext) -> Void] = []
        var engine: LiveOptions?
    }

    private struct Parameter: Sendable {
        let name: String
        let get: @Sendable (ServerContext) -> String
        /// nil: fixed at start ("can't set immutable config").
        let set: (@Sendable (ServerContext, String, inout Change) throws(CommandError) -> Void)?
        /// Another name of a parameter listed under its own (Redis's old `ziplist` names):
        /// CONFIG REWRITE writes the main name only.
        var alias = false
    }

    /// An OBJECT ENCODING threshold (`EncodingLimits`), under its name and Redis's older one.
    private static func limit(_ name: String, alias: String?, _ limit: EncodingLimits.Limit) -> [Parameter] {
        ([name] + (alias.map { [$0] } ?? [])).enumerated().map { (i, n) in
            var p = Parameter(name: n, get: { String($0.db.keyspace.limits[limit]) }) { (_, text, change) throws(CommandError) in
                let v = try integer(n, text, min: 0)
                change.apply.append { $0.db.keyspace.limits.set(limit, v) }
            }
            p.alias = i == 1
            return p
        }
    }

    /// A setting kept and reported only (`LiveSettings.reported`), under `names` (the first
    /// the main one); `check` validates a new value.
    private static func reported(_ names: [String], check: @escaping @Sendable (String) -> Bool = { _ in true }) -> [Parameter] {
        names.enumerated().map { (i, n) in
            var p = Parameter(name: n, get: { $0.settings.reported(names[0]) }) { (_, text, change) throws(CommandError) in
                guard check(text) else { throw .err("CONFIG SET failed (possibly related to argument '\(n)') - argument couldn't be parsed") }
                change.apply.append { $0.settings.setReported(names[0], text) }
            }
            p.alias = i > 0
            return p
        }
    }

    private static func integer(_ name: String, _ text: String, min: Int) throws(CommandError) -> Int {
        guard let n = ConfigFile.parseSize(text) else {
            throw .err("CONFIG SET failed (possibly related to argument '\(name)') - argument couldn't be parsed into an integer")
        }
        guard n >= min else {
            throw .err("CONFIG SET failed (possibly related to argument '\(name)') - argument must be at least \(min)")
        }
        return n
    }

    /// An engine option: read from the store, set through one `setOptions`.
    private static func engine(_ name: String, _ keyPath: WritableKeyPath<LiveOptions, Int> & Sendable, min: Int) -> Parameter {
        Parameter(name: name, get: { String($0.store.liveOptions[keyPath: keyPath]) }) { (s, text, change) throws(CommandError) in
            let n = try integer(name, text, min: min)
            var live = change.engine ?? s.store.liveOptions
            live[keyPath: keyPath] = n
            change.engine = live
        }
    }

    private static func fixed(_ name: String, _ get: @escaping @Sendable (ServerContext) -> String) -> Parameter {
        Parameter(name: name, get: get, set: nil)
    }

    /// The replication settings: names (the main one first, then Redis's older `slave` one),
    /// how to read one from `ReplicationSettings` and how to set it (false: not parseable).
    private static let replicationTable: [(names: [String], get: @Sendable (ReplicationSettings) -> String, set: @Sendable (inout ReplicationSettings, String) -> Bool)] = [
        (["masterauth"], { $0.masterAuth ?? "" }, { $0.masterAuth = $1.isEmpty ? nil : $1; return true }),
        (["masteruser"], { $0.masterUser ?? "" }, { $0.masterUser = $1.isEmpty ? nil : $1; return true }),
        (["replica-read-only", "slave-read-only"], { $0.replicaReadOnly ? "yes" : "no" }, { s, t in
            guard let b = yesNo(t) else { return false }
            s.replicaReadOnly = b
            return true
        }),
        (["replica-priority", "slave-priority"], { String($0.replicaPriority) }, { s, t in
            guard let n = Int(t), n >= 0 else { return false }
            s.replicaPriority = n
            return true
        }),
        (["min-replicas-to-write", "min-slaves-to-write"], { String($0.minReplicasToWrite) }, { s, t in
            guard let n = Int(t), n >= 0 else { return false }
            s.minReplicasToWrite = n
            return true
        }),
        (["min-replicas-max-lag", "min-slaves-max-lag"], { String($0.minReplicasMaxLag) }, { s, t in
            guard let n = Int(t), n >= 0 else { return false }
            s.minReplicasMaxLag = n
            return true
        }),
        (["repl-backlog-size"], { String($0.backlogSize) }, { s, t in
            guard let n = ConfigFile.parseSize(t), n >= 16 << 10 else { return false }
            s.backlogSize = n
            return true
        }),
        (["repl-timeout"], { String($0.timeoutSeconds) }, { s, t in
            guard let n = Int(t), n >= 1 else { return false }
            s.timeoutSeconds = n
            return true
        }),
        (["replica-announce-ip", "slave-announce-ip"], { $0.announceIP ?? "" }, { $0.announceIP = $1.isEmpty ? nil : $1; return true }),
        (["replica-announce-port", "slave-announce-port"], { String($0.announcePort) }, { s, t in
            guard let n = Int(t), n >= 0, n <= 65535 else { return false }
            s.announcePort = n
            return true
        }),
    ]

    static func yesNo(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "yes": return true
        case "no": return false
        default: return nil
        }
    }

    /// Applies a config file's replication directive to `settings`; false if `name` is not
    /// one, nil if its value does not parse.
    static func applyReplication(_ name: String, _ value: String, to settings: inout ReplicationSettings) -> Bool? {
        guard let entry = replicationTable.first(where: { $0.names.contains(name) }) else { return false }
        return entry.set(&settings, value) ? true : nil
    }

    private static var replicationParameters: [Parameter] {
        var all: [Parameter] = []
        for entry in replicationTable {
            for (i, n) in entry.names.enumerated() {
                var p = Parameter(name: n, get: { entry.get($0.replication.settings) }) { (s, text, change) throws(CommandError) in
                    var probe = s.replication.settings
                    guard entry.set(&probe, text) else {
                        throw .err("CONFIG SET failed (possibly related to argument '\(n)') - argument couldn't be parsed")
                    }
                    change.apply.append { s in
                        var v = s.replication.settings
                        _ = entry.set(&v, text)
                        s.replication.settings = v
                    }
                }
                p.alias = i > 0
                all.append(p)
            }
        }
        // REPLICAOF changes it; CONFIG GET and REWRITE report it (Sentinel rewrites it).
        all.append(fixed("replicaof") { s in s.replication.primary.map { "\($0.host) \($0.port)" } ?? "" })
        return all
    }

    private static let parameters: [Parameter] = {
        var all = base
        all += replicationParameters
        all += limit("hash-max-listpack-entries", alias: "hash-max-ziplist-entries", .hashMaxEntries)
        all += limit("hash-max-listpack-value", alias: "hash-max-ziplist-value", .hashMaxValue)
        all += limit("set-max-intset-entries", alias: nil, .setMaxIntsetEntries)
        all += limit("zset-max-listpack-entries", alias: "zset-max-ziplist-entries", .zsetMaxEntries)
        all += limit("zset-max-listpack-value", alias: "zset-max-ziplist-value", .zsetMaxValue)
        all += reported(["list-max-listpack-size", "list-max-ziplist-size"]) { Int($0) != nil }
        all += reported(["list-compress-depth"]) { (Int($0) ?? -1) >= 0 }
        all += reported(["sanitize-dump-payload"]) { ["yes", "no", "clients"].contains($0.lowercased()) }
        all += reported(["save"])
        return all
    }()

    private static let base: [Parameter] = [
        fixed("bind") { $0.config.bind },
        fixed("port") { String($0.config.port) },
        fixed("dir") { $0.config.directory },
        fixed("appendonly") { _ in "yes" },
        Parameter(name: "appendfsync", get: { $0.settings.fsync.rawValue }) { (_, text, change) throws(CommandError) in
            guard let policy = FsyncPolicy(rawValue: text.lowercased()) else {
                throw .err("CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no")
            }
            change.apply.append { $0.settings.fsync = policy }
        },
        Parameter(name: "requirepass", get: { $0.settings.requirePassword ?? "" }) { (_, text, change) throws(CommandError) in
            change.apply.append { $0.settings.requirePassword = text }
        },
        fixed("protected-mode") { $0.config.protectedMode ? "yes" : "no" },
        Parameter(name: "maxclients", get: { String($0.clients.maxClients) }) { (_, text, change) throws(CommandError) in
            let n = try integer("maxclients", text, min: 1)
            change.apply.append { $0.clients.maxClients = n }
        },
        Parameter(name: "timeout", get: { String($0.settings.idleTimeoutSeconds) }) { (_, text, change) throws(CommandError) in
            let n = try integer("timeout", text, min: 0)
            change.apply.append { $0.settings.idleTimeoutSeconds = n }
        },
        Parameter(name: "slowlog-log-slower-than", get: { String($0.telemetry.slowlog.thresholdMicros) }) { (_, text, change) throws(CommandError) in
            let n = try integer("slowlog-log-slower-than", text, min: -1)
            change.apply.append { $0.telemetry.slowlog.thresholdMicros = n }
        },
        Parameter(name: "slowlog-max-len", get: { String($0.telemetry.slowlog.maxLength) }) { (_, text, change) throws(CommandError) in
            let n = try integer("slowlog-max-len", text, min: 0)
            change.apply.append { $0.telemetry.slowlog.maxLength = n }
        },
        fixed("proto-max-bulk-len") { String($0.config.limits.maxBulkLength) },
        fixed("databases") { _ in "1" },
        fixed("maxmemory") { _ in "0" },
        fixed("maxmemory-policy") { _ in "noeviction" },
        fixed("io-threads") { String($0.config.eventLoopThreads) },
        fixed("multi-max-commands") { String($0.config.transactionLimits.maxCommands) },
        fixed("multi-max-bytes") { String($0.config.transactionLimits.maxBytes) },
        fixed("write-buffer-size") { String($0.config.storeOptions.writeBufferSize) },
        fixed("compression") { $0.config.storeOptions.compression.description },
        engine("block-cache-size", \.blockCacheCapacity, min: 0),
        engine("row-cache-size", \.rowCacheCapacity, min: 0),
        engine("delayed-write-rate", \.delayedWriteRate, min: 64 << 10),
        engine("level0-slowdown-trigger", \.level0SlowdownTrigger, min: 1),
        engine("level0-stop-trigger", \.level0StopTrigger, min: 1),
        fixed("metrics-port") { $0.config.metricsPort.map(String.init) ?? "" },
        fixed("checkpoint-dir") { $0.config.checkpointRoot },
        Parameter(name: "notify-keyspace-events", get: { $0.events.text }) { (_, text, change) throws(CommandError) in
            guard let classes = KeyspaceEvents.parse(text) else {
                throw .err("CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
            }
            change.apply.append { $0.events.set(classes) }
        },
        Parameter(name: "client-output-buffer-limit", get: { $0.outputLimits.text }) { (s, text, change) throws(CommandError) in
            guard let apply = s.outputLimits.parse(text) else {
                throw .err("CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid arguments")
            }
            change.apply.append { _ in apply() }
        },
    ]

    /// CONFIG GET's names and values (INFO and tests use them too).
    static func values(_ s: ServerContext) -> [(String, String)] {
        parameters.map { ($0.name, $0.get(s)) }
    }

    static func run(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "GET") {
            guard a.count >= 3 else { throw .err("wrong number of arguments for 'config|get' command") }
            let globs = a[2...].map { Glob(Array(Arg.string($0).lowercased().utf8)) }
            let matched = parameters.filter { p in globs.contains { $0.matches(Array(p.name.utf8)) } }
            out.writeMapHeader(matched.count)
            for p in matched {
                out.writeBulk(p.name)
                out.writeBulk(p.get(s))
            }
        } else if Arg.isKeyword(sub, "SET") {
            guard a.count >= 4, a.count % 2 == 0 else { throw .err("wrong number of arguments for 'config|set' command") }
            try set(s, pairs: stride(from: 2, to: a.count, by: 2).map { (Arg.string(a[$0]).lowercased(), Arg.string(a[$0 + 1])) })
            out.writeOK()
        } else if Arg.isKeyword(sub, "REWRITE") {
            guard a.count == 2 else { throw .err("wrong number of arguments for 'config|rewrite' command") }
            try rewrite(s)
            out.writeOK()
        } else if Arg.isKeyword(sub, "RESETSTAT") {
            s.telemetry.stats.reset()
            s.telemetry.commandStats.reset()
            out.writeOK()
        } else if Arg.isKeyword(sub, "HELP") {
            out.writeHelp([
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value> [<directive> <value> ...]",
                "    Set the configuration <directive> to <value> (all or none).",
                "RESETSTAT", "    Reset statistics reported by the INFO command.",
                "REWRITE", "    Rewrite the configuration file.",
            ])
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try CONFIG HELP.")
        }
    }

    /// Checks every pair, then applies them all.
    static func set(_ s: ServerContext, pairs: [(String, String)]) throws(CommandError) {
        var change = Change()
        var seen = Set<String>()
        for (name, value) in pairs {
            guard let p = parameters.first(where: { $0.name == name }) else {
                throw .err("Unknown option or number of arguments for CONFIG SET - '\(name)'")
            }
            guard seen.insert(name).inserted else {
                throw .err("CONFIG SET failed (possibly related to argument '\(name)') - duplicate parameter")
            }
            guard let set = p.set else {
                throw .err("CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
            }
            try set(s, value, &change)
        }
        if let live = change.engine {
            do { try s.store.setOptions(live) } catch {
                let names = pairs.map(\.0).joined(separator: "', '")
                if case .invalidArgument(let why) = error {
                    throw .err("CONFIG SET failed (possibly related to argument '\(names)') - \(why)")
                }
                throw .store(error)
            }
        }
        for apply in change.apply { apply(s) }
    }

    // MARK: REWRITE

    /// Rewrites the config file the server started from: each settable parameter's line gets
    /// its current value (later duplicates are dropped), one not in the file is appended when
    /// its value differs from the built-in default, and every other line — comments, fixed
    /// settings — is kept as it was. Written to a temporary file, synced, renamed over.
    static func rewrite(_ s: ServerContext) throws(CommandError) {
        guard let path = s.config.configFile else { throw .err("The server is running without a config file") }
        let old: String
        do { old = try readFile(path) } catch { throw .err("Rewriting config file: \(error)") }
        let replicaof = ("replicaof", s.replication.primary.map { "\($0.host) \($0.port)" } ?? "")
        let text = rewritten(old, current: settable(s) + [replicaof], defaults: defaults)
        do { try writeFileAtomically(path, text) } catch { throw .err("Rewriting config file: \(error)") }
    }

    /// The settable parameters' values in a server started without settings.
    private static var defaults: [(String, String)] {
        let c = ServerConfig()
        let live = LiveOptions(c.storeOptions)
        return [
            ("appendfsync", c.fsync.rawValue), ("requirepass", ""), ("maxclients", String(c.maxClients)),
            ("timeout", String(c.idleTimeoutSeconds)), ("slowlog-log-slower-than", String(c.slowlogSlowerThanMicros)),
            ("slowlog-max-len", String(c.slowlogMaxLength)), ("block-cache-size", String(live.blockCacheCapacity)),
            ("row-cache-size", String(live.rowCacheCapacity)),
            ("delayed-write-rate", String(live.delayedWriteRate)), ("level0-slowdown-trigger", String(live.level0SlowdownTrigger)),
            ("level0-stop-trigger", String(live.level0StopTrigger)),
            ("hash-max-listpack-entries", String(c.collections.hashMaxListpackEntries)),
            ("hash-max-listpack-value", String(c.collections.hashMaxListpackValue)),
            ("set-max-intset-entries", String(c.collections.setMaxIntsetEntries)),
            ("zset-max-listpack-entries", String(c.collections.zsetMaxListpackEntries)),
            ("zset-max-listpack-value", String(c.collections.zsetMaxListpackValue)),
            ("list-max-listpack-size", String(c.collections.listMaxListpackSize)),
            ("list-compress-depth", String(c.collections.listCompressDepth)),
            ("sanitize-dump-payload", "no"), ("save", ""), ("notify-keyspace-events", ""),
            ("client-output-buffer-limit", OutputBufferLimits().text), ("replicaof", ""),
        ] + replicationTable.map { ($0.names[0], $0.get(ReplicationSettings())) }
    }

    private static func settable(_ s: ServerContext) -> [(String, String)] {
        parameters.filter { $0.set != nil && !$0.alias }.map { ($0.name, $0.get(s)) }
    }

    /// The new file text (a pure function of the old text, for tests).
    static func rewritten(_ old: String, current: [(String, String)], defaults: [(String, String)]) -> String {
        let values = Dictionary(current, uniquingKeysWith: { a, _ in a })
        var written = Set<String>()
        var lines: [String] = []
        for line in old.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            let name = String(trimmed.prefix { $0 != " " && $0 != "\t" }).lowercased()
            let key = name == "fsync" ? "appendfsync" : name == "slaveof" ? "replicaof" : name
            guard !trimmed.hasPrefix("#"), let value = values[key] else {
                lines.append(String(line))
                continue
            }
            if written.insert(key).inserted { lines.append(contentsOf: directive(key, value)) }
        }
        while lines.last == "" { lines.removeLast() }
        let defaultValues = Dictionary(defaults, uniquingKeysWith: { a, _ in a })
        let missing = current.filter { !written.contains($0.0) && defaultValues[$0.0] != $0.1 }
        if !missing.isEmpty {
            lines.append("# Generated by CONFIG REWRITE")
            for (name, value) in missing { lines.append(contentsOf: directive(name, value)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A directive's line (none for a `replicaof` that is not set: a primary), as the config
    /// file parser reads it back.
    private static func directive(_ name: String, _ value: String) -> [String] {
        if name == "replicaof" { return value.isEmpty ? [] : [name + " " + value] }
        return [name + " " + quoted(value)]
    }

    /// A value as the config file parser reads it back: bare when plain, else double-quoted
    /// with escapes.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\\") }
        if plain { return value }
        var out = "\""
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case UInt8(ascii: "\t"): out += "\\t"
            case 0x20..<0x7f: out += String(UnicodeScalar(b))
            default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return out + "\""
    }

    private static func readFile(_ path: String) throws(KVError) -> String {
        let file = try PosixFileSystem().openReadable(path)
        return String(decoding: try file.readAll(), as: UTF8.self)
    }

    private static func writeFileAtomically(_ path: String, _ text: String) throws(KVError) {
        let fs = PosixFileSystem()
        let temp = path + ".rewrite-tmp"
        let file = try fs.openWritable(temp, truncate: true)
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        try file.append(UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count]))
        try file.sync()
        try file.close()
        try fs.rename(temp, to: path)
        try fs.syncDirectory(Path.parent(path))
    }
}
