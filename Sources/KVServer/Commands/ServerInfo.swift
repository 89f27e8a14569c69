import KVCollections
import KVStore

#if canImport(Glibc)
import Glibc
#endif

/// The text of INFO and the values CONFIG GET reports.
enum ServerInfo {
    /// The Redis version whose commands and replies we follow; clients gate features on it.
    static let redisCompatibleVersion = "7.0.0"
    static let kvstoreVersion = "0.1.0"

    /// Every section, in Redis's order (ours, `engine`, last).
    static let allSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats", "keyspace", "engine"]
    /// What INFO and INFO default show: all but the per-command statistics, as Redis.
    static let defaultSections = allSections.filter { $0 != "commandstats" }

    /// The sections named (lowercase), with Redis's `default`, `all` and `everything`.
    static func sections(_ requested: [String]) -> [String] {
        if requested.isEmpty { return defaultSections }
        var wanted = Set<String>()
        for name in requested {
            switch name {
            case "all", "everything": wanted.formUnion(allSections)
            case "default": wanted.formUnion(defaultSections)
            default: wanted.insert(name)
            }
        }
        return allSections.filter { wanted.contains($0) }
    }

    static func render(_ s: ServerContext, sections requested: [String]) throws(CommandError) -> String {
        let wanted = sections(requested)
        var out: [String] = []
        let now = s.clock()
        let stats = s.store.statistics()
        for section in wanted {
            var lines: [String] = []
            switch section {
            case "server":
                lines = [
                    "# Server",
                    "redis_version:\(redisCompatibleVersion)",
                    "kvstore_version:\(kvstoreVersion)",
                    "redis_mode:standalone",
                    "os:Linux",
                    "arch_bits:64",
                    "multiplexing_api:epoll",
                    "process_id:\(getpid())",
                    "run_id:\(s.telemetry.runID)",
                    "tcp_port:\(s.config.port)",
                    "uptime_in_seconds:\((now &- s.telemetry.startedMillis) / 1000)",
                    "uptime_in_days:\((now &- s.telemetry.startedMillis) / 86_400_000)",
                    "executable:kvserver",
                    "config_file:",
                ]
            case "clients":
                lines = [
                    "# Clients",
                    "connected_clients:\(s.clients.count)",
                    "maxclients:\(s.clients.maxClients)",
                    "blocked_clients:\(s.db.blocked.count)",
                    "watched_keys:\(s.db.watches.count)",
                ]
            case "memory":
                let rss = residentBytes()
                lines = [
                    "# Memory",
                    "used_memory:\(stats.memtableBytes + stats.blockCacheBytes + stats.rowCacheBytes + stats.tableReaderBytes)",
                    "used_memory_rss:\(rss)",
                    "used_memory_human:\(human(rss))",
                    "memtable_bytes:\(stats.memtableBytes)",
                    "block_cache_bytes:\(stats.blockCacheBytes)",
                    "row_cache_bytes:\(stats.rowCacheBytes)",
                    "table_reader_bytes:\(stats.tableReaderBytes)",
                    "maxmemory:0",
                    "maxmemory_policy:noeviction",
                ]
            case "persistence":
                let cp = s.checkpoints.status
                lines = [
                    "# Persistence",
                    "loading:0",
                    "rdb_changes_since_last_save:\(stats.lastSequence &- cp.lastSequence)",
                    "rdb_bgsave_in_progress:\(cp.inProgress ? 1 : 0)",
                    "rdb_last_save_time:\((cp.lastSuccessMillis == 0 ? s.telemetry.startedMillis : cp.lastSuccessMillis) / 1000)",
                    "rdb_last_bgsave_status:\(cp.lastOK ? "ok" : "err")",
                    "rdb_last_bgsave_time_sec:\(cp.saves > 0 ? cp.lastDurationMillis / 1000 : -1)",
                    "rdb_saves:\(cp.saves)",
                    "checkpoint_dir:\(s.checkpoints.root)",
                    "last_checkpoint_path:\(cp.lastPath)",
                    "last_checkpoint_sequence:\(cp.lastSequence)",
                    "last_checkpoint_tables:\(cp.lastTables)",
                    "last_checkpoint_linked_tables:\(cp.lastLinkedTables)",
                    "last_checkpoint_table_bytes:\(cp.lastTableBytes)",
                    "last_checkpoint_error:\(cp.lastError)",
                    "aof_enabled:1",
                    "appendfsync:\(s.settings.fsync.rawValue)",
                    "wal_bytes_written:\(stats.walBytesWritten)",
                    "wal_syncs:\(stats.walSyncs)",
                    "wal_sync_failures:\(s.telemetry.stats.walSyncFailures.load(ordering: .relaxed))",
                    "flushes:\(stats.flushes)",
                ]
            case "stats":
                let rates = s.telemetry.rates.current
                let pubsub = s.pubsub.counts
                lines = [
                    "# Stats",
                    "total_connections_received:\(s.clients.totalAccepted)",
                    "total_commands_processed:\(s.telemetry.stats.commandsProcessed.load(ordering: .relaxed))",
                    "instantaneous_ops_per_sec:\(rates.opsPerSecond)",
                    "total_net_input_bytes:\(s.telemetry.stats.bytesRead.load(ordering: .relaxed))",
                    "total_net_output_bytes:\(s.telemetry.stats.bytesWritten.load(ordering: .relaxed))",
                    "instantaneous_input_kbps:\(String(format2: rates.inputKbps))",
                    "instantaneous_output_kbps:\(String(format2: rates.outputKbps))",
                    "rejected_connections:\(s.clients.rejected)",
                    "keyspace_hits:\(s.telemetry.stats.keyspaceHits.load(ordering: .relaxed))",
                    "keyspace_misses:\(s.telemetry.stats.keyspaceMisses.load(ordering: .relaxed))",
                    "pubsub_channels:\(pubsub.channels)",
                    "pubsub_patterns:\(pubsub.patterns)",
                    "pubsubshard_channels:\(pubsub.shardChannels)",
                    "expired_events:\(s.telemetry.stats.expiredKeys.load(ordering: .relaxed))",
                    "sync_full:\(s.telemetry.stats.fullSyncs.load(ordering: .relaxed))",
                    "sync_partial_ok:\(s.telemetry.stats.partialSyncs.load(ordering: .relaxed))",
                    "client_output_buffer_limit_disconnections:\(s.telemetry.stats.outputBufferLimitDisconnections.load(ordering: .relaxed))",
                    "total_error_replies_protocol:\(s.telemetry.stats.protocolErrors.load(ordering: .relaxed))",
                    "offloaded_commands:\(s.telemetry.stats.offloadedCommands.load(ordering: .relaxed))",
                    "writes_held:\(s.telemetry.stats.writesHeld.load(ordering: .relaxed))",
                    "writes_held_seconds:\(String(format2: Double(s.telemetry.stats.heldWriteMicros.load(ordering: .relaxed)) / 1e6))",
                    "clients_held_now:\(s.telemetry.stats.clientsHeldNow.load(ordering: .relaxed))",
                ]
            case "replication":
                lines = ["# Replication"] + ReplicationCommands.infoLines(s)
            case "cpu":
                var me = rusage(), children = rusage()
                getrusage(RUSAGE_SELF.rawValue, &me)
                getrusage(RUSAGE_CHILDREN.rawValue, &children)
                func seconds(_ t: timeval) -> String {
                    let micros = t.tv_usec
                    return "\(t.tv_sec).\(String(repeating: "0", count: max(0, 6 - String(micros).count)))\(micros)"
                }
                lines = [
                    "# CPU",
                    "used_cpu_sys:\(seconds(me.ru_stime))",
                    "used_cpu_user:\(seconds(me.ru_utime))",
                    "used_cpu_sys_children:\(seconds(children.ru_stime))",
                    "used_cpu_user_children:\(seconds(children.ru_utime))",
                ]
            case "commandstats":
                lines = ["# Commandstats"]
                for (cmd, c) in zip(CommandTable.standard.all, s.telemetry.commandStats.snapshot) where c.calls > 0 || c.rejected > 0 {
                    let usec = c.nanoseconds / 1000
                    let perCall = c.calls > 0 ? Double(c.nanoseconds) / 1000 / Double(c.calls) : 0
                    lines.append("cmdstat_\(cmd.name):calls=\(c.calls),usec=\(usec),usec_per_call=\(String(format2: perCall)),rejected_calls=\(c.rejected),failed_calls=\(c.failed)")
                }
            case "keyspace":
                // Exact, so it walks the keys: INFO runs on a blocking thread for this reason.
                let keyspace = try Self.keyspace(s, now: now)
                lines = ["# Keyspace"]
                if keyspace.keys > 0 {
                    lines.append("db0:keys=\(keyspace.keys),expires=\(keyspace.expires),avg_ttl=\(keyspace.averageTTL)")
                }
            case "engine":
                lines = ["# Engine"]
                for l in stats.levels where l.files > 0 || l.level == 0 {
                    lines.append("level\(l.level):files=\(l.files),bytes=\(l.bytes),score=\(String(format2: l.score))")
                }
                lines += [
                    "live_table_bytes:\(stats.liveTableBytes)",
                    "user_bytes_written:\(stats.userBytesWritten)",
                    "compactions:\(stats.compactions)",
                    "trivial_moves:\(stats.trivialMoves)",
                    "seek_compactions:\(stats.seekCompactions)",
                    "compaction_bytes_read:\(stats.compactionBytesRead)",
                    "compaction_bytes_written:\(stats.compactionBytesWritten)",
                    "flush_bytes_written:\(stats.flushBytesWritten)",
                    "pending_compaction_bytes:\(stats.pendingCompactionBytes)",
                    "stall_slowdown_seconds:\(String(format2: stats.slowdownSeconds))",
                    "stall_memtable_seconds:\(String(format2: stats.memtableStopSeconds))",
                    "stall_level0_seconds:\(String(format2: stats.level0StopSeconds))",
                    "write_amplification:\(String(format2: stats.writeAmplification))",
                    "stall_slowdowns:\(stats.slowdowns)",
                    "stall_stops:\(stats.stops)",
                    "stall_seconds:\(String(format2: stats.stallSeconds))",
                    "stalled_now:\(stats.isStalled ? 1 : 0)",
                    "stall_reason:\(stats.lastStallReason ?? "")",
                    "delayed_write_rate:\(stats.delayedWriteRate)",
                    "writes_would_block:\(stats.writesWouldBlock)",
                    "block_cache_hits:\(stats.blockCacheHits)",
                    "block_cache_misses:\(stats.blockCacheMisses)",
                    "row_cache_hits:\(stats.rowCacheHits)",
                    "row_cache_misses:\(stats.rowCacheMisses)",
                    "bloom_negatives:\(stats.bloomNegatives)",
                    "bloom_false_positives:\(stats.bloomFalsePositives)",
                    "open_tables:\(stats.openTables)",
                    "last_sequence:\(stats.lastSequence)",
                ]
            default:
                continue
            }
            out.append(lines.joined(separator: "\r\n"))
        }
        return out.joined(separator: "\r\n\r\n") + "\r\n"
    }

