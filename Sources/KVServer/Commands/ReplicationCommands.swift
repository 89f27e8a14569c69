import Foundation
import KVStore
import NIOCore

/// REPLICAOF/SLAVEOF, ROLE, WAIT, and what one kvserver sends another to replicate it:
/// REPLCONF and PSYNC (docs/FORMATS.md, "Replication stream").
enum ReplicationCommands {
    /// REPLICAOF host port | NO ONE.
    static func replicaof(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if Arg.isKeyword(a[1], "NO") && Arg.isKeyword(a[2], "ONE") {
            try s.replication.becomePrimary()
            out.writeOK()
            return
        }
        let host = Arg.string(a[1])
        guard let port = Int(Arg.string(a[2])), port >= 0, port <= 65535 else { throw .err("Invalid master port") }
        if let p = s.replication.primary, p.host == host, p.port == port {
            out.writeSimple("OK Already connected to specified master")
            return
        }
        s.replication.replicaOf(host: host, port: port)
        out.writeOK()
    }

    /// ROLE: `master offset [[ip port offset] …]`, or `slave host port state offset`.
    static func role(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let r = s.replication
        if let p = r.primary {
            out.writeArrayHeader(5)
            out.writeBulk("slave")
            out.writeBulk(p.host)
            out.writeIntegerReply(p.port)
            out.writeBulk(r.status.isUp ? "connected" : r.status.isSyncing ? "sync" : "connect")
            out.writeIntegerReply(Int(r.status.isUp ? r.source.offset : -1))
            return
        }
        let feeds = r.source.feeds.filter { $0.isOnline }
        out.writeArrayHeader(3)
        out.writeBulk("master")
        out.writeIntegerReply(Int(r.source.offset))
        out.writeArrayHeader(feeds.count)
        for f in feeds {
            out.writeArrayHeader(3)
            out.writeBulk(f.address)
            out.writeBulk(String(f.listeningPort))
            out.writeBulk(String(max(0, f.ackedOffset)))
        }
    }

    /// REPLCONF listening-port | ip-address | capa | ack | getack: what a replica tells its
    /// primary. ACK gets no reply (the stream owns the connection's output by then).
    static func replconf(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a.count % 2 == 1 else { throw .syntax }
        var i = 1
        while i < a.count {
            let value = Arg.string(a[i + 1])
            if Arg.isKeyword(a[i], "ACK") {
                guard let offset = Int64(value) else { throw .err("value is not an integer or out of range") }
                c.feed?.acknowledge(offset)
                return
            } else if Arg.isKeyword(a[i], "LISTENING-PORT") {
                guard let port = Int(value), port >= 0, port <= 65535 else { throw .err("value is not an integer or out of range") }
                c.replicaListeningPort = port
            } else if Arg.isKeyword(a[i], "IP-ADDRESS") {
                c.replicaAddress = value
            } else if Arg.isKeyword(a[i], "CAPA") {
                // Redis's (eof, psync2) mean nothing here; the stream's format is required.
                if value == ReplicationFrame.format { c.replicaSpeaksStream = true }
            } else if Arg.isKeyword(a[i], "GETACK") || Arg.isKeyword(a[i], "RDB-ONLY") {
                // GETACK: replicas acknowledge on their own after each applied burst.
            } else {
                throw .err("Unrecognized REPLCONF option: \(Arg.string(a[i]))")
            }
            i += 2
        }
        out.writeOK()
    }

    /// PSYNC replid offset (SYNC: PSYNC ? -1): from here on the connection carries the stream,
    /// for a replica that announced the stream's format (REPLCONF capa).
    /// A replica of this server's history whose offset the backlog still holds resumes
    /// (`+CONTINUE`); any other gets a full synchronisation (`+FULLRESYNC`) on a thread of its
    /// own. Replies go off for the connection: REPLCONF ACKs follow, unanswered.
    static func psync(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard !s.replication.isReplica else {
            throw .err("this kvserver is a replica: replicate from its primary (replicas do not chain)")
        }
        guard c.feed == nil else { throw .err("the connection already carries the replication stream") }
        guard c.replicaSpeaksStream else {
            throw .err("this primary sends kvserver's replication stream, format \(ReplicationFrame.format) (docs/FORMATS.md): announce it first with REPLCONF capa \(ReplicationFrame.format); a Redis replica, or a kvserver of another version, cannot replicate it")
        }
        guard let mailbox = c.mailbox else { throw .err("PSYNC needs a connection") }
        let replid = a.count == 3 ? Arg.string(a[1]) : "?"
        // The first byte the replica wants (its offset plus one); anything unusable means a
        // full synchronisation.
        let wanted = a.count == 3 ? Int64(Arg.string(a[2])) ?? 0 : 0
        let feed = s.makeFeed(c.record, mailbox.channel, listeningPort: c.replicaListeningPort, address: c.replicaAddress)
        c.feed = feed
        c.replies = .off
        c.record.state.locked { $0.isReplica = true }
        switch s.replication.source.attach(feed, replid: replid, offset: wanted > 0 ? wanted - 1 : -1) {
        case .resumed:
            s.telemetry.stats.partialSyncs.add(1, ordering: .relaxed)
        case .full(let id, let offset):
            s.telemetry.stats.fullSyncs.add(1, ordering: .relaxed)
            s.replication.startFullSync(feed: feed, replid: id, offset: offset)
        }
    }

