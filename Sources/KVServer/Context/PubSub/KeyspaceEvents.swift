import KVCollections
import Synchronization

/// One keyspace event: its class (for `notify-keyspace-events`' filter), its name ("set",
/// "lpush", "expired"…) and its key.
struct KeyspaceEvent: Sendable, Equatable {
    let kind: KeyspaceEvents.Classes
    let name: String
    let key: [UInt8]
}

/// What one command's writes owe the subscribers, worked out before its unit of work commits
/// and published after: its events, and the deadline (nil: none, or gone) each key it wrote
/// now has, for `ExpiryWatch`.
struct RecordedEvents: Sendable {
    var events: [KeyspaceEvent] = []
    var deadlines: [([UInt8], UInt64?)] = []

    mutating func append(_ other: RecordedEvents) {
        events += other.events
        deadlines += other.deadlines
    }
}

/// Redis's keyspace notifications: with `notify-keyspace-events` set, a write publishes its
/// event on `__keyspace@0__:<key>` (message: the event) and `__keyevent@0__:<event>` (message:
/// the key). Off by default, like Redis; while off, a write pays one atomic load and plain
/// pipelined SETs keep their batched path.
///
/// Events are derived from what a command's unit of work modified (`KeyspaceTransaction`'s
/// keys, which are noted only when a key's main entry was written or deleted: an SREM of
/// absent members publishes nothing), named by `KeyspaceEventNames`; a key the command left
/// absent adds "del" (a collection emptied by a pop), one it created adds "new". They are
/// published after the commit, so a subscriber never hears of a write that did not land; inside
/// EXEC they wait for EXEC's commit. "expired" comes from `ExpiryWatch`, when a deadline passes.
final class KeyspaceEvents: Sendable {
    /// The classes of `notify-keyspace-events`, with Redis's letters.
    struct Classes: OptionSet, Sendable, Hashable {
        let rawValue: Int
        static let generic = Classes(rawValue: 1 << 0)  // g
        static let string = Classes(rawValue: 1 << 1)  // $
        static let list = Classes(rawValue: 1 << 2)  // l
        static let set = Classes(rawValue: 1 << 3)  // s
        static let hash = Classes(rawValue: 1 << 4)  // h
        static let zset = Classes(rawValue: 1 << 5)  // z
        static let expired = Classes(rawValue: 1 << 6)  // x
        static let evicted = Classes(rawValue: 1 << 7)  // e
        static let stream = Classes(rawValue: 1 << 8)  // t
        static let module = Classes(rawValue: 1 << 9)  // d
        static let new = Classes(rawValue: 1 << 10)  // n
        static let keyMiss = Classes(rawValue: 1 << 11)  // m
        static let keyspace = Classes(rawValue: 1 << 12)  // K
        static let keyevent = Classes(rawValue: 1 << 13)  // E
        /// `A`: every class but key misses and new keys, as in Redis.
        static let all: Classes = [.generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream, .module]

        /// Redis's letters, in the order CONFIG GET spells them.
        static let letters: [(Character, Classes)] = [
            ("g", .generic), ("$", .string), ("l", .list), ("s", .set), ("h", .hash), ("z", .zset), ("x", .expired),
            ("e", .evicted), ("t", .stream), ("d", .module), ("n", .new), ("K", .keyspace), ("E", .keyevent), ("m", .keyMiss),
        ]
    }

    private let flags = Atomic<Int>(0)
    private let hub: PubSubHub
    let expiries = ExpiryWatch()

    init(hub: PubSubHub) {
        self.hub = hub
    }

    private var classes: Classes { Classes(rawValue: flags.load(ordering: .relaxed)) }

    /// True when nothing is published: no channel kind (K, E) or no class of event.
    var off: Bool { !wants(Classes.all.union(.new)) }

    /// Whether events of any of `kinds` are published.
    func wants(_ kinds: Classes) -> Bool {
        let c = classes
        return !c.isDisjoint(with: [.keyspace, .keyevent]) && !c.isDisjoint(with: kinds)
    }

    // MARK: Recording

