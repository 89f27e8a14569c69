import KVStore
import Synchronization

/// INFO commandstats: per command, how often it ran, how long it took, and how often it
/// was refused before running (wrong arity, not authenticated, not allowed in MULTI) or
/// failed while running (an error reply).
///
/// Connections count into a `CommandTally` of their own and add it here once per batch of
/// commands, so the shared lock is taken once per read, not once per command.
final class CommandStats: Sendable {
    struct Counts: Sendable {
        var calls = 0
        var nanoseconds = 0
        var rejected = 0
        var failed = 0
    }

    /// By command id (`Command.id`), grown as ids arrive: the statistics need not know the
    /// command table.
    private let counts = Mutex<[Counts]>([])

    func add(_ tally: inout CommandTally) {
        guard !tally.touched.isEmpty else { return }
        counts.locked { all in
            for i in tally.touched {
                if i >= all.count { all.append(contentsOf: repeatElement(Counts(), count: i - all.count + 1)) }
                let t = tally.counts[i]
                all[i].calls += t.calls
                all[i].nanoseconds += t.nanoseconds
                all[i].rejected += t.rejected
                all[i].failed += t.failed
                tally.counts[i] = Counts()
            }
        }
        tally.touched.removeAll(keepingCapacity: true)
    }

    var snapshot: [Counts] { counts.locked { $0 } }

    func reset() {
        counts.locked { all in
            for i in all.indices { all[i] = Counts() }
        }
    }
}

/// One connection's counts since it last published them.
struct CommandTally {
    var counts: [CommandStats.Counts]
    var touched: [Int] = []

    init(commands: Int) {
        counts = [CommandStats.Counts](repeating: CommandStats.Counts(), count: commands)
    }

    private mutating func touch(_ id: Int) -> Bool {
        guard id >= 0 && id < counts.count else { return false }
        if counts[id].calls == 0 && counts[id].rejected == 0 { touched.append(id) }
        return true
    }

    mutating func ran(_ id: Int, nanoseconds: Int, failed: Bool) {
        guard touch(id) else { return }
        counts[id].calls += 1
        counts[id].nanoseconds += nanoseconds
        if failed { counts[id].failed += 1 }
    }

    mutating func rejected(_ id: Int) {
        guard touch(id) else { return }
        counts[id].rejected += 1
    }
}