    /// Keys, keys with a time to live, and their mean remaining time in milliseconds (Redis
    /// estimates the last from a sample; this walk is exact).
    static func keyspace(_ s: ServerContext, now: UInt64) throws(CommandError) -> (keys: Int, expires: Int, averageTTL: UInt64) {
        var reading = ReadOptions()
        reading.fillCache = false
        let it = try ks { () throws(KeyspaceError) in try s.db.keyspace.access(StoreReader(store: s.store, options: reading)).keys() }
        var keys = 0, expires = 0
        var ttlSum: UInt64 = 0
        it.seekToFirst()
        while it.isValid {
            keys += 1
            if let at = it.expiresAt {
                expires += 1
                ttlSum &+= at > now ? at - now : 0
            }
            it.next()
        }
        do { try it.check() } catch { throw .store(error) }
        return (keys, expires, expires > 0 ? ttlSum / UInt64(expires) : 0)
    }

    static func residentBytes() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0, resident = 0
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, 128, f) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        if fields.count >= 2 { size = Int(fields[0]) ?? 0; resident = Int(fields[1]) ?? 0 }
        _ = size
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func human(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return String(format2: mib) + "M"
    }
}

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let scaled = (value * 100).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else {
            self = "\(value)"
            return
        }
        let n = Int(scaled)
        let sign = n < 0 ? "-" : ""
        let m = abs(n)
        let frac = m % 100
        self = "\(sign)\(m / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}
