/// Pub/Sub: SUBSCRIBE and its kin (channels, patterns, shard channels), PUBLISH, SPUBLISH and
/// PUBSUB. A subscription lives in two places: the session (`Subscriptions`, for the replies'
/// counts and for leaving) and the server's `PubSubHub` (for publishers); these commands and
/// `Session.unsubscribeAll` keep them equal. Confirmations are pushes (`>` in RESP3) and are sent even under
/// CLIENT REPLY OFF, as in Redis 7.
enum PubSubCommands {
    /// The commands a RESP2 connection with subscriptions may run.
    static let allowedWhileSubscribed: Set<String> = [
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset",
    ]

    /// Commands whose replies are pushes, sent whatever CLIENT REPLY says.
    static let pushing: Set<String> = ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"]

    /// Redis's refusal of any other command while subscribed (RESP2).
    static func refusal(_ name: String) -> String {
        "ERR Can't execute '\(name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    }

    static func subscribe(_ kind: PubSubHub.Kind, _ replyName: String) -> CommandFunction {
        return { (s, c, a, out) throws(CommandError) in
            guard let mailbox = c.mailbox else { throw .err("this session cannot subscribe") }
            mailbox.resp3 = c.resp3
            for name in a[1...] {
                if c.subscriptions[kind].insert(name).inserted { s.pubsub.add(kind, name, mailbox) }
                confirm(replyName, name, c.subscriptions.replyCount(kind), &out)
            }
            c.record.count(c.subscriptions)
        }
    }

    static func unsubscribe(_ kind: PubSubHub.Kind, _ replyName: String) -> CommandFunction {
        return { (s, c, a, out) throws(CommandError) in
            let names = a.count > 1 ? Array(a[1...]) : Array(c.subscriptions[kind])
            if names.isEmpty {
                out.writePushHeader(3)
                out.writeBulk(replyName)
                out.writeNullBulk()
                out.writeIntegerReply(c.subscriptions.replyCount(kind))
                return
            }
            for name in names {
                if c.subscriptions[kind].remove(name) != nil { s.pubsub.remove(kind, name, subscriber: c.record.id) }
                confirm(replyName, name, c.subscriptions.replyCount(kind), &out)
            }
            c.record.count(c.subscriptions)
        }
    }

    private static func confirm(_ replyName: String, _ name: [UInt8], _ count: Int, _ out: inout RESPReplyWriter) {
        out.writePushHeader(3)
        out.writeBulk(replyName)
        out.writeBulk(name)
        out.writeIntegerReply(count)
    }

    static func publish(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(s.pubsub.publish(a[1], a[2]))
    }

    static func spublish(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        out.writeIntegerReply(s.pubsub.publishShard(a[1], a[2]))
    }

    /// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
    /// SHARDNUMSUB [channel ...] | HELP.
    static func pubsub(_ s: ServerContext, _ c: inout Session, _ a: [[UInt8]], _ out: inout RESPReplyWriter) throws(CommandError) {
        let sub = a[1]
        func arity(_ ok: Bool) throws(CommandError) {
            if !ok { throw .err("wrong number of arguments for 'pubsub|\(Arg.string(sub).lowercased())' command") }
        }
        if Arg.isKeyword(sub, "CHANNELS") || Arg.isKeyword(sub, "SHARDCHANNELS") {
            try arity(a.count <= 3)
            let names = s.pubsub.names(Arg.isKeyword(sub, "CHANNELS") ? .channel : .shard, matching: a.count == 3 ? Glob(a[2]) : nil)
            out.writeArrayHeader(names.count)
            for n in names { out.writeBulk(n) }
        } else if Arg.isKeyword(sub, "NUMSUB") || Arg.isKeyword(sub, "SHARDNUMSUB") {
            let kind: PubSubHub.Kind = Arg.isKeyword(sub, "NUMSUB") ? .channel : .shard
            out.writeArrayHeader((a.count - 2) * 2)  // flat, in RESP3 too, as Redis 7.0 replies
            for name in a.dropFirst(2) {
                out.writeBulk(name)
                out.writeIntegerReply(s.pubsub.subscribers(kind, name))
            }
        } else if Arg.isKeyword(sub, "NUMPAT") {
            try arity(a.count == 2)
            out.writeIntegerReply(s.pubsub.counts.patterns)
        } else if Arg.isKeyword(sub, "HELP") {
            out.writeHelp([
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]", "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT", "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]", "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]", "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]", "    Return the number of subscribers for the specified shard level channel(s)",
            ])
        } else {
            throw .err("unknown subcommand '\(Arg.string(sub))'. Try PUBSUB HELP.")
        }
    }
}
