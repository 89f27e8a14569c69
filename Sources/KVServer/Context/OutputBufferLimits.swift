import Synchronization

/// `client-output-buffer-limit`: how many bytes may wait for a client that does not read. The
/// `pubsub` class bounds a subscriber's messages (`Mailbox`), the `replica` class a replica's
/// stream (`ReplicaFeed`); the `normal` class is kept to be reported and rewritten (every
/// other reply waits in TCP: a connection stops reading requests while its socket is not
/// writable). Redis's defaults: pubsub 32 MB hard, 8 MB soft for 60 s; replica 256 MB hard,
/// 64 MB soft for 60 s.
final class OutputBufferLimits: Sendable {
    struct Values: Sendable, Equatable {
        /// Bytes past which the client is closed at once; 0: no limit.
        var hard: Int
        /// Bytes the client may stay over for `softSeconds`; 0: no limit.
        var soft: Int
        var softSeconds: Int

        /// Whether `waiting` bytes are over the hard limit, or have been over the soft limit
        /// for longer than its seconds; tracks in `overSoftSince` (ms) when they went over it.
        func exceeded(waiting: Int, now: UInt64, overSoftSince: inout UInt64?) -> Bool {
            if hard > 0 && waiting > hard { return true }
            guard soft > 0 && waiting > soft else {
                overSoftSince = nil
                return false
            }
            guard let since = overSoftSince else {
                overSoftSince = now
                return softSeconds == 0
            }
            return now &- since >= UInt64(softSeconds) * 1000
        }
    }

    private struct Classes {
        var normal = Values(hard: 0, soft: 0, softSeconds: 0)
        var replica = Values(hard: 256 << 20, soft: 64 << 20, softSeconds: 60)
        var pubsub = Values(hard: 32 << 20, soft: 8 << 20, softSeconds: 60)
    }

    private let classes = Mutex(Classes())

    /// The pubsub class's limits, read on every message queued.
    var pubsub: Values { classes.withLock { $0.pubsub } }
    /// The replica class's limits, read on every frame queued for a replica.
    var replica: Values { classes.withLock { $0.replica } }

    /// CONFIG GET's value: every class, sizes in bytes, in Redis's order.
    var text: String {
        classes.withLock { c in
            [("normal", c.normal), ("replica", c.replica), ("pubsub", c.pubsub)]
                .map { "\($0.0) \($0.1.hard) \($0.1.soft) \($0.1.softSeconds)" }.joined(separator: " ")
        }
    }

    /// Parses CONFIG SET's value — groups of `class hard soft seconds`, sizes with an optional
    /// k/kb/m/mb/g/gb unit — and returns the change to apply, or nil when it is malformed.
    func parse(_ text: String) -> (@Sendable () -> Void)? {
        let words = text.split(separator: " ").map(String.init)
        guard !words.isEmpty, words.count % 4 == 0 else { return nil }
        var changes: [(String, Values)] = []
        for i in stride(from: 0, to: words.count, by: 4) {
            let name = words[i].lowercased()
            guard ["normal", "replica", "slave", "pubsub"].contains(name),
                  let hard = Self.size(words[i + 1]), let soft = Self.size(words[i + 2]),
                  let seconds = Int(words[i + 3]), seconds >= 0
            else { return nil }
            changes.append((name, Values(hard: hard, soft: soft, softSeconds: seconds)))
        }
        let apply = changes
        return { [self] in
            self.classes.withLock { c in
                for (name, v) in apply {
                    switch name {
                    case "normal": c.normal = v
                    case "pubsub": c.pubsub = v
                    default: c.replica = v
                    }
                }
            }
        }
    }

    /// A size in bytes (k/kb/m/mb/g/gb as in Redis's config), never negative.
    private static func size(_ word: String) -> Int? {
        ConfigFile.parseSize(word).flatMap { $0 >= 0 ? $0 : nil }
    }
}
