import Synchronization

/// SCAN cursors. Redis's cursor is a number, and client libraries parse it as one (redis-py
/// as an int, go-redis as a uint64), but ours resumes by key, which a number cannot hold:
/// the server keeps the key under a fresh number. The table keeps the newest 65,536
/// cursors; an older or unknown one is an error, not a silent restart.
final class ScanCursors: Sendable {
    private struct Table {
        var next: UInt64
        var keys: [UInt64: [UInt8]] = [:]
        var order: [UInt64] = []
        var head = 0
    }

    static let capacity = 65_536
    private let table: Mutex<Table>

    init() {
        // Random start: a cursor from before a restart is unknown rather than another scan's.
        table = Mutex(Table(next: UInt64.random(in: 1..<(1 << 40))))
    }

    func save(_ key: [UInt8]) -> UInt64 {
        table.locked { t in
            let id = t.next
            t.next += 1
            t.keys[id] = key
            t.order.append(id)
            if t.order.count - t.head > Self.capacity {
                t.keys.removeValue(forKey: t.order[t.head])
                t.head += 1
                if t.head > Self.capacity {
                    t.order.removeFirst(t.head)
                    t.head = 0
                }
            }
            return id
        }
    }

    func resumeKey(_ id: UInt64) -> [UInt8]? {
        table.locked { $0.keys[id] }
    }
}