    /// The events of `command`'s writes to `keys` (what its unit of work modified, in order),
    /// judged before the unit commits: `after` reads a key's main entry through the unit.
    /// `existed` holds the keys the command found present before it ran (nil when "new"
    /// events are not wanted).
    func record(
        _ command: EventSource, keys: [[UInt8]], existed: Set<[UInt8]>?, after: ([UInt8]) -> MainEntry?
    ) -> RecordedEvents {
        var recorded = RecordedEvents()
        let watchExpiry = wants(.expired)
        // In the order the command names its keys (RENAME's source before its destination),
        // then the rest in the order modified.
        // Positions found once: an MSET of many keys must not cost a search per comparison.
        var firstPosition: [[UInt8]: Int] = [:]
        for (i, a) in command.args.enumerated().dropFirst() where firstPosition[a] == nil { firstPosition[a] = i }
        let ordered = keys.enumerated()
            .map { (position: firstPosition[$0.element] ?? Int.max, offset: $0.offset, key: $0.element) }
            .sorted { ($0.position, $0.offset) < ($1.position, $1.offset) }
            .map(\.key)
        for key in ordered {
            let now = after(key)
            let gone = now.map { $0.type == nil } ?? false
            if let existed, !existed.contains(key), !gone, wants(.new) {
                recorded.events.append(KeyspaceEvent(kind: .new, name: "new", key: key))
            }
            for (kind, name) in KeyspaceEventNames.events(command.name, command.args, key: key, gone: gone) where wants(kind) {
                recorded.events.append(KeyspaceEvent(kind: kind, name: name, key: key))
            }
            if watchExpiry, let now { recorded.deadlines.append((key, now.type == nil ? nil : now.expiresAt)) }
        }
        return recorded
    }

    /// Publishes recorded events (after their commit) and hands the keys' deadlines to the
    /// expiry watch.
    func publish(_ recorded: RecordedEvents) {
        for e in recorded.events { publish(e) }
        for (key, deadline) in recorded.deadlines {
            if let deadline { expiries.arm(key, at: deadline) } else { expiries.cancel(key) }
        }
    }

    func publish(_ event: KeyspaceEvent) {
        let c = classes
        if c.contains(.keyspace) {
            _ = hub.publish(Array("__keyspace@0__:".utf8) + event.key, Array(event.name.utf8))
        }
        if c.contains(.keyevent) {
            _ = hub.publish(Array("__keyevent@0__:\(event.name)".utf8), event.key)
        }
    }

    /// Publishes "expired" for each watched key whose deadline has passed and that is gone;
    /// `lookup` reads a key's main entry (nil: could not be read; it is watched again).
    /// Returns how many expired.
    func expireDue(now: UInt64, lookup: ([UInt8]) -> MainEntry?) -> Int {
        guard wants(.expired) else {
            expiries.clear()
            return 0
        }
        var expired = 0
        for key in expiries.due(now: now) {
            guard let entry = lookup(key) else {
                expiries.arm(key, at: now + 100)
                continue
            }
            if entry.type == nil {
                publish(KeyspaceEvent(kind: .expired, name: "expired", key: key))
                expired += 1
            } else if let later = entry.expiresAt {
                expiries.arm(key, at: later)  // given a new deadline since it was watched
            }
        }
        return expired
    }

    // MARK: Setting

    /// CONFIG GET's value, in Redis's canonical form (`A` for all classes, then K, E, m).
    var text: String {
        let c = classes
        var s = ""
        if c.isSuperset(of: .all) {
            s = "A"
            if c.contains(.new) { s.append("n") }
        } else {
            for (letter, k) in Classes.letters where ![Classes.keyspace, .keyevent, .keyMiss].contains(k) && c.contains(k) {
                s.append(letter)
            }
        }
        if c.contains(.keyspace) { s.append("K") }
        if c.contains(.keyevent) { s.append("E") }
        if c.contains(.keyMiss) { s.append("m") }
        return s
    }

    /// Parses CONFIG SET's value; nil for a letter that is not a class.
    static func parse(_ text: String) -> Classes? {
        var c: Classes = []
        for ch in text {
            if ch == "A" {
                c.formUnion(.all)
            } else if let k = Classes.letters.first(where: { $0.0 == ch })?.1 {
                c.formUnion(k)
            } else {
                return nil
            }
        }
        return c
    }

    func set(_ c: Classes) {
        flags.store(c.rawValue, ordering: .relaxed)
        if !wants(.expired) { expiries.clear() }
    }
}

/// The command whose writes are being recorded: set on the session only while events are on.
struct EventSource: Sendable {
    let name: String
    let args: [[UInt8]]
}
