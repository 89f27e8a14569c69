import KVStore
import NIOCore

/// PING, ECHO, QUIT, HELLO, AUTH, RESET, SELECT and CLIENT: the connection's own state.
enum ConnectionCommands {
    static func ping(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if a.count > 2 { throw .wrongArity("ping") }
        if !c.resp3 && !c.subscriptions.isEmpty {
            // Subscribed (RESP2): a reply shaped like a message, so a client reading pushes
            // can tell it apart.
            out.writeArrayHeader(2)
            out.writeBulk("pong")
            out.writeBulk(a.count == 2 ? a[1] : [])
            return
        }
        if a.count == 2 { out.writeBulk(a[1]) } else { out.writeSimple("PONG") }
    }

    static func echo(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeBulk(a[1])
    }

    static func quit(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeOK()
        c.closeAfterReply = true
    }

    /// AUTH [username] password. The comparison takes the same time wherever the first
    /// difference is, so response timing does not reveal a password prefix.
    static func auth(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        guard a.count == 2 || a.count == 3 else { throw .syntax }
        try authenticate(s, &c, user: a.count == 3 ? a[1] : nil, password: a[a.count - 1])
        out.writeOK()
    }

    static func authenticate(_ s: ServerContext, _ c: inout Session, user: [UInt8]?, password: [UInt8]) throws(CommandError) {
        guard let expected = s.settings.requirePassword, !expected.isEmpty else {
            // No password: the default user takes any (Redis's `nopass`), other users do not exist.
            guard let user else {
                throw .err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
            }
            guard user == Array("default".utf8) else {
                throw CommandError("WRONGPASS invalid username-password pair or user is disabled.")
            }
            c.authenticated = true
            return
        }
        let userOK = user.map { constantTimeEquals($0, Array("default".utf8)) } ?? true
        let passOK = constantTimeEquals(password, Array(expected.utf8))
        guard userOK && passOK else {
            throw CommandError("WRONGPASS invalid username-password pair or user is disabled.")
        }
        c.authenticated = true
        c.record.state.locked { $0.authenticated = true }
    }

