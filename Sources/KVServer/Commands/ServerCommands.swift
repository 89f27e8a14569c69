import KVStore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// INFO, COMMAND, FUNCTION, TIME, SAVE, BGSAVE, LASTSAVE, SHUTDOWN (CONFIG: `ConfigCommand`).
enum ServerCommands {
    static func info(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sections = a.dropFirst().map { Arg.string($0).lowercased() }
        out.writeVerbatim(try ServerInfo.render(s, sections: sections))
    }

    static func time(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        out.writeArrayHeader(2)
        out.writeBulk(String(ts.tv_sec))
        out.writeBulk(String(ts.tv_nsec / 1000))
    }

    /// SAVE: a checkpoint of the store now (`Checkpoints`); the reply waits for it.
    static func save(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        _ = try s.checkpoints.save()
        out.writeOK()
    }

    /// BGSAVE [SCHEDULE]: a checkpoint on its own thread; LASTSAVE and INFO persistence tell
    /// when it is done.
    static func bgsave(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if a.count > 2 || (a.count == 2 && !Arg.isKeyword(a[1], "SCHEDULE")) { throw .syntax }
        switch s.checkpoints.startBackground(schedule: a.count == 2) {
        case .started: out.writeSimple("Background saving started")
        case .scheduled: out.writeSimple("Background saving scheduled")
        case .busy: throw .err("Background save already in progress")
        }
    }