    /// WAIT numreplicas timeout: blocks until that many replicas acknowledged the stream as far
    /// as it is now (every write this client made, and any others before WAIT), or the timeout
    /// (ms; 0: no limit) passes; answers how many did. On a blocking thread, at most
    /// `Replication.maxWaiters` at once.
    static func wait(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard !s.replication.isReplica else { throw .err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.") }
        let wanted = try Arg.integer(a[1])
        let timeout = try Arg.integer(a[2])
        guard timeout >= 0 else { throw .err("timeout is negative") }
        let source = s.replication.source
        let target = source.offset
        var acked = source.acknowledged(target)
        if acked < wanted && c.mayWait {
            // A bounded number wait at once (each holds a blocking thread); past it, WAIT
            // answers what is acknowledged now: fewer than asked, never more.
            guard s.replication.enterWait() else { return out.writeIntegerReply(acked) }
            defer { s.replication.leaveWait() }
            let start = DispatchTime.now().uptimeNanoseconds
            let deadline = timeout == 0 ? UInt64.max : start + UInt64(min(timeout, 1 << 40)) * 1_000_000
            // Acknowledgements come from replicas after each applied burst: polled, the
            // interval growing to a millisecond.
            var pause: UInt32 = 50
            while acked < wanted && DispatchTime.now().uptimeNanoseconds < deadline && !c.record.isGone {
                usleep(pause)
                pause = min(pause * 2, 1000)
                acked = source.acknowledged(target)
            }
        } else if acked < wanted && timeout >= 0 {
            throw .mustWait
        }
        out.writeIntegerReply(acked)
    }

    /// INFO's replication section, with Redis's field names (Sentinel parses them: `role`,
    /// `slaveN`, `master_link_status`, `slave_priority`, `slave_repl_offset` …).
    static func infoLines(_ s: ServerContext) -> [String] {
        let r = s.replication
        let settings = r.settings
        let source = r.source.info
        var lines: [String] = []
        if let p = r.primary {
            let st = r.status
            lines += [
                "role:slave", "master_host:\(p.host)", "master_port:\(p.port)",
                "master_link_status:\(st.isUp ? "up" : "down")",
                "master_last_io_seconds_ago:\(st.secondsSinceIO)",
                "master_sync_in_progress:\(st.isSyncing || st.isLoading ? 1 : 0)",
                "slave_read_repl_offset:\(r.source.offset)", "slave_repl_offset:\(r.source.offset)",
            ]
            if !st.isUp { lines.append("master_link_down_since_seconds:\(st.secondsDown)") }
            lines += [
                "slave_priority:\(settings.replicaPriority)", "slave_read_only:\(settings.replicaReadOnly ? 1 : 0)",
                "replica_announced:1", "connected_slaves:0",
            ]
        } else {
            let feeds = r.source.feeds.filter { !$0.isClosed }
            lines += ["role:master", "connected_slaves:\(feeds.count)"]
            if settings.minReplicasToWrite > 0 {
                lines.append("min_slaves_good_slaves:\(r.source.goodReplicas(maxLagSeconds: settings.minReplicasMaxLag))")
            }
            for (i, f) in feeds.enumerated() {
                lines.append(
                    "slave\(i):ip=\(f.address),port=\(f.listeningPort),state=\(f.isOnline ? "online" : "wait_bgsave"),offset=\(max(0, f.ackedOffset)),lag=\(f.millisecondsSinceAck / 1000)")
            }
        }
        lines += [
            "master_failover_state:no-failover",
            "master_replid:\(source.replid)", "master_replid2:\(source.replid2)",
            "master_repl_offset:\(r.source.offset)", "second_repl_offset:\(source.secondOffset < 0 ? -1 : source.secondOffset + 1)",
            "repl_backlog_active:\(source.active ? 1 : 0)", "repl_backlog_size:\(source.size)",
            "repl_backlog_first_byte_offset:\(source.active ? source.first : 0)", "repl_backlog_histlen:\(source.histlen)",
        ]
        return lines
    }
}
