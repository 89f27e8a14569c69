import KVStore
import NIOCore

/// PING, ECHO, QUIT, HELLO, AUTH, SELECT and CLIENT: the connection's own state.
enum ConnectionCommands {
    static func ping(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        if a.count > 2 { throw .wrongArity("ping") }
        if a.count == 2 { out.writeBulk(a[1]) } else { out.writeSimple("PONG") }
    }

    static func echo(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        out.writeBulk(a[1])
    }

    static func quit(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        out.writeOK()
        c.closeAfterReply = true
    }

    /// AUTH [username] password. The comparison takes the same time wherever the first
    /// difference is, so response timing does not reveal a password prefix.
    static func auth(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        guard a.count == 2 || a.count == 3 else { throw .wrongArity("auth") }
        try authenticate(s, &c, user: a.count == 3 ? a[1] : nil, password: a[a.count - 1])
        out.writeOK()
    }

    static func authenticate(_ s: ServerContext, _ c: inout Session, user: [UInt8]?, password: [UInt8]) throws(CommandError) {
        guard let expected = s.config.requirePassword, !expected.isEmpty else {
            throw .err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
        }
        let userOK = user.map { constantTimeEquals($0, Array("default".utf8)) } ?? true
        let passOK = constantTimeEquals(password, Array(expected.utf8))
        guard userOK && passOK else {
            throw CommandError("WRONGPASS invalid username-password pair or user is disabled.")
        }
        c.authenticated = true
        c.record.state.withLock { $0.authenticated = true }
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

    /// HELLO [protover [AUTH username password] [SETNAME name]]. Only RESP2 is spoken.
    static func hello(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        var i = 1
        if a.count > 1 {
            guard let version = try? Arg.integer(a[1]) else {
                throw .err("Protocol version is not an integer or out of range")
            }
            guard version == 2 else { throw CommandError("NOPROTO unsupported protocol version") }
            i = 2
        }
        var name: [UInt8]?
        while i < a.count {
            if Arg.isKeyword(a[i], "AUTH"), i + 2 < a.count {
                try authenticate(s, &c, user: a[i + 1], password: a[i + 2])
                i += 3
            } else if Arg.isKeyword(a[i], "SETNAME"), i + 1 < a.count {
                name = a[i + 1]
                i += 2
            } else {
                throw .err("Syntax error in HELLO option '\(Arg.string(a[i]))'")
            }
        }
        guard c.authenticated else {
            throw CommandError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        }
        if let name { try setName(c, name) }
        out.writeArrayHeader(14)
        out.writeBulk("server"); out.writeBulk("kvstore")
        out.writeBulk("version"); out.writeBulk(ServerInfo.redisCompatibleVersion)
        out.writeBulk("proto"); out.writeIntegerReply(2)
        out.writeBulk("id"); out.writeIntegerReply(c.record.id)
        out.writeBulk("mode"); out.writeBulk("standalone")
        out.writeBulk("role"); out.writeBulk("master")
        out.writeBulk("modules"); out.writeArrayHeader(0)
    }

    static func select(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
        let index = try Arg.integer(a[1])
        guard index == 0 else { throw .err("DB index is out of range") }
        out.writeOK()
    }

    private static func setName(_ c: Session, _ name: [UInt8]) throws(CommandError) {
        guard name.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .err("Client names cannot contain spaces, newlines or special characters.")
        }
        c.record.state.withLock { $0.name = Arg.string(name) }
    }

    /// CLIENT ID | SETNAME | GETNAME | LIST | INFO | SETINFO | NO-EVICT | NO-TOUCH | HELP
    static func client(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout ByteBuffer) throws(CommandError) {
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
            try setName(c, a[2])
            out.writeOK()
        } else if Arg.isKeyword(sub, "GETNAME") {
            try arity(n == 2)
            let name = c.record.state.withLock { $0.name }
            if name.isEmpty { out.writeNullBulk() } else { out.writeBulk(name) }
        } else if Arg.isKeyword(sub, "LIST") {
            let now = s.clock()
            let text = s.clients.all.map { $0.listLine(now: now) + "\n" }.joined()
            out.writeBulk(text)
        } else if Arg.isKeyword(sub, "INFO") {
            try arity(n == 2)
            out.writeBulk(c.record.listLine(now: s.clock()) + "\n")
        } else if Arg.isKeyword(sub, "SETINFO") {
            try arity(n == 4)
            let value = Arg.string(a[3])
            guard a[3].allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw .err("\(Arg.upper(a[2])) cannot contain spaces, newlines or special characters.")
            }
            if Arg.isKeyword(a[2], "LIB-NAME") { c.record.state.withLock { $0.libraryName = value } }
            else if Arg.isKeyword(a[2], "LIB-VER") { c.record.state.withLock { $0.libraryVersion = value } }
            else { throw .err("Unrecognized option '\(Arg.string(a[2]))'") }
            out.writeOK()
        } else if Arg.isKeyword(sub, "NO-EVICT") || Arg.isKeyword(sub, "NO-TOUCH") {
            try arity(n == 3)
            out.writeOK()  // nothing is evicted, and there is no LRU clock to touch
        } else if Arg.isKeyword(sub, "HELP") {
            let lines = [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "ID", "    Return the ID of the current connection.",
                "GETNAME", "    Return the name of the current connection.",
                "SETNAME <name>", "    Assign the name <name> to the current connection.",
                "LIST", "    Return information about client connections.",
                "INFO", "    Return information about the current client connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>", "    Record the client library's name or version.",
            ]
            out.writeArrayHeader(lines.count)
            for l in lines { out.writeSimple(l) }
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try CLIENT HELP.")
        }
    }
}
