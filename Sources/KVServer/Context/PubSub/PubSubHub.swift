import Synchronization

/// Who is subscribed to what: channels, patterns and shard channels, each to the mailboxes of
/// its subscribers. PUBLISH finds a message's receivers here and queues it in their mailboxes
/// (outside the lock: a mailbox has its own). On one node a shard channel is a channel of a
/// separate namespace (SPUBLISH reaches SSUBSCRIBE only), as in a one-shard Redis Cluster.
///
/// One lock over the three maps: subscriptions change rarely next to publishes, and a publish
/// holds it only to collect receivers. Patterns are matched one by one, as in Redis (a
/// publish costs O(channel subscribers + patterns)).
final class PubSubHub: Sendable {
    enum Kind: Sendable {
        case channel, pattern, shard
    }

    private struct Registry {
        var channels: [[UInt8]: [Int: Mailbox]] = [:]
        var patterns: [[UInt8]: (glob: Glob, subscribers: [Int: Mailbox])] = [:]
        var shardChannels: [[UInt8]: [Int: Mailbox]] = [:]
    }

    private let registry = Mutex(Registry())

    func add(_ kind: Kind, _ name: [UInt8], _ mailbox: Mailbox) {
        registry.withLock { r in
            switch kind {
            case .channel: r.channels[name, default: [:]][mailbox.id] = mailbox
            case .shard: r.shardChannels[name, default: [:]][mailbox.id] = mailbox
            case .pattern:
                if r.patterns[name] == nil { r.patterns[name] = (Glob(name), [:]) }
                r.patterns[name]!.subscribers[mailbox.id] = mailbox
            }
        }
    }

    func remove(_ kind: Kind, _ name: [UInt8], subscriber id: Int) {
        registry.withLock { r in
            switch kind {
            case .channel:
                r.channels[name]?[id] = nil
                if r.channels[name]?.isEmpty == true { r.channels[name] = nil }
            case .shard:
                r.shardChannels[name]?[id] = nil
                if r.shardChannels[name]?.isEmpty == true { r.shardChannels[name] = nil }
            case .pattern:
                r.patterns[name]?.subscribers[id] = nil
                if r.patterns[name]?.subscribers.isEmpty == true { r.patterns[name] = nil }
            }
        }
    }

    /// PUBLISH: queues `message` for the channel's subscribers and for every subscriber of a
    /// matching pattern (once per pattern, as Redis does); returns how many received it.
    func publish(_ channel: [UInt8], _ message: [UInt8]) -> Int {
        let (direct, matched) = registry.withLock { r -> ([Mailbox], [(Mailbox, [UInt8])]) in
            let direct = r.channels[channel].map { Array($0.values) } ?? []
            var matched: [(Mailbox, [UInt8])] = []
            for (pattern, entry) in r.patterns where entry.glob.matches(channel) {
                for m in entry.subscribers.values { matched.append((m, pattern)) }
            }
            return (direct, matched)
        }
        var received = 0
        for m in direct where m.deliver("message", channel, message) { received += 1 }
        for (m, pattern) in matched where m.deliver("pmessage", pattern, channel, message) { received += 1 }
        return received
    }

    /// SPUBLISH: queues `message` for the shard channel's subscribers.
    func publishShard(_ channel: [UInt8], _ message: [UInt8]) -> Int {
        let receivers = registry.withLock { $0.shardChannels[channel].map { Array($0.values) } ?? [] }
        var received = 0
        for m in receivers where m.deliver("smessage", channel, message) { received += 1 }
        return received
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: the names with at least one subscriber, matching
    /// `pattern` if one is given.
    func names(_ kind: Kind, matching pattern: Glob?) -> [[UInt8]] {
        registry.withLock { r in
            let names: [[UInt8]]
            switch kind {
            case .channel: names = Array(r.channels.keys)
            case .shard: names = Array(r.shardChannels.keys)
            case .pattern: names = Array(r.patterns.keys)
            }
            return pattern.map { p in names.filter { p.matches($0) } } ?? names
        }
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel.
    func subscribers(_ kind: Kind, _ name: [UInt8]) -> Int {
        registry.withLock { r in
            switch kind {
            case .channel: r.channels[name]?.count ?? 0
            case .shard: r.shardChannels[name]?.count ?? 0
            case .pattern: r.patterns[name]?.subscribers.count ?? 0
            }
        }
    }

    /// Channels, patterns and shard channels with at least one subscriber (PUBSUB NUMPAT,
    /// INFO stats).
    var counts: (channels: Int, patterns: Int, shardChannels: Int) {
        registry.withLock { ($0.channels.count, $0.patterns.count, $0.shardChannels.count) }
    }
}