    /// Compares every byte of the longer input whatever the lengths or contents, so the time
    /// depends only on the lengths.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let n = max(a.count, b.count)
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }

    /// HELLO [protover [AUTH username password] [SETNAME name]]: switches the connection to
    /// RESP2 or RESP3 and describes the server, in Redis 7's map.
    static func hello(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        var i = 1
        var version: Int?
        if a.count > 1 {
            let v = try Arg.integer(a[1], error: .err("Protocol version is not an integer or out of range"))
            guard v == 2 || v == 3 else { throw CommandError("NOPROTO unsupported protocol version") }
            version = v
            i = 2
        }
        var name: [UInt8]?
        var credentials: ([UInt8], [UInt8])?
        while i < a.count {
            if Arg.isKeyword(a[i], "AUTH"), i + 2 < a.count {
                credentials = (a[i + 1], a[i + 2])
                i += 3
            } else if Arg.isKeyword(a[i], "SETNAME"), i + 1 < a.count {
                try validateName(a[i + 1])
                name = a[i + 1]
                i += 2
            } else {
                throw .err("Syntax error in HELLO option '\(Arg.string(a[i]))'")
            }
        }
        if let (user, password) = credentials { try authenticate(s, &c, user: user, password: password) }
        guard c.authenticated else {
            throw CommandError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        }
        if let name { setName(c, name) }
        if let version {
            c.resp3 = version == 3
            out.resp3 = c.resp3
            c.mailbox?.resp3 = c.resp3
            c.record.state.locked { $0.resp = version }
        }
        out.writeMapHeader(7)
        out.writeBulk("server"); out.writeBulk("redis")
        out.writeBulk("version"); out.writeBulk(ServerInfo.redisCompatibleVersion)
        out.writeBulk("proto"); out.writeIntegerReply(c.resp3 ? 3 : 2)
        out.writeBulk("id"); out.writeIntegerReply(c.record.id)
        out.writeBulk("mode"); out.writeBulk("standalone")
        out.writeBulk("role"); out.writeBulk(s.replication.isReplica ? "replica" : "master")
        out.writeBulk("modules"); out.writeArrayHeader(0)
    }

    /// RESET: the connection as new — out of MULTI, no watches, RESP2, no name, and (with a
    /// password set) not authenticated.
    static func reset(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        TransactionCommands.end(s, &c)
        c.unsubscribeAll(s.pubsub)
        c.replies = .on
        c.resp3 = false
        out.resp3 = false
        c.mailbox?.resp3 = false
        c.authenticated = !s.requiresPassword
        c.record.state.locked {
            $0.resp = 2
            $0.name = ""
            $0.authenticated = c.authenticated
        }
        out.writeSimple("RESET")
    }

    static func select(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let index = try Arg.integer(a[1])
        guard index == 0 else { throw .err("DB index is out of range") }
        out.writeOK()
    }

    private static func validateName(_ name: [UInt8]) throws(CommandError) {
        guard name.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .err("Client names cannot contain spaces, newlines or special characters.")
        }
    }

    private static func setName(_ c: Session, _ name: [UInt8]) {
        c.record.state.locked { $0.name = Arg.string(name) }
    }

    /// CLIENT KILL addr:port (old form: OK or an error) | CLIENT KILL [ID id] [ADDR addr]
    /// [LADDR addr] [USER name] [SKIPME yes|no] (new form: how many were closed).
    private static func kill(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        if a.count == 3 {
            let address = Arg.string(a[2])
            guard let target = s.clients.all.first(where: { $0.address == address }) else {
                throw .err("No such client")
            }
            if target.id == c.record.id { c.closeAfterReply = true } else { target.kill() }
            return out.writeOK()
        }
        guard a.count >= 4, a.count % 2 == 0 else { throw .syntax }
        var id: Int?, address: String?, local: String?, user: String?, kind: ClientRecord.Kind?
        var skipMe = true
        for i in stride(from: 2, to: a.count, by: 2) {
            let value = a[i + 1]
            if Arg.isKeyword(a[i], "ID") {
                let n = try Arg.integer(value, error: .err("client-id should be greater than 0"))
                guard n > 0 else { throw .err("client-id should be greater than 0") }
                id = n
            } else if Arg.isKeyword(a[i], "ADDR") { address = Arg.string(value) }
            else if Arg.isKeyword(a[i], "LADDR") { local = Arg.string(value) }
            else if Arg.isKeyword(a[i], "USER") { user = Arg.string(value) }
            else if Arg.isKeyword(a[i], "TYPE") {
                guard let k = clientKind(value) else { throw .err("Unknown client type '\(Arg.string(value))'") }
                kind = k
            } else if Arg.isKeyword(a[i], "SKIPME") {
                if Arg.isKeyword(value, "YES") { skipMe = true }
                else if Arg.isKeyword(value, "NO") { skipMe = false }
                else { throw .syntax }
            } else {
                throw .syntax
            }
        }
        if let user, user != "default" { throw .err("No such user '\(user)'") }
        var killed = 0
        for target in s.clients.all {
            if let id, target.id != id { continue }
            if let address, target.address != address { continue }
            if let local, target.localAddress != local { continue }
            if let user, user != "default" { continue }
            if let kind, target.kind != kind { continue }
            if target.id == c.record.id {
                if skipMe { continue }
                c.closeAfterReply = true
            } else {
                target.kill()
            }
            killed += 1
        }
        out.writeIntegerReply(killed)
    }

    /// CLIENT LIST/KILL TYPE's argument (SLAVE is REPLICA's old name); nil for an unknown type.
    private static func clientKind(_ a: [UInt8]) -> ClientRecord.Kind? {
        if Arg.isKeyword(a, "NORMAL") { return .normal }
        if Arg.isKeyword(a, "MASTER") { return .master }
        if Arg.isKeyword(a, "REPLICA") || Arg.isKeyword(a, "SLAVE") { return .replica }
        if Arg.isKeyword(a, "PUBSUB") { return .pubsub }
        return nil
    }

    /// CLIENT ID | SETNAME | GETNAME | LIST | INFO | KILL | UNBLOCK | SETINFO | NO-EVICT | NO-TOUCH | HELP
    static func client(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        let n = a.count
        func arity(_ ok: Bool) throws(CommandError) {
            if !ok { throw .err("wrong number of arguments for 'client|\(Arg.string(sub).lowercased())' command") }
        }
        if Arg.isKeyword(sub, "ID") {
            try arity(n == 2)
            out.writeIntegerReply(c.record.id)
        } else if Arg.isKeyword(sub, "SETNAME") {
            try arity(n == 3)
            try validateName(a[2])
            setName(c, a[2])
            out.writeOK()
        } else if Arg.isKeyword(sub, "GETNAME") {
            try arity(n == 2)
            let name = c.record.state.locked { $0.name }
            if name.isEmpty { out.writeNullBulk() } else { out.writeBulk(name) }
        } else if Arg.isKeyword(sub, "LIST") {
            var clients = s.clients.all
            if n > 2 {
                if Arg.isKeyword(a[2], "TYPE"), n == 4 {
                    guard let kind = clientKind(a[3]) else { throw .err("Unknown client type '\(Arg.string(a[3]))'") }
                    clients = clients.filter { $0.kind == kind }
                } else if Arg.isKeyword(a[2], "ID"), n >= 4 {
                    var ids = Set<Int>()
                    for arg in a[3...] {
                        let id = try Arg.integer(arg, error: .err("Invalid client ID"))
                        guard id > 0 else { throw .err("Invalid client ID") }
                        ids.insert(id)
                    }
                    clients = clients.filter { ids.contains($0.id) }
                } else {
                    throw .syntax
                }
            }
            let now = s.clock()
            out.writeVerbatim(clients.map { $0.listLine(now: now, current: $0.id == c.record.id ? c : nil) + "\n" }.joined())
        } else if Arg.isKeyword(sub, "INFO") {
            try arity(n == 2)
            out.writeVerbatim(c.record.listLine(now: s.clock(), current: c) + "\n")
        } else if Arg.isKeyword(sub, "KILL") {
            try kill(s, &c, a, &out)
        } else if Arg.isKeyword(sub, "REPLY") {
            // ON answers OK; OFF and SKIP answer nothing (CommandDispatch holds the replies back).
            try arity(n == 3)
            if Arg.isKeyword(a[2], "ON") {
                c.replies = .on
                out.writeOK()
            } else if Arg.isKeyword(a[2], "OFF") {
                c.replies = .off
            } else if Arg.isKeyword(a[2], "SKIP") {
                if c.replies == .on { c.replies = .skipNext }
            } else {
                throw .syntax
            }
        } else if Arg.isKeyword(sub, "SETINFO") {
            try arity(n == 4)
            let value = Arg.string(a[3])
            guard a[3].allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw .err("\(Arg.upper(a[2])) cannot contain spaces, newlines or special characters.")
            }
            if Arg.isKeyword(a[2], "LIB-NAME") { c.record.state.locked { $0.libraryName = value } }
            else if Arg.isKeyword(a[2], "LIB-VER") { c.record.state.locked { $0.libraryVersion = value } }
            else { throw .err("Unrecognized option '\(Arg.string(a[2]))'") }
            out.writeOK()
        } else if Arg.isKeyword(sub, "UNBLOCK") {
            // CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends a blocking pop's wait; 1 if the client was
            // blocked.
            try arity(n == 3 || n == 4)
            let id = try Arg.integer(a[2])
            var error = false
            if n == 4 {
                if Arg.isKeyword(a[3], "ERROR") { error = true } else if !Arg.isKeyword(a[3], "TIMEOUT") {
                    throw .err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
                }
            }
            out.writeIntegerReply(s.db.blocked.unblock(clientID: id, error: error) ? 1 : 0)
        } else if Arg.isKeyword(sub, "NO-EVICT") || Arg.isKeyword(sub, "NO-TOUCH") {
            try arity(n == 3)
            guard Arg.isKeyword(a[2], "ON") || Arg.isKeyword(a[2], "OFF") else { throw .syntax }
            out.writeOK()  // nothing is evicted, and there is no LRU clock to touch
        } else if Arg.isKeyword(sub, "HELP") {
            let lines = [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "ID", "    Return the ID of the current connection.",
                "GETNAME", "    Return the name of the current connection.",
                "SETNAME <name>", "    Assign the name <name> to the current connection.",
                "LIST", "    Return information about client connections.",
                "INFO", "    Return information about the current client connection.",
                "KILL <ip:port>|<option> <value> [<option> <value> ...]", "    Kill connections: by ID, ADDR, LADDR, USER or TYPE; SKIPME yes|no.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
                "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>", "    Record the client library's name or version.",
            ]
            out.writeHelp(lines)
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try CLIENT HELP.")
        }
    }
}
