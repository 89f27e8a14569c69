import KVCollections
import KVStore

/// MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis's semantics.
///
/// EXEC takes the stripes of every key its commands name and every key it watches (all of
/// them when a command spans the keyspace, as FLUSHDB does), so no other client's write lands
/// between its commands, and nothing else waits: other keys' commands go on. Its commands
/// write into one unit of work and read their own writes there; EXEC commits it as one engine
/// batch. WATCH is Redis's optimistic lock: a write to a watched key by anyone
/// (the coalesced SETs, expiry, FLUSHDB and DELRANGE included) marks the watcher's token, and
/// EXEC answers a null reply instead of running. The commands share one unit of work
/// (`Session.transaction`), so each reads the ones before it.
package enum TransactionCommands {
    /// Queues a command sent after MULTI: `+QUEUED`, or the error that will make EXEC answer
    /// EXECABORT (unknown command, wrong arity, not authenticated, not allowed in a
    /// transaction, over the queue limit). False when refused.
    package static func enqueue(_ s: ServerContext, _ c: inout Session, _ command: Command?, _ args: [[UInt8]], _ out: inout RESPReplyWriter) -> Bool {
        guard c.multi != nil else { return false }
        let refusal: String?
        if let command {
            if !c.authenticated && !command.allowedUnauthenticated {
                refusal = "NOAUTH Authentication required."
            } else if !command.arityAllows(args.count) {
                refusal = CommandError.wrongArity(command.name).text
            } else if command.flags.contains("no_multi") {
                refusal = "ERR Command not allowed inside a transaction"
            } else if let r = CommandDispatch.replicationRefusal(s.replication, command) {
                refusal = r
            } else if !c.multi!.enqueue(args, limits: s.config.transactionLimits) {
                let l = s.config.transactionLimits
                refusal = "ERR MULTI queue limit reached (\(l.maxCommands) commands or \(l.maxBytes) bytes: multi-max-commands, multi-max-bytes); the transaction is discarded"
            } else {
                refusal = nil
            }
        } else {
            refusal = CommandError.unknown(args).text
        }
        if let refusal {
            c.multi!.fail()
            out.writeErrorReply(refusal)
            return false
        }
        out.writeSimple("QUEUED")
        return true
    }

    static func multi(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard c.multi == nil else { throw .err("MULTI calls can not be nested") }
        c.multi = QueuedTransaction()
        out.writeOK()
    }

    static func discard(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard c.multi != nil else { throw .err("DISCARD without MULTI") }
        end(s, &c)
        out.writeOK()
    }

    static func watch(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard c.multi == nil else { throw .err("WATCH inside MULTI is not allowed") }
        let keys = Array(a[1...])
        // Under the keys' stripes, so no write slips between reading a key's expiry and
        // registering the watch. Reads first: one that must wait reruns the whole command.
        try s.db.withLocks(keys, c) { () throws(CommandError) in
            let r = s.db.reader(c)
            var expiries: [UInt64?] = []
            for key in keys { expiries.append(try ks { () throws(KeyspaceError) in try r.entry(key) }.expiresAt) }
            for (key, e) in zip(keys, expiries) { c.watched.add(key, expiresAt: e, registry: s.db.watches) }
        }
        out.writeOK()
    }

    static func unwatch(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        c.watched.clear(registry: s.db.watches)
        out.writeOK()
    }

    static func exec(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard let queued = c.multi else { throw .err("EXEC without MULTI") }
        if queued.failed {
            end(s, &c)
            throw CommandError("EXECABORT Transaction discarded because of previous errors.")
        }
        var commands: [(Command, [[UInt8]])] = []
        var keys = c.watched.keys
        var wholeKeyspace = false
        for args in queued.commands {
            // Queued only if known; a table without it is a programming error, not input.
            guard let cmd = CommandTable.standard.lookup(args[0]) else { continue }
            // The server may have become a read-only replica since the command was queued.
            if let refusal = CommandDispatch.replicationRefusal(s.replication, cmd) {
                end(s, &c)
                throw CommandError("EXECABORT Transaction discarded because of: " + refusal)
            }
            commands.append((cmd, args))
            if cmd.spansKeyspace { wholeKeyspace = true } else { keys.append(contentsOf: cmd.keys(in: args)) }
        }
        let held = wholeKeyspace ? nil : s.db.locks.heldStripes(keys)
        try s.db.withLocks(wholeKeyspace ? nil : keys, c) { () throws(CommandError) in try run(s, &c, commands, held, &out) }
        end(s, &c)
    }

    /// Runs the queued commands, with their keys locked, on one unit of work, and commits it
    /// as one batch.
    private static func run(
        _ s: ServerContext, _ c: inout Session, _ commands: [(Command, [[UInt8]])], _ held: Set<Int>?, _ out: inout RESPReplyWriter
    ) throws(CommandError) {
        if c.watched.changed(now: s.clock()) { return out.writeNullArray() }
        let start = out.writerIndex
        out.writeArrayHeader(commands.count)
        let tx = try s.db.begin(c)
        c.transaction = tx
        c.deferredEvents = RecordedEvents()
        let recording = !s.events.off
        defer {
            c.transaction = nil
            c.eventSource = nil
            c.deferredEvents = RecordedEvents()
        }
        for (cmd, args) in commands {
            let modified = tx.modificationLog.count
            if recording { c.eventSource = EventSource(name: cmd.name, args: args) }
            let failure = CommandDispatch.withoutPartialReply(&out) { (out) throws(CommandError) in
                let existed = try s.db.existingKeys(cmd.keys(in: args), c)
                try cmd.run(s, &c, args, &out)
                // Its events wait for EXEC's commit; what it modified is what was noted since it began.
                var seen = Set<[UInt8]>()
                let keys = tx.modificationLog[modified...].filter { seen.insert($0).inserted }
                if let recorded = s.db.recordEvents(c, tx, keys, existed) { c.deferredEvents.append(recorded) }
            }
            guard let error = failure else { continue }
            if error.wouldBlock && !c.mayWait {
                // Nothing is committed yet: the whole EXEC runs again on a thread that may
                // wait for the disk.
                out.moveWriterIndex(to: start)
                throw error
            }
            out.writeErrorReply(error.text)
        }
        c.transaction = nil
        do throws(CommandError) {
            try s.db.commit(tx, c, holding: held)
        } catch {
            out.moveWriterIndex(to: start)
            throw error
        }
        s.events.publish(c.deferredEvents)
    }

    /// Leaves MULTI and forgets the watched keys (EXEC, DISCARD, RESET).
    package static func end(_ s: ServerContext, _ c: inout Session) {
        c.multi = nil
        c.watched.clear(registry: s.db.watches)
    }
}
