/// What one connection is subscribed to (the session's side of `PubSubHub`'s maps): the
/// replies' counts come from here, and leaving (UNSUBSCRIBE without names, RESET, closing)
/// walks it.
struct Subscriptions: Sendable {
    var channels: Set<[UInt8]> = []
    var patterns: Set<[UInt8]> = []
    var shardChannels: Set<[UInt8]> = []

    /// What SUBSCRIBE/PSUBSCRIBE replies count (Redis counts channels and patterns together).
    var count: Int { channels.count + patterns.count }

    /// While non-zero, a RESP2 connection may run only the subscription commands, PING, QUIT
    /// and RESET.
    var total: Int { channels.count + patterns.count + shardChannels.count }

    var isEmpty: Bool { total == 0 }

    subscript(kind: PubSubHub.Kind) -> Set<[UInt8]> {
        get {
            switch kind {
            case .channel: channels
            case .pattern: patterns
            case .shard: shardChannels
            }
        }
        set {
            switch kind {
            case .channel: channels = newValue
            case .pattern: patterns = newValue
            case .shard: shardChannels = newValue
            }
        }
    }

    /// The count a (un)subscribe reply of `kind` reports: shard channels are counted apart.
    func replyCount(_ kind: PubSubHub.Kind) -> Int {
        kind == .shard ? shardChannels.count : count
    }
}
