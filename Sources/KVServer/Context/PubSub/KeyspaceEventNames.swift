/// The events Redis 7.0 publishes for a write command's change to one key (its
/// `notifyKeyspaceEvent` calls), as a pure function of the command, its arguments, the key and
/// whether the command left the key absent. Most commands publish their own name in their
/// type's class; the exceptions are spelled out: the increments publish "incrby"/"decrby",
/// the pops of blocking and multi-key forms the direction they took, a move one event per
/// side, a removal of a key's last element its command's event then "del", an expiry set in
/// the past only "del".
enum KeyspaceEventNames {
    typealias Classes = KeyspaceEvents.Classes

    static func events(_ command: String, _ args: [[UInt8]], key: [UInt8], gone: Bool) -> [(Classes, String)] {
        let named = names(command, args, key: key)
        guard gone else { return named }
        // The key is absent after the command.
        if named.contains(where: { $0.1 == "del" || $0.1 == "rename_from" }) { return named }
        switch command {
        case "expire", "pexpire", "expireat", "pexpireat", "getex", "set", "setex", "psetex",
             "sinterstore", "sunionstore", "sdiffstore", "zunionstore", "zinterstore", "zdiffstore", "zrangestore",
             "sort", "bitop", "restore":
            // An expiry in the past, or an empty result stored: the key is deleted instead.
            return [(.generic, "del")]
        default:
            return named + [(.generic, "del")]
        }
    }

    /// Whether an option among `args[from...]` is one of `words` (options follow the key and
    /// value: a value spelled like an option is not one).
    private static func has(_ args: [[UInt8]], from: Int, _ words: StaticString...) -> Bool {
        from < args.count && args[from...].contains { a in words.contains { Arg.isKeyword(a, $0) } }
    }

    /// ZADD's INCR: among the options right after the key, before the first score.
    private static func zaddIncrements(_ args: [[UInt8]]) -> Bool {
        let flags: [StaticString] = ["NX", "XX", "GT", "LT", "CH", "INCR"]
        var i = 2
        while i < args.count, flags.contains(where: { Arg.isKeyword(args[i], $0) }) {
            if Arg.isKeyword(args[i], "INCR") { return true }
            i += 1
        }
        return false
    }

    /// The word after an LMPOP/ZMPOP's keys (`numkeys` at `countAt`): LEFT/RIGHT, MIN/MAX.
    private static func wordAfterKeys(_ args: [[UInt8]], countAt: Int) -> [UInt8]? {
        guard countAt < args.count, let n = Int(Arg.string(args[countAt])), n >= 0, countAt + 1 + n < args.count else { return nil }
        return args[countAt + 1 + n]
    }

    private static func names(_ command: String, _ args: [[UInt8]], key: [UInt8]) -> [(Classes, String)] {
        switch command {
        case "set":
            return has(args, from: 3, "EX", "PX", "EXAT", "PXAT") ? [(.string, "set"), (.generic, "expire")] : [(.string, "set")]
        case "setnx", "getset", "mset", "msetnx", "bitop": return [(.string, "set")]
        case "setex", "psetex": return [(.string, "set"), (.generic, "expire")]
        case "incr", "incrby": return [(.string, "incrby")]
        case "decr", "decrby": return [(.string, "decrby")]
        case "incrbyfloat", "append", "setrange", "setbit": return [(.string, command)]
        case "del", "unlink", "getdel": return [(.generic, "del")]
        case "getex": return has(args, from: 2, "PERSIST") ? [(.generic, "persist")] : [(.generic, "expire")]
        case "expire", "pexpire", "expireat", "pexpireat": return [(.generic, "expire")]
        case "persist", "restore": return [(.generic, command)]
        case "rename", "renamenx": return [(.generic, key == args[1] ? "rename_from" : "rename_to")]
        case "copy": return [(.generic, "copy_to")]
        case "lpush", "lpushx": return [(.list, "lpush")]
        case "rpush", "rpushx": return [(.list, "rpush")]
        case "lpop", "blpop": return [(.list, "lpop")]
        case "rpop", "brpop": return [(.list, "rpop")]
        case "lmpop", "blmpop":
            let left = wordAfterKeys(args, countAt: command == "lmpop" ? 1 : 2).map { Arg.isKeyword($0, "LEFT") } ?? false
            return [(.list, left ? "lpop" : "rpop")]
        case "lmove", "blmove", "rpoplpush", "brpoplpush":
            // LMOVE source destination LEFT|RIGHT LEFT|RIGHT; RPOPLPUSH pops right, pushes left.
            let moves = command.hasSuffix("lmove")
            let fromLeft = moves && args.count > 3 && Arg.isKeyword(args[3], "LEFT")
            let toLeft = !moves || (args.count > 4 && Arg.isKeyword(args[4], "LEFT"))
            var out: [(Classes, String)] = []
            if key == args[1] { out.append((.list, fromLeft ? "lpop" : "rpop")) }
            if key == args[2] { out.append((.list, toLeft ? "lpush" : "rpush")) }
            return out
        case "linsert", "lset", "lrem", "ltrim": return [(.list, command)]
        case "sadd", "srem", "spop", "sinterstore", "sunionstore", "sdiffstore": return [(.set, command)]
        case "smove":
            var out: [(Classes, String)] = []
            if key == args[1] { out.append((.set, "srem")) }
            if key == args[2] { out.append((.set, "sadd")) }
            return out
        case "hset", "hmset", "hsetnx": return [(.hash, "hset")]
        case "hdel", "hincrby", "hincrbyfloat": return [(.hash, command)]
        case "zadd": return [(.zset, zaddIncrements(args) ? "zincr" : "zadd")]
        case "zincrby": return [(.zset, "zincr")]
        case "bzpopmin": return [(.zset, "zpopmin")]
        case "bzpopmax": return [(.zset, "zpopmax")]
        case "zmpop", "bzmpop":
            let min = wordAfterKeys(args, countAt: command == "zmpop" ? 1 : 2).map { Arg.isKeyword($0, "MIN") } ?? false
            return [(.zset, min ? "zpopmin" : "zpopmax")]
        case "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zpopmin", "zpopmax",
             "zunionstore", "zinterstore", "zdiffstore", "zrangestore":
            return [(.zset, command)]
        case "sort": return [(.list, "sortstore")]
        default: return [(.generic, command)]
        }
    }
}
