/// One connection's share of the shared counters — commands run, per-command statistics,
/// bytes in and out, CLIENT LIST's fields — kept here and published once per batch of
/// commands rather than per command: two event loops bumping one cache line per command
/// would cost more than the commands. Confined to the connection's event loop.
struct ConnectionCounters {
    var tally: CommandTally
    /// Commands run since the counters were last published, and the last one's name.
    var commandsRun = 0
    var lastCommand: String?
    /// Bytes read and written since CLIENT LIST's figures were last published.
    var bytesIn = 0
    var bytesOut = 0

    init(commands: Int) {
        tally = CommandTally(commands: commands)
    }

    /// Adds what was counted to the server's figures and the client's record. The session's
    /// keyspace hits and misses are taken too, unless the session is away on a blocking thread
    /// (`sessionAway`): it brings them back with it.
    mutating func publish(_ server: ServerContext, session: inout Session?, sessionAway: Bool, queuedBytes: Int) {
        // A coalesced write's counts arrive after its commands ran (with the commit), so the
        // tally alone can have something to publish.
        guard commandsRun > 0 || !tally.touched.isEmpty, let record = session?.record else { return }
        server.telemetry.commandStats.add(&tally)
        server.telemetry.stats.commandsProcessed.add(commandsRun, ordering: .relaxed)
        if !sessionAway, var s = session {
            if s.hits > 0 { server.telemetry.stats.keyspaceHits.add(s.hits, ordering: .relaxed) }
            if s.misses > 0 { server.telemetry.stats.keyspaceMisses.add(s.misses, ordering: .relaxed) }
            s.hits = 0
            s.misses = 0
            session = s
        }
        let name = lastCommand
        let now = server.clock()
        let (commands, bytesIn, bytesOut) = (commandsRun, self.bytesIn, self.bytesOut)
        record.state.locked {
            if let name { $0.lastCommand = name }
            $0.lastActiveMillis = now
            $0.commands += commands
            $0.netIn += bytesIn
            $0.netOut += bytesOut
            $0.queryBuffer = queuedBytes
        }
        commandsRun = 0
        self.bytesIn = 0
        self.bytesOut = 0
    }
}
