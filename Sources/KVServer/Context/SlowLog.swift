import KVStore
import Synchronization

/// SLOWLOG: the most recent commands that ran longer than `slowlog-log-slower-than`
/// microseconds (negative: none logged; 0: every command), at most `slowlog-max-len` of them,
/// newest first, in Redis's entry shape.
///
/// The time is the command's own execution, as Redis measures it; a coalesced SET or MSET,
/// which runs as part of its loop's shared batch, is not logged on its own (its share of the
/// batch's time is in the command latency metrics). AUTH and HELLO are never logged: their
/// arguments carry passwords.
final class SlowLog: Sendable {
    struct Entry: Sendable {
        let id: Int
        let unixSeconds: Int
        let micros: Int
        let arguments: [[UInt8]]
        let client: String
        let clientName: String
    }

    /// Redis's defaults.
    static let defaultThresholdMicros = 10_000
    static let defaultMaxLength = 128
    /// Redis keeps at most this many arguments of an entry and this many bytes of each.
    static let maxArguments = 32
    static let maxArgumentBytes = 128

    private let threshold: Atomic<Int>
    private let limit: Atomic<Int>
    /// Newest last; trimmed to `limit`.
    private let entries = Mutex<(next: Int, list: [Entry])>((0, []))

    init(thresholdMicros: Int, maxLength: Int) {
        threshold = Atomic(thresholdMicros)
        limit = Atomic(maxLength)
    }

    var thresholdMicros: Int {
        get { threshold.load(ordering: .relaxed) }
        set { threshold.store(newValue, ordering: .relaxed) }
    }

    var maxLength: Int {
        get { limit.load(ordering: .relaxed) }
        set {
            limit.store(newValue, ordering: .relaxed)
            entries.locked { e in if e.list.count > max(0, newValue) { e.list.removeFirst(e.list.count - max(0, newValue)) } }
        }
    }

    /// Whether a command that took `nanoseconds` belongs in the log (cheap: the caller asks
    /// before building anything).
    func isSlow(nanoseconds: Int) -> Bool {
        let t = threshold.load(ordering: .relaxed)
        return t >= 0 && nanoseconds / 1000 >= t
    }

    func record(_ args: [[UInt8]], nanoseconds: Int, unixMillis: UInt64, client: ClientRecord) {
        guard let first = args.first, !Arg.isKeyword(first, "AUTH"), !Arg.isKeyword(first, "HELLO") else { return }
        var kept = args.prefix(args.count > Self.maxArguments ? Self.maxArguments - 1 : Self.maxArguments).map { a in
            a.count > Self.maxArgumentBytes
                ? Array(a.prefix(Self.maxArgumentBytes)) + Array("... (\(a.count - Self.maxArgumentBytes) more bytes)".utf8)
                : a
        }
        if args.count > Self.maxArguments {
            kept.append(Array("... (\(args.count - Self.maxArguments + 1) more arguments)".utf8))
        }
        let name = client.state.locked { $0.name }
        let cap = limit.load(ordering: .relaxed)
        guard cap > 0 else { return }
        entries.locked { e in
            e.list.append(Entry(
                id: e.next, unixSeconds: Int(unixMillis / 1000), micros: nanoseconds / 1000, arguments: kept,
                client: client.address, clientName: name))
            e.next += 1
            if e.list.count > cap { e.list.removeFirst(e.list.count - cap) }
        }
    }

    /// The newest `count` entries (all, when nil), newest first.
    func newest(_ count: Int?) -> [Entry] {
        entries.locked { e in Array(e.list.suffix(count.map { max(0, $0) } ?? e.list.count).reversed()) }
    }

    var count: Int { entries.locked { $0.list.count } }

    func reset() {
        entries.locked { $0.list.removeAll() }
    }
}
