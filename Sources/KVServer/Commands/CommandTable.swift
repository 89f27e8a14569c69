/// Every command the server knows, by name. Lookup is case-insensitive.
package struct CommandTable: Sendable {
    /// The server's commands. Built once; the connection handler dispatches through it, and
    /// COMMAND, EXEC and INFO read it.
    package static let standard = CommandTable()

    let all: [Command]
    /// Hash of the uppercase name → index into `all` (names are verified on lookup).
    private let byHash: [UInt64: Int]

    private init() {
        all = (Self.commands + CollectionCommandTable.commands).sorted { $0.name < $1.name }.enumerated().map { i, c in c.numbered(i) }
        var map: [UInt64: Int] = [:]
        for (i, c) in all.enumerated() {
            let h = Self.hash(Array(c.name.utf8))
            precondition(map[h] == nil, "command name hash collision: \(c.name)")
            map[h] = i
        }
        byHash = map
    }

    /// FNV-1a over the ASCII-uppercased bytes: case-insensitive, and no allocation per lookup.
    private static func hash(_ name: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for var b in name {
            if b >= 97 && b <= 122 { b -= 32 }
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
        }
        return h
    }

    /// The command named `name` (any case), or nil.
    package func lookup(_ name: [UInt8]) -> Command? {
        guard name.count <= 32, let i = byHash[Self.hash(name)] else { return nil }
        let c = all[i]
        let expected = c.name.utf8
        guard expected.count == name.count else { return nil }
        for (a, var b) in zip(expected, name) {
            if b >= 65 && b <= 90 { b += 32 }
            if a != b { return nil }
        }
        return c
    }

    private static let commands: [Command] = {
        let write = ["write", "denyoom"]
        let fastWrite = ["write", "denyoom", "fast"]
        let fastRead = ["readonly", "fast"]
        let firstKey = (1, 1, 1)
        return [
            // Strings
            Command("get", arity: 2, flags: fastRead, keys: firstKey, group: "string", usage: "key", summary: "Returns the string value of a key.", answerFromEntry: StringCommands.answerGet, run: StringCommands.get),
            Command("set", arity: -3, flags: write, keys: firstKey, group: "string", usage: "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", execution: .write, appendToBatch: StringCommands.batchSet, run: StringCommands.set),
            Command("setnx", arity: 3, flags: fastWrite, keys: firstKey, group: "string", usage: "key value", summary: "Set the string value of a key only when the key doesn't exist.", execution: .write, run: StringCommands.setnx),
            Command("setex", arity: 4, flags: write, keys: firstKey, group: "string", usage: "key seconds value", summary: "Sets the string value and expiration time of a key.", execution: .write, run: StringCommands.setex(milliseconds: false)),
            Command("psetex", arity: 4, flags: write, keys: firstKey, group: "string", usage: "key milliseconds value", summary: "Sets both string value and expiration time in milliseconds of a key.", execution: .write, run: StringCommands.setex(milliseconds: true)),
            Command("getset", arity: 3, flags: fastWrite, keys: firstKey, group: "string", usage: "key value", summary: "Returns the previous string value of a key after setting it to a new value.", execution: .write, run: StringCommands.getset),
            Command("getdel", arity: 2, flags: ["write", "fast"], keys: firstKey, group: "string", since: "6.2.0", usage: "key", summary: "Returns the string value of a key after deleting the key.", execution: .write, run: StringCommands.getdel),
            Command("getex", arity: -2, flags: ["write", "fast"], keys: firstKey, group: "string", since: "6.2.0", usage: "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]", summary: "Returns the string value of a key after setting its expiration time.", execution: .write, run: StringCommands.getex),
            Command("mget", arity: -2, flags: fastRead, keys: (1, -1, 1), group: "string", complexity: "O(N) where N is the number of keys to retrieve.", usage: "key [key ...]", summary: "Atomically returns the string values of one or more keys.", run: StringCommands.mget),
            Command("mset", arity: -3, flags: write, keys: (1, -1, 2), group: "string", complexity: "O(N) where N is the number of keys to set.", usage: "key value [key value ...]", summary: "Atomically creates or modifies the string values of one or more keys.", execution: .write, appendToBatch: StringCommands.batchMset, run: StringCommands.mset(onlyIfNoneExist: false)),
            Command("msetnx", arity: -3, flags: write, keys: (1, -1, 2), group: "string", complexity: "O(N) where N is the number of keys to set.", usage: "key value [key value ...]", summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", execution: .write, run: StringCommands.mset(onlyIfNoneExist: true)),
            Command("incr", arity: 2, flags: fastWrite, keys: firstKey, group: "string", usage: "key", summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", execution: .write, run: StringCommands.incr(by: 1, negate: false)),
            Command("decr", arity: 2, flags: fastWrite, keys: firstKey, group: "string", usage: "key", summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", execution: .write, run: StringCommands.incr(by: 1, negate: true)),
            Command("incrby", arity: 3, flags: fastWrite, keys: firstKey, group: "string", usage: "key increment", summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", execution: .write, run: StringCommands.incr(by: nil, negate: false)),
            Command("decrby", arity: 3, flags: fastWrite, keys: firstKey, group: "string", usage: "key decrement", summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", execution: .write, run: StringCommands.incr(by: nil, negate: true)),
            Command("incrbyfloat", arity: 3, flags: fastWrite, keys: firstKey, group: "string", since: "2.6.0", usage: "key increment", summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", execution: .write, run: StringCommands.incrbyfloat),
            Command("append", arity: 3, flags: fastWrite, keys: firstKey, group: "string", usage: "key value", summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", execution: .write, run: StringCommands.append),
            Command("strlen", arity: 2, flags: fastRead, keys: firstKey, group: "string", usage: "key", summary: "Returns the length of a string value.", run: StringCommands.strlen),
            Command("getrange", arity: 4, flags: ["readonly"], keys: firstKey, group: "string", usage: "key start end", summary: "Returns a substring of the string stored at a key.", run: StringCommands.getrange),
            Command("setrange", arity: 4, flags: write, keys: firstKey, group: "string", usage: "key offset value", summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", execution: .write, run: StringCommands.setrange),
            Command("setbit", arity: 4, flags: write, keys: firstKey, group: "bitmap", since: "2.2.0", usage: "key offset value", summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", execution: .write, run: BitCommands.setbit),
            Command("getbit", arity: 3, flags: fastRead, keys: firstKey, group: "bitmap", since: "2.2.0", usage: "key offset", summary: "Returns a bit value by offset.", run: BitCommands.getbit),
            Command("bitcount", arity: -2, flags: ["readonly"], keys: firstKey, group: "bitmap", since: "2.6.0", complexity: "O(N)", usage: "key [start end [BYTE|BIT]]", summary: "Counts the number of set bits (population counting) in a string.", run: BitCommands.bitcount),
            Command("bitpos", arity: -3, flags: ["readonly"], keys: firstKey, group: "bitmap", since: "2.8.7", complexity: "O(N)", usage: "key bit [start [end [BYTE|BIT]]]", summary: "Finds the first set (1) or clear (0) bit in a string.", run: BitCommands.bitpos),
            Command("bitop", arity: -4, flags: write, keys: (2, -1, 1), group: "bitmap", since: "2.6.0", complexity: "O(N)", usage: "AND|OR|XOR|NOT destkey key [key ...]", summary: "Performs bitwise operations on multiple strings, and stores the result.", execution: .write, run: BitCommands.bitop),
            Command("lcs", arity: -3, flags: ["readonly"], keys: (1, 2, 1), group: "string", since: "7.0.0", complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively", usage: "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]", summary: "Finds the longest common substring.", execution: .blocking, run: LCSCommand.lcs),
            // Keys
            Command("del", arity: -2, flags: ["write"], keys: (1, -1, 1), group: "generic", complexity: "O(N) where N is the number of keys that will be removed.", usage: "key [key ...]", summary: "Deletes one or more keys.", execution: .write, run: KeyCommands.del),
            Command("unlink", arity: -2, flags: ["write", "fast"], keys: (1, -1, 1), group: "generic", since: "4.0.0", usage: "key [key ...]", summary: "Asynchronously deletes one or more keys.", execution: .write, run: KeyCommands.del),
            Command("exists", arity: -2, flags: fastRead, keys: (1, -1, 1), group: "generic", usage: "key [key ...]", summary: "Determines whether one or more keys exist.", run: KeyCommands.exists),
            // No access clock is kept (nothing is evicted), so TOUCH only counts, as EXISTS.
            Command("touch", arity: -2, flags: fastRead, keys: (1, -1, 1), group: "generic", since: "3.2.1", usage: "key [key ...]", summary: "Returns the number of existing keys out of those specified (there is no access time to update).", run: KeyCommands.exists),
            Command("ttl", arity: 2, flags: fastRead, keys: firstKey, group: "generic", usage: "key", summary: "Returns the expiration time in seconds of a key.", run: KeyCommands.ttl(milliseconds: false)),
            Command("pttl", arity: 2, flags: fastRead, keys: firstKey, group: "generic", since: "2.6.0", usage: "key", summary: "Returns the expiration time in milliseconds of a key.", run: KeyCommands.ttl(milliseconds: true)),
            Command("expire", arity: -3, flags: fastWrite, keys: firstKey, group: "generic", usage: "key seconds [NX|XX|GT|LT]", summary: "Sets the expiration time of a key in seconds.", execution: .write, run: KeyCommands.expire(milliseconds: false, absolute: false, name: "expire")),
            Command("pexpire", arity: -3, flags: fastWrite, keys: firstKey, group: "generic", since: "2.6.0", usage: "key milliseconds [NX|XX|GT|LT]", summary: "Sets the expiration time of a key in milliseconds.", execution: .write, run: KeyCommands.expire(milliseconds: true, absolute: false, name: "pexpire")),
            Command("expireat", arity: -3, flags: fastWrite, keys: firstKey, group: "generic", since: "1.2.0", usage: "key unix-time-seconds [NX|XX|GT|LT]", summary: "Sets the expiration time of a key to a Unix timestamp.", execution: .write, run: KeyCommands.expire(milliseconds: false, absolute: true, name: "expireat")),
            Command("pexpireat", arity: -3, flags: fastWrite, keys: firstKey, group: "generic", since: "2.6.0", usage: "key unix-time-milliseconds [NX|XX|GT|LT]", summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", execution: .write, run: KeyCommands.expire(milliseconds: true, absolute: true, name: "pexpireat")),
            Command("persist", arity: 2, flags: ["write", "fast"], keys: firstKey, group: "generic", since: "2.2.0", usage: "key", summary: "Removes the expiration time of a key.", execution: .write, run: KeyCommands.persist),
            Command("type", arity: 2, flags: fastRead, keys: firstKey, group: "generic", usage: "key", summary: "Determines the type of value stored at a key.", run: KeyCommands.type),
            Command("rename", arity: 3, flags: ["write"], keys: (1, 2, 1), group: "generic", usage: "key newkey", summary: "Renames a key and overwrites the destination.", execution: .write, run: KeyCommands.rename(onlyIfAbsent: false)),
            Command("renamenx", arity: 3, flags: fastWrite, keys: (1, 2, 1), group: "generic", usage: "key newkey", summary: "Renames a key only when the target key name doesn't exist.", execution: .write, run: KeyCommands.rename(onlyIfAbsent: true)),
            Command("copy", arity: -3, flags: write, keys: (1, 2, 1), group: "generic", since: "6.2.0", usage: "source destination [DB destination-db] [REPLACE]", summary: "Copies the value of a key to a new key.", execution: .write, run: KeyCommands.copy),
            Command("expiretime", arity: 2, flags: fastRead, keys: firstKey, group: "generic", since: "7.0.0", usage: "key", summary: "Returns the expiration time of a key as a Unix timestamp.", run: KeyCommands.expiretime(milliseconds: false)),
            Command("pexpiretime", arity: 2, flags: fastRead, keys: firstKey, group: "generic", since: "7.0.0", usage: "key", summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", run: KeyCommands.expiretime(milliseconds: true)),
            Command("object", arity: -2, flags: ["readonly"], keys: (2, 2, 1), group: "generic", since: "2.2.3", usage: "ENCODING|REFCOUNT|IDLETIME|FREQ key", summary: "A container for object introspection commands.", run: KeyCommands.object),
            Command("randomkey", arity: 1, flags: ["readonly"], group: "generic", usage: "", summary: "Returns a random key name from the database.", execution: .blocking, spansKeyspace: true, run: KeyCommands.randomkey),
            Command("dbsize", arity: 1, flags: ["readonly"], group: "server", complexity: "O(N) where N is the number of keys (an exact count walks them).", usage: "", summary: "Returns the number of keys in the database.", execution: .blocking, spansKeyspace: true, run: KeyCommands.dbsize),
            Command("flushdb", arity: -1, flags: ["write"], group: "server", complexity: "O(1): one range deletion; compaction reclaims the space.", usage: "[ASYNC|SYNC]", summary: "Remove all keys from the current database.", execution: .blocking, spansKeyspace: true, run: KeyCommands.flushdb),
            Command("flushall", arity: -1, flags: ["write"], group: "server", complexity: "O(1): one range deletion; compaction reclaims the space.", usage: "[ASYNC|SYNC]", summary: "Removes all keys from all databases.", execution: .blocking, spansKeyspace: true, run: KeyCommands.flushdb),
            Command("scan", arity: -2, flags: ["readonly"], group: "generic", since: "2.8.0", complexity: "O(COUNT) per call; a literal pattern prefix seeks.", usage: "cursor [MATCH pattern] [COUNT count] [TYPE type]", summary: "Iterates over the key names in the database, in key order.", execution: .blocking, spansKeyspace: true, run: RangeCommands.scan),
            Command("keys", arity: 2, flags: ["readonly"], group: "generic", complexity: "O(N) over the keys sharing the pattern's literal prefix.", usage: "pattern", summary: "Returns all key names that match a pattern.", execution: .blocking, spansKeyspace: true, run: RangeCommands.keys),
            Command("range", arity: -3, flags: ["readonly"], keys: (1, 2, 1), group: "generic", since: "kvstore", complexity: "O(log N + M) with M the keys returned.", usage: "start end [LIMIT count] [REV] [KEYSONLY]", summary: "Returns the keys in [start, end) with their values, in key order (empty end: no upper bound).", execution: .blocking, spansKeyspace: true, run: RangeCommands.range),
            Command("delrange", arity: 3, flags: ["write"], keys: (1, 2, 1), group: "generic", since: "kvstore", complexity: "O(1): one range deletion, whatever the number of keys.", usage: "start end", summary: "Deletes every key in [start, end) (empty end: no upper bound).", execution: .blocking, spansKeyspace: true, run: RangeCommands.delrange),
            // Connection
            Command("ping", arity: -1, flags: ["fast"], group: "connection", usage: "[message]", summary: "Returns the server's liveliness response.", run: ConnectionCommands.ping),
            Command("echo", arity: 2, flags: ["fast"], group: "connection", usage: "message", summary: "Returns the given string.", run: ConnectionCommands.echo),
            Command("quit", arity: -1, flags: ["fast", "no_auth"], group: "connection", usage: "", summary: "Closes the connection.", allowedUnauthenticated: true, transaction: .control, run: ConnectionCommands.quit),
            Command("auth", arity: -2, flags: ["fast", "no_auth"], group: "connection", usage: "[username] password", summary: "Authenticates the connection.", allowedUnauthenticated: true, run: ConnectionCommands.auth),
            Command("hello", arity: -1, flags: ["fast", "no_auth"], group: "connection", since: "6.0.0", usage: "[protover [AUTH username password] [SETNAME clientname]]", summary: "Handshakes with the server: RESP2 or RESP3, authentication, client name.", allowedUnauthenticated: true, run: ConnectionCommands.hello),
            Command("reset", arity: 1, flags: ["fast", "no_auth"], group: "connection", since: "6.2.0", usage: "", summary: "Resets the connection.", allowedUnauthenticated: true, transaction: .control, run: ConnectionCommands.reset),
            // Pub/Sub
            Command("subscribe", arity: -2, flags: ["pubsub", "noscript", "loading", "stale"], group: "pubsub", since: "2.0.0", complexity: "O(N) where N is the number of channels to subscribe to.", usage: "channel [channel ...]", summary: "Listens for messages published to channels.", run: PubSubCommands.subscribe(.channel, "subscribe")),
            Command("unsubscribe", arity: -1, flags: ["pubsub", "noscript", "loading", "stale"], group: "pubsub", since: "2.0.0", complexity: "O(N) where N is the number of channels to unsubscribe.", usage: "[channel [channel ...]]", summary: "Stops listening to messages posted to channels.", run: PubSubCommands.unsubscribe(.channel, "unsubscribe")),
            Command("psubscribe", arity: -2, flags: ["pubsub", "noscript", "loading", "stale"], group: "pubsub", since: "2.0.0", complexity: "O(N) where N is the number of patterns to subscribe to.", usage: "pattern [pattern ...]", summary: "Listens for messages published to channels that match one or more patterns.", run: PubSubCommands.subscribe(.pattern, "psubscribe")),
            Command("punsubscribe", arity: -1, flags: ["pubsub", "noscript", "loading", "stale"], group: "pubsub", since: "2.0.0", complexity: "O(N) where N is the number of patterns to unsubscribe.", usage: "[pattern [pattern ...]]", summary: "Stops listening to messages published to channels that match one or more patterns.", run: PubSubCommands.unsubscribe(.pattern, "punsubscribe")),
            Command("ssubscribe", arity: -2, flags: ["pubsub", "noscript", "loading", "stale"], keys: (1, -1, 1), group: "pubsub", since: "7.0.0", complexity: "O(N) where N is the number of shard channels to subscribe to.", usage: "shardchannel [shardchannel ...]", summary: "Listens for messages published to shard channels.", run: PubSubCommands.subscribe(.shard, "ssubscribe")),
            Command("sunsubscribe", arity: -1, flags: ["pubsub", "noscript", "loading", "stale"], keys: (1, -1, 1), group: "pubsub", since: "7.0.0", complexity: "O(N) where N is the number of shard channels to unsubscribe.", usage: "[shardchannel [shardchannel ...]]", summary: "Stops listening to messages posted to shard channels.", run: PubSubCommands.unsubscribe(.shard, "sunsubscribe")),
            Command("publish", arity: 3, flags: ["pubsub", "loading", "stale", "fast"], group: "pubsub", since: "2.0.0", complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", usage: "channel message", summary: "Posts a message to a channel.", run: PubSubCommands.publish),
            Command("spublish", arity: 3, flags: ["pubsub", "loading", "stale", "fast"], keys: firstKey, group: "pubsub", since: "7.0.0", complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.", usage: "shardchannel message", summary: "Post a message to a shard channel", run: PubSubCommands.spublish),
            Command("pubsub", arity: -2, flags: ["pubsub", "loading", "stale"], group: "pubsub", since: "2.8.0", complexity: "O(N) for CHANNELS (the active channels), O(1) for NUMPAT, O(N) for NUMSUB (the channels asked for).", usage: "CHANNELS [pattern]|NUMSUB [channel ...]|NUMPAT|SHARDCHANNELS [pattern]|SHARDNUMSUB [shardchannel ...]|HELP", summary: "A container for Pub/Sub commands.", run: PubSubCommands.pubsub),
            // Transactions
            Command("multi", arity: 1, flags: ["fast"], group: "transactions", since: "1.2.0", usage: "", summary: "Starts a transaction.", transaction: .control, run: TransactionCommands.multi),
            Command("exec", arity: 1, flags: ["slow"], group: "transactions", since: "1.2.0", complexity: "Depends on commands in the transaction", usage: "", summary: "Executes all commands in a transaction.", transaction: .commit, run: TransactionCommands.exec),
            Command("discard", arity: 1, flags: ["fast"], group: "transactions", since: "2.0.0", complexity: "O(N), when N is the number of queued commands", usage: "", summary: "Discards a transaction.", transaction: .control, run: TransactionCommands.discard),
            Command("watch", arity: -2, flags: ["fast"], keys: (1, -1, 1), group: "transactions", since: "2.2.0", usage: "key [key ...]", summary: "Monitors changes to keys to determine the execution of a transaction.", transaction: .control, run: TransactionCommands.watch),
            Command("unwatch", arity: 1, flags: ["fast"], group: "transactions", since: "2.2.0", usage: "", summary: "Forgets about watched keys of a transaction.", run: TransactionCommands.unwatch),
            Command("select", arity: 2, flags: ["fast"], group: "connection", usage: "index", summary: "Changes the selected database (only 0 exists).", run: ConnectionCommands.select),
            Command("client", arity: -2, flags: ["fast"], group: "connection", since: "2.4.0", usage: "ID|SETNAME name|GETNAME|LIST [TYPE t|ID id ...]|INFO|KILL ...|SETINFO LIB-NAME|LIB-VER value", summary: "A container for client connection commands.", run: ConnectionCommands.client),
            // Server
            Command("command", arity: -1, flags: ["loading", "stale"], group: "server", since: "2.8.13", usage: "[COUNT|LIST|INFO [command-name ...]|DOCS [command-name ...]]", summary: "Returns detailed information about all commands.", run: ServerCommands.command),
            Command("config", arity: -2, flags: ["admin"], group: "server", since: "2.0.0", usage: "GET parameter [parameter ...]|SET parameter value [parameter value ...]|REWRITE|RESETSTAT", summary: "A container for server configuration commands.", execution: .blocking, run: ConfigCommand.run),
            Command("slowlog", arity: -2, flags: ["admin", "random", "loading", "stale"], group: "server", since: "2.2.12", usage: "GET [count]|LEN|RESET", summary: "A container for slow log commands.", run: ServerCommands.slowlog),
            Command("info", arity: -1, flags: ["loading", "stale"], group: "server", usage: "[section [section ...]]", summary: "Returns information and statistics about the server.", execution: .blocking, run: ServerCommands.info),
            Command("function", arity: -2, flags: ["noscript"], group: "scripting", since: "7.0.0", usage: "FLUSH [ASYNC|SYNC]|LIST|HELP", summary: "A container for function commands (there are no functions: FLUSH is a no-op).", run: ServerCommands.function),
            Command("script", arity: -2, flags: ["noscript"], group: "scripting", since: "2.6.0", usage: "KILL|FLUSH [ASYNC|SYNC]|EXISTS sha1 [sha1 ...]|HELP", summary: "A container for Lua scripts management commands (there is no scripting: KILL answers NOTBUSY).", run: ServerCommands.script),
            Command("role", arity: 1, flags: ["noscript", "loading", "stale", "fast"], group: "server", since: "2.8.12", usage: "", summary: "Returns the replication role.", run: ReplicationCommands.role),
            // Replication
            Command("replicaof", arity: 3, flags: ["admin", "noscript", "stale", "no_async_loading"], group: "server", since: "5.0.0", usage: "host port|NO ONE", summary: "Configures a server as replica of another, or promotes it to a primary.", execution: .blocking, run: ReplicationCommands.replicaof),
            Command("slaveof", arity: 3, flags: ["admin", "noscript", "stale", "no_async_loading"], group: "server", usage: "host port|NO ONE", summary: "Configures a server as replica of another, or promotes it to a primary (old name of REPLICAOF).", execution: .blocking, run: ReplicationCommands.replicaof),
            Command("replconf", arity: -1, flags: ["admin", "noscript", "loading", "stale", "allow_busy"], group: "server", since: "3.0.0", usage: "LISTENING-PORT port|IP-ADDRESS ip|CAPA capability|ACK offset", summary: "What a replica tells its primary (internal).", run: ReplicationCommands.replconf),
            Command("psync", arity: -3, flags: ["admin", "noscript", "no_async_loading", "no_multi"], group: "server", since: "2.8.0", usage: "replicationid offset", summary: "Starts the replication stream: resumed from the backlog, or a full synchronisation (internal).", run: ReplicationCommands.psync),
            Command("sync", arity: 1, flags: ["admin", "noscript", "no_async_loading", "no_multi"], group: "server", usage: "", summary: "Starts the replication stream with a full synchronisation (internal).", run: ReplicationCommands.psync),
            Command("wait", arity: 3, flags: ["noscript"], group: "generic", since: "3.0.0", usage: "numreplicas timeout", summary: "Blocks until the writes made before it are acknowledged by that many replicas, or the timeout.", run: ReplicationCommands.wait),
            Command("time", arity: 1, flags: ["fast"], group: "server", since: "2.6.0", usage: "", summary: "Returns the server time.", run: ServerCommands.time),
            Command("save", arity: 1, flags: ["admin", "noscript", "no_async_loading", "no_multi"], group: "server", usage: "", summary: "Makes a checkpoint of the store (an openable copy) in the checkpoint directory.", execution: .blocking, run: ServerCommands.save),
            Command("bgsave", arity: -1, flags: ["admin"], group: "server", usage: "[SCHEDULE]", summary: "Makes a checkpoint of the store in the background.", run: ServerCommands.bgsave),
            Command("lastsave", arity: 1, flags: ["fast"], group: "server", usage: "", summary: "Returns the Unix timestamp of the last successful checkpoint.", run: ServerCommands.lastsave),
            Command("shutdown", arity: -1, flags: ["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"], group: "server", usage: "[NOSAVE|SAVE] [NOW] [FORCE]", summary: "Stops accepting connections, answers what is in flight, syncs the log and exits.", run: ServerCommands.shutdown),
        ]
    }()
}