    /// SLOWLOG GET [count] | LEN | RESET | HELP, in Redis's reply shapes.
    static func slowlog(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "GET") {
            guard a.count <= 3 else { throw .err("wrong number of arguments for 'slowlog|get' command") }
            var count: Int? = 10
            if a.count == 3 {
                guard let n = Int(Arg.string(a[2])), n >= -1 else { throw .err("count should be greater than or equal to -1") }
                count = n == -1 ? nil : n
            }
            let entries = s.telemetry.slowlog.newest(count)
            out.writeArrayHeader(entries.count)
            for e in entries {
                out.writeArrayHeader(6)
                out.writeIntegerReply(e.id)
                out.writeIntegerReply(e.unixSeconds)
                out.writeIntegerReply(e.micros)
                out.writeArrayHeader(e.arguments.count)
                for arg in e.arguments { out.writeBulk(arg) }
                out.writeBulk(e.client)
                out.writeBulk(e.clientName)
            }
        } else if Arg.isKeyword(sub, "LEN") && a.count == 2 {
            out.writeIntegerReply(s.telemetry.slowlog.count)
        } else if Arg.isKeyword(sub, "RESET") && a.count == 2 {
            s.telemetry.slowlog.reset()
            out.writeOK()
        } else if Arg.isKeyword(sub, "HELP") {
            out.writeHelp([
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN", "    Return the length of the slowlog.",
                "RESET", "    Reset the slowlog.",
            ])
        } else {
            throw .err("unknown subcommand or wrong number of arguments for '\(Arg.string(sub))'. Try SLOWLOG HELP.")
        }
    }

    /// LASTSAVE: when the last checkpoint finished (the start time before any).
    static func lastsave(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let ms = s.checkpoints.status.lastSuccessMillis
        out.writeIntegerReply(Int((ms == 0 ? s.telemetry.startedMillis : ms) / 1000))
    }

    /// SHUTDOWN [NOSAVE|SAVE|NOW|FORCE|ABORT]: stops the server gracefully; like Redis, no
    /// reply — the connection closes once in-flight commands are answered.
    static func shutdown(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        for opt in a.dropFirst() {
            if Arg.isKeyword(opt, "ABORT") { throw .err("No shutdown in progress.") }
            guard Arg.isKeyword(opt, "NOSAVE") || Arg.isKeyword(opt, "SAVE") || Arg.isKeyword(opt, "NOW") || Arg.isKeyword(opt, "FORCE") else {
                throw .syntax
            }
        }
        c.closeAfterReply = true
        s.requestShutdown()
    }

    /// COMMAND, COMMAND COUNT | LIST | INFO name… | DOCS [name…] — the shapes Redis 7 uses,
    /// which redis-cli reads for its hints and client libraries for key positions.
    static func command(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let table = CommandTable.standard
        guard a.count > 1 else {
            out.writeArrayHeader(table.all.count)
            for cmd in table.all { writeInfo(cmd, &out) }
            return
        }
        let sub = a[1]
        if Arg.isKeyword(sub, "COUNT") {
            out.writeIntegerReply(table.all.count)
        } else if Arg.isKeyword(sub, "LIST") {
            var names = table.all
            if a.count > 2 {
                // FILTERBY MODULE name | ACLCAT category | PATTERN glob
                guard a.count == 5, Arg.isKeyword(a[2], "FILTERBY") else { throw .syntax }
                if Arg.isKeyword(a[3], "MODULE") {
                    names = []
                } else if Arg.isKeyword(a[3], "ACLCAT") {
                    let category = Arg.string(a[4]).lowercased()
                    names = names.filter { $0.category == category || ($0.flags.contains("readonly") && category == "read") || ($0.flags.contains("write") && category == "write") || ($0.flags.contains("fast") && category == "fast") || ($0.flags.contains("blocking") && category == "blocking") }
                } else if Arg.isKeyword(a[3], "PATTERN") {
                    let glob = Glob(Array(Arg.string(a[4]).lowercased().utf8))
                    names = names.filter { glob.matches(Array($0.name.utf8)) }
                } else {
                    throw .syntax
                }
            }
            out.writeArrayHeader(names.count)
            for cmd in names { out.writeBulk(cmd.name) }
        } else if Arg.isKeyword(sub, "GETKEYS") {
            guard a.count >= 3 else { throw .err("wrong number of arguments for 'command|getkeys' command") }
            let full = Array(a[2...])
            guard let cmd = table.lookup(full[0]) else { throw .err("Invalid command specified") }
            guard cmd.arityAllows(full.count) else { throw .err("Invalid number of arguments specified for command") }
            let keys = cmd.keys(in: full)
            guard !keys.isEmpty else { throw .err("The command has no key arguments") }
            out.writeArrayHeader(keys.count)
            for k in keys { out.writeBulk(k) }
        } else if Arg.isKeyword(sub, "HELP") {
            let lines = [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)", "    Return details about all Redis commands.",
                "COUNT", "    Return the total number of commands in this Redis server.",
                "LIST", "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all", "    commands are returned.",
                "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all", "    commands are returned.",
                "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
                "HELP", "    Prints this help.",
            ]
            out.writeHelp(lines)
        } else if Arg.isKeyword(sub, "INFO") {
            let names = a.count > 2 ? Array(a[2...]) : table.all.map { Array($0.name.utf8) }
            out.writeArrayHeader(names.count)
            for n in names {
                if let cmd = table.lookup(n) { writeInfo(cmd, &out) } else { out.writeNullBulk() }
            }
        } else if Arg.isKeyword(sub, "DOCS") {
            let cmds = a.count > 2 ? a[2...].compactMap { table.lookup($0) } : table.all
            out.writeMapHeader(cmds.count)
            for cmd in cmds {
                out.writeBulk(cmd.name)
                out.writeMapHeader(5)
                out.writeBulk("summary"); out.writeBulk(cmd.summary)
                out.writeBulk("since"); out.writeBulk(cmd.since)
                out.writeBulk("group"); out.writeBulk(cmd.group)
                out.writeBulk("complexity"); out.writeBulk(cmd.complexity)
                // The argument tree is not modelled; `usage` (COMMAND DOCS's summary line in
                // docs/SERVER.md) carries the synopsis instead.
                out.writeBulk("arguments"); out.writeArrayHeader(0)
            }
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try COMMAND HELP.")
        }
    }

    /// FUNCTION FLUSH [ASYNC|SYNC] | LIST | HELP: there are no functions (no scripting), so
    /// FLUSH has nothing to do and LIST nothing to show. Redis's test harness flushes
    /// functions before each unit.
    static func function(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "FLUSH") {
            guard a.count <= 3 else { throw .err("wrong number of arguments for 'function|flush' command") }
            if a.count == 3 && !Arg.isKeyword(a[2], "ASYNC") && !Arg.isKeyword(a[2], "SYNC") {
                throw .err("FUNCTION FLUSH only supports SYNC|ASYNC option")
            }
            out.writeOK()
        } else if Arg.isKeyword(sub, "LIST") {
            out.writeArrayHeader(0)
        } else if Arg.isKeyword(sub, "HELP") {
            let lines = ["FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "LIST", "    Return the functions (there are none: kvserver has no scripting).", "FLUSH [ASYNC|SYNC]", "    Delete all functions (a no-op)."]
            out.writeHelp(lines)
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try FUNCTION HELP.")
        }
    }

    /// SCRIPT KILL | FLUSH | EXISTS | HELP: what a server without scripting answers. Sentinel
    /// sends SCRIPT KILL to an instance it finds busy; there is never a script to kill.
    static func script(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "KILL") {
            guard a.count == 2 else { throw .err("wrong number of arguments for 'script|kill' command") }
            throw CommandError("NOTBUSY No scripts in execution right now.")
        } else if Arg.isKeyword(sub, "FLUSH") {
            guard a.count <= 3 else { throw .err("wrong number of arguments for 'script|flush' command") }
            if a.count == 3 && !Arg.isKeyword(a[2], "ASYNC") && !Arg.isKeyword(a[2], "SYNC") {
                throw .err("SCRIPT FLUSH only support SYNC|ASYNC option")
            }
            out.writeOK()  // no scripts to flush
        } else if Arg.isKeyword(sub, "EXISTS") {
            guard a.count >= 3 else { throw .err("wrong number of arguments for 'script|exists' command") }
            out.writeArrayHeader(a.count - 2)
            for _ in 2..<a.count { out.writeIntegerReply(0) }
        } else if Arg.isKeyword(sub, "HELP") {
            out.writeHelp([
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "EXISTS <sha1> [<sha1> ...]", "    Return 0 for each: there is no script cache (no scripting).",
                "FLUSH [ASYNC|SYNC]", "    Flush the script cache (a no-op).",
                "KILL", "    Kill the running script: there is never one (NOTBUSY).",
            ])
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try SCRIPT HELP.")
        }
    }

    /// Redis 7's ten-element command description.
    private static func writeInfo(_ cmd: Command, _ out: inout RESPReplyWriter) {
        out.writeArrayHeader(10)
        out.writeBulk(cmd.name)
        out.writeIntegerReply(cmd.arity)
        out.writeSetHeader(cmd.flags.count)
        for f in cmd.flags { out.writeSimple(f) }
        out.writeIntegerReply(cmd.firstKey)
        out.writeIntegerReply(cmd.lastKey)
        out.writeIntegerReply(cmd.step)
        out.writeSetHeader(1)
        out.writeSimple("@" + cmd.category)
        out.writeSetHeader(0)  // tips
        out.writeSetHeader(0)  // key specifications
        out.writeSetHeader(0)  // subcommands
    }
}
