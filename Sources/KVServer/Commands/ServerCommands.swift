import KVStore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// INFO, CONFIG, COMMAND, FUNCTION, TIME, SAVE, BGSAVE, LASTSAVE, SHUTDOWN.
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

    /// SAVE and BGSAVE write the memtable to a table (the log already holds every write; this
    /// makes the next restart's replay short). BGSAVE answers as Redis does once it is done.
    static func save(background: Bool) -> CommandFunction {
        { s, _, a, out throws(CommandError) in
            if background && a.count > 2 { throw .syntax }
            do throws(KVError) { try s.store.flush() } catch { throw .store(error) }
            s.stats.lastSaveMillis.store(s.clock(), ordering: .relaxed)
            if background { out.writeSimple("Background saving started") } else { out.writeOK() }
        }
    }

    static func lastsave(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let ms = s.stats.lastSaveMillis.load(ordering: .relaxed)
        out.writeIntegerReply(Int((ms == 0 ? s.startedMillis : ms) / 1000))
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

    /// CONFIG GET pattern [pattern …] | CONFIG RESETSTAT | CONFIG HELP. CONFIG SET is refused:
    /// settings are fixed at start.
    static func config(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        if Arg.isKeyword(sub, "GET") {
            guard a.count >= 3 else { throw .err("wrong number of arguments for 'config|get' command") }
            let all = ServerInfo.configParameters(s)
            var matched: [(String, String)] = []
            for (name, value) in all {
                if a[2...].contains(where: { Glob(Array(Arg.string($0).lowercased().utf8)).matches(Array(name.utf8)) }) {
                    matched.append((name, value))
                }
            }
            out.writeMapHeader(matched.count)
            for (name, value) in matched {
                out.writeBulk(name)
                out.writeBulk(value)
            }
        } else if Arg.isKeyword(sub, "SET") {
            guard a.count >= 4, a.count % 2 == 0 else { throw .err("wrong number of arguments for 'config|set' command") }
            // Redis's wording for a parameter it will not take, so clients and tests recognise it.
            throw .err("CONFIG SET failed (possibly related to argument '\(Arg.string(a[2]).lowercased())') - kvserver's settings are fixed at start (flags or config file)")
        } else if Arg.isKeyword(sub, "RESETSTAT") {
            s.stats.reset()
            s.commandStats.reset()
            out.writeOK()
        } else if Arg.isKeyword(sub, "HELP") {
            let lines = ["CONFIG <subcommand> [<arg> ...]. Subcommands are:", "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.", "RESETSTAT", "    Reset statistics reported by the INFO command."]
            out.writeHelp(lines)
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try CONFIG HELP.")
        }
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
                    names = names.filter { $0.group == category || ($0.flags.contains("readonly") && category == "read") || ($0.flags.contains("write") && category == "write") || ($0.flags.contains("fast") && category == "fast") }
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
        out.writeSimple("@" + cmd.group)
        out.writeSetHeader(0)  // tips
        out.writeSetHeader(0)  // key specifications
        out.writeSetHeader(0)  // subcommands
    }
}
